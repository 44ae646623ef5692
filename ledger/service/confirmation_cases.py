"""Signing the handover confirmation (交接确认书), and what a close needs of it.

Each signature is an event on the departure naming the statement's SHA-256; one made over a
statement that has since changed no longer counts (``Departure.unsigned``). The items are read
dependencies of a signature (as of a close): an item that changes before the signature commits
makes it be decided again, on the new statement, so a signature never names a digest the case
did not have when it was recorded.
"""

from __future__ import annotations

from ledger.aggregates.confirmation import ConfirmationDue
from ledger.aggregates.departure import Departure
from ledger.canonical import JSONObject
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.departure_cases import case_items, require_not_leaver
from ledger.service.duties import require_case_owner
from ledger.service.handover_statement import confirmation_due
from ledger.service.policy import HR, require_role
from ledger.service.relation import absent, may_read_departure
from ledger.service.signature import registered_key, verify_signed_statement
from ledger.service.unit_of_work import UnitOfWork


def hide_confirmation(actor: Actor, departure: Departure, due: ConfirmationDue) -> None:
    """Those who may read the case, and every signatory (a receiver may not read the whole
    case otherwise), may see its confirmation; to anyone else the case is absent."""
    if actor.id not in due.signatories and not may_read_departure(actor, departure):
        raise absent(departure.id)


async def sign_handover_confirmation(cmd: c.SignHandoverConfirmation, actor: Actor,
                                     uow: UnitOfWork) -> JSONObject:
    """A signatory signs the statement as it stands, by token or with their own key."""
    departure = await uow.get(Departure, cmd.departure_id)
    items = await case_items(uow, departure)
    statement, due = confirmation_due(departure, items)
    hide_confirmation(actor, departure, due)
    signed = None
    if cmd.signature is not None:
        owner, public_key = await registered_key(uow.keys, cmd.signature.key_id)
        signed = verify_signed_statement(
            cmd.signature, statement, actor.id, owner, public_key,
            "statement is not the handover confirmation as it stands now (or not in its exact "
            "byte form); fetch it again")
    departure.sign_confirmation(by=actor.id, due=due, statement_sha256=cmd.statement_sha256,
                                signature=signed)
    return {"departure_id": str(departure.id), "statement_sha256": due.sha256,
            "signed": signed is not None, "unsigned": departure.unsigned(due)}


async def excuse_confirmation_signature(cmd: c.ExcuseConfirmationSignature, actor: Actor,
                                        uow: UnitOfWork) -> JSONObject:
    """The case's HR owner records that a signatory cannot or will not sign the statement as
    it stands (a leaver whose account was disabled, a receiver who refuses), with a reason."""
    require_role(actor, HR, "excuse a signature of the handover confirmation")
    departure = await uow.get(Departure, cmd.departure_id)
    require_not_leaver(actor, departure)
    require_case_owner(uow, actor, departure, "excuse a signature of its confirmation")
    _, due = confirmation_due(departure, await case_items(uow, departure))
    departure.excuse_confirmation_signature(by=actor.id, due=due, signatory=cmd.signatory,
                                            statement_sha256=cmd.statement_sha256,
                                            reason=cmd.reason)
    return {"departure_id": str(departure.id), "statement_sha256": due.sha256,
            "excused": sorted(departure.excused(due)), "unsigned": departure.unsigned(due)}
