"""Strong confirmations: a receiver's Ed25519 signature over a human-readable statement.

A person should know what they sign, so the statement is plain bilingual text (Chinese and
English) naming the item, its title and current version, every evidence file of the submission
being confirmed with its SHA-256, the receiver and the time::

    交接确认 / Handover confirmation
    事项 / Item: 客户资料 (0b6e…-…, version 4)
    文件 / File: clients.xlsx sha256:abab…ab
    接收人 / Receiver: zhao.min
    时间 / Time: 2026-12-01T21:20:18.123456Z

The exact byte form (what is signed, and the only form accepted):
- UTF-8; lines end with LF (no CR); the statement ends with one LF; no line has leading or
  trailing spaces; no empty lines;
- line 1 is the heading; line 2 the item: ``<title> (<item id>, version <n>)`` with the id in
  hyphenated lower-case form and ``n`` the item's version the signature confirms;
- then one ``文件 / File: <name> sha256:<64 lower-case hex>`` line per evidence file, sorted by
  digest (then name), or the single line ``文件 / File: 无 / none`` when there is none;
- then, only when the submission has lines ("逐条签字确认"), one
  ``条目 / Line: <line id> <text>`` line per line in the submission's order;
- then the receiver's principal id (an item with declared signers: ``签字人 / Signer: <id>``,
  the principal signing), then the time as RFC 3339 UTC with microseconds and ``Z``;
- in the title, file names and line texts, a backslash becomes ``\\\\`` and every control,
  format (e.g. bidi override) or line/paragraph separator character becomes ``\\u{XXXX}``,
  and outer spaces are trimmed, so a name can neither break a line nor hide text nor leave a
  trailing space.
Verification never parses the claims: it reads only the time from its line, recomputes the
statement from the item as it stands and compares bytes. The event records the statement, the
signature and the public key, so anyone can check them offline.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import unicodedata
from collections.abc import Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.aggregates.item import HandoverItem
from ledger.canonical import JSONObject
from ledger.entry import format_time
from ledger.errors import ForbiddenError, InvalidInputError, VerificationError
from ledger.service.commands import Signature
from ledger.service.unit_of_work import KeyLookup

MAX_CLOCK_SKEW = dt.timedelta(minutes=10)
HEADING = "交接确认 / Handover confirmation"
ITEM_LABEL = "事项 / Item: "
FILE_LABEL = "文件 / File: "
NO_FILES = FILE_LABEL + "无 / none"
RECEIVER_LABEL = "接收人 / Receiver: "
LINE_LABEL = "条目 / Line: "
SIGNER_LABEL = "签字人 / Signer: "
TIME_LABEL = "时间 / Time: "
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_ESCAPED_CATEGORIES = ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")


def quote_text(text: str) -> str:
    """``text`` as it appears on a statement line (see the module docstring)."""
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif unicodedata.category(char) in _ESCAPED_CATEGORIES:
            out.append(f"\\u{{{ord(char):04X}}}")
        else:
            out.append(char)
    return "".join(out).strip(" ")


def format_statement(title: str, item_id: str, version: int, files: list[tuple[str, str]],
                     receiver_id: str, when: dt.datetime,
                     items: Sequence[tuple[str, str]] = (), signer: bool = False) -> str:
    """The statement's exact text from plain values (no I/O, no aggregate: an offline verifier
    can recompute it). ``files`` are (name, sha256 hex) pairs in any order; ``items`` the
    submission's (line id, text) pairs in order; ``signer`` labels ``receiver_id`` as one of
    several signers. Without them the bytes are those of statements signed before lines and
    several signers existed.

    Precondition: ``when`` is timezone-aware; ``item_id`` is a hyphenated lower-case UUID.
    """
    ordered = sorted((digest, quote_text(name)) for name, digest in files)
    lines = [HEADING, f"{ITEM_LABEL}{quote_text(title)} ({item_id}, version {version})"]
    lines += [f"{FILE_LABEL}{name} sha256:{digest}" for digest, name in ordered] or [NO_FILES]
    lines += [f"{LINE_LABEL}{quote_text(line_id)} {quote_text(text)}" for line_id, text in items]
    lines += [(SIGNER_LABEL if signer else RECEIVER_LABEL) + receiver_id,
              TIME_LABEL + format_time(when)]
    return "\n".join(lines) + "\n"


def confirmation_statement(item: HandoverItem, receiver_id: str, when: dt.datetime) -> str:
    """The exact text a receiver signs to confirm ``item`` as it stands now.

    Precondition: ``when`` is timezone-aware.
    """
    files = [(str(e.get("name", "")), str(e["sha256"])) for e in item.evidence]
    items = [(str(line["id"]), str(line["text"])) for line in item.lines]
    return format_statement(item.title, str(item.id), item.version, files, receiver_id, when,
                            items, signer=bool(item.signers))


def statement_time(statement: str) -> dt.datetime:
    """The time a statement claims, read from its time line (the only line parsed).

    Raises VerificationError if there is no such line or its time is not RFC 3339 UTC.
    """
    lines = statement.split("\n")
    if len(lines) < 2 or lines[-1] != "" or not lines[-2].startswith(TIME_LABEL):
        raise VerificationError("statement is not a confirmation statement: it must end with "
                                f"the line '{TIME_LABEL}<RFC 3339 UTC>' and a final LF")
    try:
        parsed = dt.datetime.strptime(lines[-2][len(TIME_LABEL):], _TIME_FORMAT)
    except ValueError as e:
        raise VerificationError(f"statement time is not RFC 3339 UTC: {e}") from e
    return parsed.replace(tzinfo=dt.UTC)


def verify_confirmation(signature: Signature, item: HandoverItem, receiver_id: str,
                        owner_id: str, public_key: bytes, now: dt.datetime) -> JSONObject:
    """Check a signed statement against the item as it stands; return what the event records.

    Raises ForbiddenError if the key is someone else's, VerificationError if the statement
    does not describe this confirmation or the signature does not verify.
    """
    when = statement_time(signature.statement)
    if abs(now - when) > MAX_CLOCK_SKEW:
        raise VerificationError("statement time is more than 10 minutes from the server's")
    return verify_signed_statement(
        signature, confirmation_statement(item, receiver_id, when), receiver_id, owner_id,
        public_key, "statement does not match this item, title, version, evidence, lines and "
        "receiver (or is not in its exact byte form)")


async def registered_key(keys: KeyLookup | None, key_id: str) -> tuple[str, bytes]:
    """The owner and public key of a registered, unrevoked key (a revoked key is not found:
    it verifies no new signature); InvalidInputError otherwise."""
    found = await keys.find_key(key_id) if keys is not None else None
    if found is None:
        raise InvalidInputError(f"no registered key {key_id!r} (or it was revoked); register "
                                "one with POST /v1/principals/{id}/keys",
                                field="signature.key_id")
    return found


def verify_signed_statement(signature: Signature, expected: str, signer_id: str,
                            owner_id: str, public_key: bytes, mismatch: str) -> JSONObject:
    """Check an Ed25519 signature by ``signer_id``'s own key over exactly ``expected`` (the
    statement recomputed from the ledger's state; ``mismatch`` says why another is refused);
    return what the event records, so anyone can check it offline.

    Raises ForbiddenError if the key is someone else's, VerificationError if the statement is
    not ``expected`` byte for byte or the signature does not verify.
    """
    if owner_id != signer_id:
        raise ForbiddenError(f"key {signature.key_id} is not {signer_id}'s")
    if signature.statement != expected:
        raise VerificationError(mismatch)
    try:
        raw = base64.b64decode(signature.signature, validate=True)
        Ed25519PublicKey.from_public_bytes(public_key).verify(raw, signature.statement.encode())
    except (binascii.Error, ValueError, InvalidSignature) as e:
        raise VerificationError("signature does not verify with the registered key") from e
    return {"key_id": signature.key_id, "algorithm": "ed25519",
            "public_key": base64.b64encode(public_key).decode(),
            "statement": signature.statement, "signature": signature.signature}
