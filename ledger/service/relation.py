"""Who is related to a case: the read relations, reused so that writes are as strict as reads.

Overseers (HR, legal, auditors) read everything; others read what they take part in: the
leaver, their manager and HR owner, the approvers, and each item's giver and receiver. A write
aimed at something its actor may not read is refused exactly as if the target were absent, so
the answer tells a stranger nothing (not even that it exists).
"""

from __future__ import annotations

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from ledger.errors import NotFoundError
from ledger.service.context import Actor

OVERSEERS = ("hr", "legal", "auditor")
REQUEST_STATES = ("requested", "declined")


def unaccepted_request(departure: Departure) -> bool:
    """A leaver's request HR never accepted: requested, declined, or withdrawn by its leaver
    (an accepted or HR-started case always has an HR owner)."""
    return departure.state in REQUEST_STATES or (
        departure.request is not None and not departure.hr_owner_id)


def may_read_departure(actor: Actor, departure: Departure) -> bool:
    """Whether ``actor`` takes part in (or oversees) ``departure``; a leaver's request, until
    HR accepts it (and for ever if HR never does), is read only by its leaver and HR."""
    if unaccepted_request(departure):
        return actor.role == "hr" or actor.id == departure.leaver_id
    approvers = {str(step["approver_id"]) for step in departure.approval_chain}
    related = {departure.leaver_id, departure.manager_id, departure.hr_owner_id} | approvers
    return actor.role in OVERSEERS or actor.id in related


def may_read_item_alone(actor: Actor, item: HandoverItem) -> bool:
    """Whether ``actor`` may read ``item`` on the item's own relations (no departure needed)."""
    return actor.role in OVERSEERS or actor.id == item.giver_id or (
        item.receiver in actor.acting_for()) or is_party(actor, item)


def is_party(actor: Actor, item: HandoverItem) -> bool:
    """Whether ``actor`` gives the item through a department queue or is one of
    its declared signers (they read, sign and comment on it as its receiver does)."""
    acting_for = actor.acting_for()
    return item.giver_id in acting_for or any(s in acting_for for s in item.signers)


def may_read_item(actor: Actor, item: HandoverItem, departure: Departure) -> bool:
    """Whether ``actor`` may read ``item`` of ``departure``."""
    return may_read_item_alone(actor, item) or may_read_departure(actor, departure)


def absent(target_id: object) -> NotFoundError:
    """The error for a target that does not exist: the same words as a failed load."""
    return NotFoundError(f"{target_id} not found")


def hide_departure(actor: Actor, departure: Departure) -> None:
    """Refuse, as if absent, a write to a departure its actor may not read."""
    if not may_read_departure(actor, departure):
        raise absent(departure.id)


def hide_item(actor: Actor, item: HandoverItem, departure: Departure) -> None:
    """Refuse, as if absent, a write to an item its actor may not read."""
    if not may_read_item(actor, item, departure):
        raise absent(item.id)
