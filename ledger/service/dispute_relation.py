"""Who takes part in a dispute, and so may read it: its parties (the leaver, the receivers of
the items it concerns, whoever gave or submitted them, the leaver's manager, HR), and legal and
auditors, who read only. To anyone else a dispute is absent, exactly as one that does not
exist. An item received by (or given through) a department queue makes a party only of the
members who signed it off or submitted it, not of everyone working the queue. The leaver keeps
their access after close and after leaving, through their own credentials (seed 000: the
accused sales manager had left a month before the claim)."""

from __future__ import annotations

from collections.abc import Sequence

from ledger.aggregates.departure import Departure
from ledger.aggregates.dispute import Dispute
from ledger.aggregates.item import HandoverItem
from ledger.errors import ForbiddenError
from ledger.service.context import Actor
from ledger.service.relation import absent

STATING_PARTIES = ("leaver", "receiver", "giver", "manager", "hr")
READERS = ("legal", "auditor")  # read a dispute, never state in it


def takes_part(principal_id: str, item: HandoverItem) -> bool:
    """Whether ``principal_id`` gives, receives (in person or as a declared signer), submitted
    or signed off ``item``: someone a dispute about it accuses or relies on."""
    return principal_id in (item.giver_id, item.receiver, item.submitted_by) or (
        principal_id in item.signers or principal_id in item.signed_off_by())


def receives(actor: Actor, item: HandoverItem) -> bool:
    """Whether ``actor`` receives ``item`` in person (as its receiver or a declared signer) or
    signed it off: a department queue's other members do not count."""
    return actor.id == item.receiver or actor.id in item.signers or (
        actor.id in item.signed_off_by())


def dispute_party(actor: Actor, dispute: Dispute, departure: Departure,
                  items: Sequence[HandoverItem]) -> str | None:
    """The part ``actor`` plays in ``dispute`` (``items``: the items it concerns), or None."""
    if actor.id == departure.leaver_id:
        return "leaver"
    if actor.role == "hr":
        return "hr"
    if actor.role in READERS:
        return actor.role
    if actor.id == departure.manager_id:
        return "manager"
    if any(receives(actor, item) for item in items) or actor.id == dispute.raised_by:
        return "receiver"
    if any(actor.id in (item.giver_id, item.submitted_by) for item in items):
        return "giver"
    return None


def require_party(actor: Actor, dispute: Dispute, departure: Departure,
                  items: Sequence[HandoverItem]) -> str:
    """The party ``actor`` plays; a stranger is refused as if the dispute were absent."""
    party = dispute_party(actor, dispute, departure, items)
    if party is None:
        raise absent(dispute.id)
    return party


def require_stating_party(actor: Actor, dispute: Dispute, departure: Departure,
                          items: Sequence[HandoverItem]) -> str:
    """Parties state their side (and upload evidence for it); legal and auditors only read."""
    party = require_party(actor, dispute, departure, items)
    if party not in STATING_PARTIES:
        raise ForbiddenError(f"{party} reads dispute {dispute.id} but does not state in it")
    return party
