"""What each party of an open item must do about it now, one row an entry, with the key
queues and inboxes read them in: pure functions of the item's board row and its case's
state (``ledger.projections.board`` keeps the rows in step as either changes).

An entry's key is the inbox's order (``inbox_queries._oldest_first``) made total: entries
with a moment first, oldest first, then the rest; ties by case, then an item's main action
before the awaiting ones (``phase``), then by item, then its main action before its question
(``step``). Stored with each entry, a queue's page is one range of an index on
(party, key), whatever the queue's size.
"""

from __future__ import annotations

from typing import Any, NamedTuple

ACCEPTED = ("approved", "handing_over")  # a case whose givers hand over now
QUEUE_PREFIX = "dept:"  # department queues also list what waits for a giver (phase 1)


class ItemInputs(NamedTuple):
    """The item's board columns its entries depend on (``signers``: its declared signer
    slots, space-separated, as stored)."""

    item_id: str
    departure_id: str
    open: int
    state: str
    giver_id: str
    receiver: str
    signers: str
    pending_signers: str
    questions_to: str
    urgent: int
    due_date: str | None
    rejected_at: str | None
    submitted_at: str | None


ITEM_INPUTS = ItemInputs._fields  # the board's item columns of the same names


class CaseGate(NamedTuple):
    """What an item's entries depend on of its case: whether it is open, and accepted (its
    givers hand over now; before, only an urgent item asks its giver to submit)."""

    open: bool
    accepted: bool


CLOSED = CaseGate(open=False, accepted=False)  # also: a case the board does not have


def case_gate(state: str, open_case: int | bool) -> CaseGate:
    """The gate of a case in ``state`` (its board row's ``state`` and ``open``)."""
    return CaseGate(bool(open_case), state in ACCEPTED)


class EntryRow(NamedTuple):
    """One entry of a party's inbox or queue, as stored; the key's columns are ``undated``
    (1 when there is no moment) ``since``, ``departure_id``, ``phase``, ``item_id``,
    ``step``."""

    party: str
    phase: int
    item_id: str
    step: int
    action: str
    undated: int
    since: str
    departure_id: str


ENTRY_COLUMNS = EntryRow._fields
ENTRY_KEY = ("undated", "since", "departure_id", "phase", "item_id", "step")


def item_inputs(row: dict[str, Any]) -> ItemInputs:
    """The inputs of an item's board row (``item_columns``' or as read back)."""
    return ItemInputs(*(row[c] for c in ITEM_INPUTS))


def _main(item: ItemInputs, party: str, case: CaseGate) -> tuple[str, str | None] | None:
    """The party's own action on the item, with its moment, if it has one."""
    if item.giver_id == party and item.state == "open" and (case.accepted or item.urgent):
        return "submit", item.due_date
    if item.giver_id == party and item.state == "rejected":
        return "resubmit", item.rejected_at
    if item.state == "submitted" and party in item.pending_signers.split():
        return "confirm", item.submitted_at
    return None


def item_entries(item: ItemInputs, case: CaseGate) -> frozenset[EntryRow]:
    """Every entry the item gives, for each of its parties (its giver, declared signers,
    receiver and the addressees of its open questions): its giver's submit or resubmit, a
    pending signer's confirm, an addressee's question; a department queue that has none of
    these on it is shown it as awaiting its giver. None for a closed item, or one of a case
    that is not open."""
    if not (item.open and case.open):
        return frozenset()
    asked = set(item.questions_to.split())
    parties = {item.giver_id, item.receiver, *item.signers.split(), *asked} - {""}
    found = set()
    for party in parties:
        main = _main(item, party, case)
        if main is not None:
            since = main[1] or ""
            found.add(EntryRow(party, 0, item.item_id, 0, main[0], int(since == ""), since,
                               item.departure_id))
        if party in asked:
            found.add(EntryRow(party, 0, item.item_id, 1, "answer_question", 1, "",
                               item.departure_id))
        if main is None and party not in asked and party.startswith(QUEUE_PREFIX):
            since = item.due_date or ""
            found.add(EntryRow(party, 1, item.item_id, 0, "awaiting_giver", int(since == ""),
                               since, item.departure_id))
    return frozenset(found)
