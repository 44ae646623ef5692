"""The ledger entry: the one canonical JSON document stored per event (DESIGN.md, fixed).

The stored bytes are the source of truth. ``decode_entry`` hashes the bytes it is given before
anything else and never re-serialises them; the hash is what the per-stream chain and the global
Merkle log commit to.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ledger.canonical import (
    MAX_SAFE_INTEGER,
    JSONObject,
    JSONValue,
    encode_canonical,
    encode_sorted,
    encode_with_checked_members,
)
from ledger.errors import InvalidInputError, VerificationError

ENTRY_FORMAT_VERSION = 1
STREAM_TYPES = ("departure", "item", "template", "dispute")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_TIME_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_HASH_HEX = re.compile(r"[0-9a-f]{64}")
_UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SUPPLEMENTARY_LEAD = re.compile(rb"[\xf0-\xf4]")  # UTF-8 lead bytes beyond the BMP


def _refuse_float(text: str) -> object:
    raise ValueError(f"number {text} is not an integer (floats are not allowed)")


def _bounded_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise ValueError(f"integer {text} exceeds 2^53-1")
    return value


# Refusing floats, NaN/Infinity and unsafe integers while parsing means the canonical
# re-encode needs no separate walk over the document.
_DECODER = json.JSONDecoder(parse_float=_refuse_float, parse_constant=_refuse_float,
                            parse_int=_bounded_int)


def _parse(raw: bytes) -> Any:
    return _DECODER.decode(raw.decode("utf-8"))


def _is_canonical(doc: Any, raw: bytes) -> bool:
    if _SUPPLEMENTARY_LEAD.search(raw):  # keys may need UTF-16 ordering: the full path
        return encode_canonical(doc) == raw
    return encode_sorted(doc) == raw
_ENTRY_KEYS = frozenset(
    {"v", "id", "stream", "version", "type", "recorded_at", "actor", "context", "payload", "prev"}
)


def format_time(moment: datetime) -> str:
    """Return ``moment`` as RFC 3339 UTC with microseconds and ``Z``.

    Precondition: ``moment`` is timezone-aware.
    """
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """Parse the exact ``recorded_at`` form written by ``format_time``.

    Precondition: none; raises ValueError for any other form.
    """
    if not _TIME_PATTERN.fullmatch(text):
        raise ValueError(f"recorded_at {text!r} is not RFC 3339 UTC with microseconds")
    return datetime.fromisoformat(text)


def hash_entry(entry: bytes) -> bytes:
    """Return the 32-byte event hash, SHA-256 over the exact stored entry bytes."""
    return hashlib.sha256(entry).digest()


@dataclass(frozen=True)
class Entry:
    """A decoded entry, together with the exact bytes and hash it was decoded from."""

    event_id: UUID
    stream_type: str
    stream_id: UUID
    version: int
    event_type: str
    recorded_at: datetime
    actor: JSONObject
    context: JSONObject
    payload: JSONObject
    prev: bytes | None
    raw: bytes
    event_hash: bytes


def encode_entry(
    *,
    event_id: UUID,
    stream_type: str,
    stream_id: UUID,
    version: int,
    event_type: str,
    recorded_at: datetime,
    actor: JSONObject,
    context: JSONObject,
    payload: JSONObject,
    prev: bytes | None,
) -> tuple[bytes, bytes]:
    """Build an entry and return ``(entry bytes, event hash)``.

    Precondition: ``prev`` is the event hash of ``version - 1`` of the same stream, or None
    exactly when ``version == 1``; payload, actor and context hold only JSON types.
    """
    if (version == 1) != (prev is None):
        raise ValueError("prev must be None exactly for version 1")
    document: dict[str, JSONValue] = {
        "v": ENTRY_FORMAT_VERSION,
        "id": str(event_id),
        "stream": {"type": stream_type, "id": str(stream_id)},
        "version": version,
        "type": event_type,
        "recorded_at": format_time(recorded_at),
        "actor": actor,
        "context": context,
        "payload": payload,
        "prev": prev.hex() if prev is not None else None,
    }
    # Only the members that come from outside need the walk; the envelope's own are JSON.
    raw = encode_with_checked_members(document, ("actor", "context", "payload"))
    return raw, hash_entry(raw)


def decode_entry(raw: bytes, expected_hash: bytes | None = None, *,
                 strict: bool = True) -> Entry:
    """Verify and decode stored entry bytes.

    Precondition: ``raw`` is exactly what was stored. When ``expected_hash`` is given the bytes
    must hash to it. ``strict`` also proves the bytes are RFC 8785 canonical (a re-encode: the
    full audit does it; the command path, which only needs integrity, skips it). Raises
    VerificationError naming the event when anything is off.
    """
    event_hash = hash_entry(raw)
    if expected_hash is not None and event_hash != expected_hash:
        raise VerificationError(
            f"entry bytes hash to {event_hash.hex()}, stored hash is {expected_hash.hex()}"
        )
    try:
        return _entry_from_document(_parse(raw), raw, event_hash, strict)
    except (ValueError, KeyError, TypeError, AttributeError, InvalidInputError,
            UnicodeEncodeError) as e:
        raise VerificationError(f"malformed entry: {e}") from e


def _canonical_uuid(text: object) -> UUID:
    if not isinstance(text, str) or not _UUID_TEXT.fullmatch(text):
        raise ValueError(f"{text!r} is not a lowercase, hyphenated UUID")
    return UUID(text)


def _entry_from_document(doc: Any, raw: bytes, event_hash: bytes, strict: bool) -> Entry:
    if not isinstance(doc, dict) or set(doc) != _ENTRY_KEYS:
        raise ValueError("entry keys differ from the fixed envelope")
    if type(doc["v"]) is not int or doc["v"] != ENTRY_FORMAT_VERSION:
        raise ValueError(f"unknown entry format version {doc['v']!r}")
    stream = doc["stream"]
    if not isinstance(stream, dict) or set(stream) != {"type", "id"}:
        raise ValueError("stream must be exactly {type, id}")
    if stream["type"] not in STREAM_TYPES:
        raise ValueError(f"unknown stream type {stream['type']!r}")
    version = doc["version"]
    if type(version) is not int or version < 1:
        raise ValueError(f"bad version {version!r}")
    for name in ("actor", "context", "payload"):
        if not isinstance(doc[name], dict):
            raise ValueError(f"{name} is not an object")
    if not isinstance(doc["type"], str) or not isinstance(doc["recorded_at"], str):
        raise ValueError("type and recorded_at must be strings")
    prev = doc["prev"]
    if (version == 1) != (prev is None):
        raise ValueError("prev must be null exactly for version 1")
    if prev is not None and not (isinstance(prev, str) and _HASH_HEX.fullmatch(prev)):
        raise ValueError("prev must be 64 lowercase hex digits")
    if strict and not _is_canonical(doc, raw):
        raise ValueError("entry bytes are not in RFC 8785 canonical form")
    return Entry(
        event_id=_canonical_uuid(doc["id"]),
        stream_type=stream["type"],
        stream_id=_canonical_uuid(stream["id"]),
        version=version,
        event_type=doc["type"],
        recorded_at=parse_time(doc["recorded_at"]),
        actor=doc["actor"],
        context=doc["context"],
        payload=doc["payload"],
        prev=bytes.fromhex(prev) if prev is not None else None,
        raw=raw,
        event_hash=event_hash,
    )
