"""The naive reference for inboxes' item entries and department queues: how they were read
before the board kept its entries (``ledger.projections.board_entries``), from the items'
and cases' own columns, every open item of the reader sorted in full. Used only to
cross-check the stored entries and the reads over them."""

from __future__ import annotations

from typing import Any

from ledger.projections import inbox_queries as iq
from ledger.projections.board import tables
from ledger.projections.board_entries import ACCEPTED
from ledger.projections.board_queries import board_position
from ledger.service.context import Actor
from ledger.store.projection_port import ProjectionStore


def _entry(action: str, row: dict[str, Any], since: str | None, **more: Any) -> dict[str, Any]:
    return {"action": action, "departure_id": row["departure_id"],
            "leaver": row.get("leaver_name"), "since": since or "", **more}


def item_actions(row: dict[str, Any], ids: set[str]) -> list[dict[str, Any]]:
    """What ``ids`` must do about the item of ``row`` (with its case's ``case_state``)."""
    found = []
    item = {"item_id": row["item_id"], "title": row["title"], "label": row["label"],
            "due_date": row["due_date"]}
    if row["giver_id"] in ids and row["state"] == "open" and (
            row["case_state"] in ACCEPTED or row["urgent"]):
        found.append(_entry("submit", row, row["due_date"], **item))
    if row["giver_id"] in ids and row["state"] == "rejected":
        found.append(_entry("resubmit", row, row["rejected_at"], **item))
    if row["state"] == "submitted" and ids & set(row["pending_signers"].split()):
        found.append(_entry("confirm", row, row["submitted_at"], **item))
    if ids & set(row["questions_to"].split()):
        found.append(_entry("answer_question", row, None, **item))
    return found


def _order(entry: dict[str, Any]) -> tuple[bool, str, str, int, str, bool]:
    """The inbox's order (oldest first, undated last, by case), ties by item: its main
    action, then its question."""
    return (entry["since"] == "", entry["since"], entry["departure_id"],
            entry["action"] == "awaiting_giver", entry["item_id"],
            entry["action"] == "answer_question")


_COLUMNS = ("SELECT i.item_id, i.departure_id, i.title, i.state, i.giver_id, i.receiver, "
            "i.due_date, i.rejected_at, i.submitted_at, i.pending_signers, i.questions_to, "
            "i.urgent, i.label, d.state AS case_state, d.leaver_name ")


async def inbox_items(store: ProjectionStore, ids: set[str]) -> list[dict[str, Any]]:
    """An inbox's entries on items: every open item ``ids`` take part in (``parties``), its
    actions made in Python, in the inbox's order."""
    t = tables((await board_position(store)).generation)
    marks = ", ".join(f"${n}" for n in range(1, len(ids) + 1))
    rows = await store.fetch(
        f"{_COLUMNS}FROM {t['items']} i JOIN {t['departures']} d ON d.departure_id = "
        f"i.departure_id WHERE i.open = 1 AND d.open = 1 AND i.item_id IN (SELECT item_id "
        f"FROM {t['parties']} WHERE party IN ({marks}))", *sorted(ids))
    return sorted((a for row in rows for a in item_actions(row, ids)), key=_order)


async def whole_queue(store: ProjectionStore, queue: str) -> list[dict[str, Any]]:
    """The queue as the former code read it: every open item it gives, receives, signs or
    is asked about, its entries made and sorted in Python (ties, which it left to the
    database's row order, by item)."""
    t = tables((await board_position(store)).generation)
    rows = await store.fetch(
        f"{_COLUMNS}FROM {t['items']} i JOIN {t['departures']} d ON d.departure_id = "
        "i.departure_id WHERE i.open = 1 AND d.open = 1 AND i.item_id IN (SELECT item_id "
        f"FROM {t['parties']} WHERE party = $1 UNION SELECT item_id FROM {t['items']} "
        "WHERE receiver = $1) ORDER BY i.item_id", queue)
    entries = [a for row in rows for a in item_actions(row, {queue})]
    waiting = {a["item_id"] for a in entries}
    entries += [_entry("awaiting_giver", row, row["due_date"], item_id=row["item_id"],
                       title=row["title"], label=row["label"], due_date=row["due_date"],
                       state=row["state"])
                for row in rows if row["item_id"] not in waiting]
    return sorted(entries, key=_order)


async def entries_match_reference(store: ProjectionStore, parties: tuple[str, ...]) -> None:
    """Assert that each party's inbox entries on items, and each department queue among
    ``parties`` read whole, are the reference's: the same entries in the same order."""
    t = tables((await board_position(store)).generation)
    for party in parties:
        got = await iq._item_actions(store, t, [party])
        assert got == await inbox_items(store, {party}), party
        if party.startswith("dept:"):
            queue = await iq.department_queue(store, Actor("hr.ref", "hr"),
                                              party.removeprefix("dept:"))
            expected = await whole_queue(store, party)
            assert (queue["items"], queue["total"]) == (expected, len(expected)), party
