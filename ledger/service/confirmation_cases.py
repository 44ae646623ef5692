"""Signing the handover confirmation (交接确认书), and what a close needs of it.

Each signature is an event on the departure naming the statement's SHA-256; one made over a
statement that has since changed no longer counts (``Departure.unsigned``). The items are read
dependencies of a signature (as of a close): an item that changes before the signature commits
makes it be decided again, on the new statement, so a signature never names a digest the case
did not have when it was recorded.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.aggregates.confirmation import ConfirmationDue
from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from ledger.canonical import JSONObject
from ledger.errors import ForbiddenError, InvalidInputError, VerificationError
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.handover_statement import confirmation_due
from ledger.service.relation import absent, may_read_departure
from ledger.service.unit_of_work import UnitOfWork


async def case_items(uow: UnitOfWork, departure: Departure) -> list[HandoverItem]:
    """The departure's items, each a read dependency of the command."""
    return [await uow.get(HandoverItem, i, read_only=True) for i in departure.item_ids]


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
        found = await uow.keys.find_key(cmd.signature.key_id) if uow.keys else None
        if found is None:
            raise InvalidInputError(f"no registered key {cmd.signature.key_id!r} (or it was "
                                    "revoked); register one with POST /v1/principals/{id}/keys",
                                    field="signature.key_id")
        signed = verify_statement_signature(cmd.signature, statement, actor.id, *found)
    departure.sign_confirmation(by=actor.id, due=due, statement_sha256=cmd.statement_sha256,
                                signature=signed)
    return {"departure_id": str(departure.id), "statement_sha256": due.sha256,
            "signed": signed is not None, "unsigned": departure.unsigned(due)}


def verify_statement_signature(signature: c.Signature, statement: str, signer_id: str,
                               owner_id: str, public_key: bytes) -> JSONObject:
    """Check an Ed25519 signature by ``signer_id``'s own key over the statement's exact
    bytes; return what the event records (anyone can check it offline).

    Raises ForbiddenError if the key is someone else's, VerificationError if the statement is
    not the current one byte for byte or the signature does not verify.
    """
    if owner_id != signer_id:
        raise ForbiddenError(f"key {signature.key_id} is not {signer_id}'s")
    if signature.statement != statement:
        raise VerificationError("statement is not the handover confirmation as it stands now "
                                "(or not in its exact byte form); fetch it again")
    try:
        raw = base64.b64decode(signature.signature, validate=True)
        Ed25519PublicKey.from_public_bytes(public_key).verify(raw, statement.encode())
    except (binascii.Error, ValueError, InvalidSignature) as e:
        raise VerificationError("signature does not verify with the registered key") from e
    return {"key_id": signature.key_id, "algorithm": "ed25519",
            "public_key": base64.b64encode(public_key).decode(),
            "statement": statement, "signature": signature.signature}
