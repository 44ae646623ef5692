"""Strong confirmations: a receiver's Ed25519 signature over a canonical statement.

The statement names the item, its current version, the evidence digests of the submission
being confirmed, the receiver and the time, as RFC 8785 JSON. The signature is made with the
receiver's registered key, so the confirmation is provably their own act: the event records the
statement, the signature and the public key, and anyone can check them offline.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.aggregates.item import HandoverItem
from ledger.canonical import JSONObject, encode_canonical
from ledger.entry import format_time
from ledger.errors import ForbiddenError, VerificationError
from ledger.service.commands import Signature

MAX_CLOCK_SKEW = dt.timedelta(minutes=10)


def confirmation_statement(item: HandoverItem, receiver_id: str, when: dt.datetime) -> str:
    """The exact text a receiver signs to confirm ``item`` as it stands now."""
    statement: JSONObject = {
        "action": "confirm",
        "item_id": str(item.id),
        "item_version": item.version,
        "evidence": sorted(str(e["sha256"]) for e in item.evidence),
        "receiver": receiver_id,
        "time": format_time(when),
    }
    return encode_canonical(statement).decode("utf-8")


def verify_confirmation(signature: Signature, item: HandoverItem, receiver_id: str,
                        owner_id: str, public_key: bytes, now: dt.datetime) -> JSONObject:
    """Check a signed statement against the item as it stands; return what the event records.

    Raises ForbiddenError if the key is someone else's, VerificationError if the statement
    does not describe this confirmation or the signature does not verify.
    """
    if owner_id != receiver_id:
        raise ForbiddenError(f"key {signature.key_id} is not {receiver_id}'s")
    try:
        claimed = json.loads(signature.statement)
        when = dt.datetime.fromisoformat(str(claimed.get("time")))
    except (ValueError, AttributeError) as e:
        raise VerificationError(f"statement is not a confirmation statement: {e}") from e
    if when.tzinfo is None:
        raise VerificationError("statement time has no timezone")
    if abs(now - when) > MAX_CLOCK_SKEW:
        raise VerificationError("statement time is more than 10 minutes from the server's")
    if signature.statement != confirmation_statement(item, receiver_id, when):
        raise VerificationError("statement does not match this item, version, evidence and "
                                "receiver (or is not canonical)")
    try:
        raw = base64.b64decode(signature.signature, validate=True)
        Ed25519PublicKey.from_public_bytes(public_key).verify(raw, signature.statement.encode())
    except (binascii.Error, ValueError, InvalidSignature) as e:
        raise VerificationError("signature does not verify with the registered key") from e
    return {"key_id": signature.key_id, "algorithm": "ed25519",
            "public_key": base64.b64encode(public_key).decode(),
            "statement": signature.statement, "signature": signature.signature}
