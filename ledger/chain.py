"""Per-stream hash chain verification (DESIGN.md: ``prev`` of version n = hash of n-1).

Pure: takes stored rows, returns decoded entries or raises VerificationError naming the exact
stream, version and event id. Used by the repository on every load and by ``ledger verify``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from ledger.entry import Entry, decode_entry
from ledger.errors import VerificationError


class StoredRow(Protocol):
    """What verification reads of a stored row (the store port's StoredEvent is one)."""

    @property
    def event_id(self) -> UUID: ...
    @property
    def stream_type(self) -> str: ...
    @property
    def stream_id(self) -> UUID: ...
    @property
    def version(self) -> int: ...
    @property
    def event_type(self) -> str: ...
    @property
    def entry(self) -> bytes: ...
    @property
    def event_hash(self) -> bytes: ...


def located(
    message: str, stream_id: object, version: int, event_id: object
) -> VerificationError:
    """A VerificationError that carries the exact stream, version and event id."""
    return VerificationError(message, stream_id=str(stream_id), version=version,
                             event_id=str(event_id))


def verify_row(row: StoredRow, strict: bool = True) -> Entry:
    """Hash-check and decode one stored row, and check it agrees with its columns.

    ``strict`` adds the canonical-form proof (see ``decode_entry``).
    """
    where = (row.stream_id, row.version, row.event_id)
    try:
        entry = decode_entry(row.entry, row.event_hash, strict=strict)
    except VerificationError as e:
        raise located(
            f"stream {row.stream_id} version {row.version} (event {row.event_id}): {e}", *where
        ) from e
    mismatches = [
        name for name, stored, inside in (
            ("event id", row.event_id, entry.event_id),
            ("stream id", row.stream_id, entry.stream_id),
            ("stream type", row.stream_type, entry.stream_type),
            ("version", row.version, entry.version),
            ("event type", row.event_type, entry.event_type),
        ) if stored != inside
    ]
    if mismatches:
        raise located(
            f"stream {row.stream_id} version {row.version} (event {row.event_id}): "
            f"entry disagrees with its row on {', '.join(mismatches)}", *where,
        )
    return entry


def verify_stream(rows: Sequence[StoredRow], strict: bool = True, after_version: int = 0,
                  after_hash: bytes | None = None) -> list[Entry]:
    """Verify one stream's rows (in version order) as an unbroken chain.

    Precondition: ``rows`` all belong to one stream, sorted by version, and continue an already
    verified chain whose last version and hash are ``after_version`` / ``after_hash`` (0 and
    None: the rows start at version 1).
    """
    entries: list[Entry] = []
    version, last_hash = after_version, after_hash
    for row in rows:
        entry = verify_row(row, strict)
        check_follows(version, last_hash, entry)
        entries.append(entry)
        version, last_hash = entry.version, entry.event_hash
    return entries


def check_follows(version: int, event_hash: bytes | None, entry: Entry) -> None:
    """Raise VerificationError unless ``entry`` is version ``version + 1`` chained to
    ``event_hash`` (None before version 1)."""
    where = (entry.stream_id, entry.version, entry.event_id)
    expected_version = version + 1
    if entry.version != expected_version:
        raise located(
            f"stream {entry.stream_id}: version {expected_version} is missing "
            f"(found version {entry.version}, event {entry.event_id})", *where,
        )
    expected_prev = event_hash
    if entry.prev != expected_prev:
        raise located(
            f"stream {entry.stream_id} version {entry.version} (event {entry.event_id}): "
            f"prev {entry.prev.hex() if entry.prev else None} does not match the hash of "
            f"version {expected_version - 1} "
            f"({expected_prev.hex() if expected_prev else None})", *where,
        )
