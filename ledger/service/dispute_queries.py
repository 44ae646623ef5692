"""Reading disputes and a case's handover confirmation, authorized like the commands."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from ledger.aggregates.departure import Departure
from ledger.aggregates.dispute import Dispute
from ledger.aggregates.item import HandoverItem
from ledger.canonical import JSONObject
from ledger.errors import NotFoundError
from ledger.service.confirmation_cases import hide_confirmation
from ledger.service.context import Actor
from ledger.service.dispute_relation import require_party, require_stating_party
from ledger.service.handover_statement import confirmation_due
from ledger.service.ledger import Ledger


async def _context(ledger: Ledger, dispute: Dispute) -> tuple[Departure, list[HandoverItem]]:
    departure = await ledger.load(Departure, dispute.departure_id)
    return departure, [await ledger.load(HandoverItem, i) for i in dispute.item_ids]


async def authorize_dispute(ledger: Ledger, actor: Actor, dispute: Dispute) -> None:
    """Refuse, as if absent, a reader who is no party to ``dispute`` (nor legal)."""
    require_party(actor, dispute, *await _context(ledger, dispute))


async def get_dispute(ledger: Ledger, actor: Actor, dispute_id: UUID) -> Dispute:
    """A dispute its reader takes part in."""
    dispute = await ledger.load(Dispute, dispute_id)
    await authorize_dispute(ledger, actor, dispute)
    return dispute


async def uploaded_dispute_evidence(ledger: Ledger, actor: Actor, dispute_id: UUID,
                                    sha256: str) -> JSONObject:
    """The upload record of a file uploaded to the dispute, if its reader takes part in it;
    "not yours", "no such dispute" and "no such file" are one and the same NotFoundError."""
    hidden = NotFoundError(f"dispute {dispute_id} has no evidence {sha256} you may read")
    try:
        dispute = await get_dispute(ledger, actor, dispute_id)
    except NotFoundError:
        raise hidden from None
    upload = dispute.uploads.get(sha256)
    if upload is None:
        raise hidden
    return upload


async def authorize_dispute_upload(ledger: Ledger, actor: Actor, dispute_id: UUID) -> None:
    """Ask the upload's rule before the file is streamed (asked again when recording)."""
    dispute = await ledger.load(Dispute, dispute_id)
    require_stating_party(actor, dispute, *await _context(ledger, dispute))
    dispute.require_open()


@dataclass(frozen=True)
class ConfirmationView:
    """The handover confirmation as it stands, and who has and has not signed it."""

    departure_id: str
    statement: str
    sha256: str
    signatories: dict[str, tuple[str, ...]]
    unsigned: list[str]
    excused: dict[str, JSONObject]  # unsigned signatories HR excused, with the reason and by whom


async def handover_confirmation(ledger: Ledger, actor: Actor,
                                departure_id: UUID) -> ConfirmationView:
    """The statement to sign (to those who may read the case, and to its signatories)."""
    try:
        departure = await ledger.load(Departure, departure_id)
    except NotFoundError:
        raise NotFoundError(f"{departure_id} not found") from None
    items = [await ledger.load(HandoverItem, i) for i in departure.item_ids]
    statement, due = confirmation_due(departure, items)
    hide_confirmation(actor, departure, due)
    return ConfirmationView(str(departure.id), statement, due.sha256, due.signatories,
                            departure.unsigned(due), departure.excused(due))
