"""Per-stream hash chain verification (DESIGN.md: ``prev`` of version n = hash of n-1).

Pure: takes stored rows, returns decoded entries or raises VerificationError naming the exact
stream, version and event id. Used by the repository on every load and by ``ledger verify``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.entry import Entry, decode_entry
from ledger.errors import VerificationError
from ledger.store.port import StoredEvent


def located(
    message: str, stream_id: object, version: int, event_id: object
) -> VerificationError:
    """A VerificationError that carries the exact stream, version and event id."""
    return VerificationError(message, stream_id=str(stream_id), version=version,
                             event_id=str(event_id))


def verify_row(row: StoredEvent) -> Entry:
    """Hash-check and decode one stored row, and check it agrees with its columns."""
    where = (row.stream_id, row.version, row.event_id)
    try:
        entry = decode_entry(row.entry, row.event_hash)
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


def verify_stream(rows: Sequence[StoredEvent]) -> list[Entry]:
    """Verify one stream's rows (in version order) as an unbroken chain from version 1.

    Precondition: ``rows`` all belong to one stream and are sorted by version.
    """
    entries: list[Entry] = []
    previous: Entry | None = None
    for row in rows:
        entry = verify_row(row)
        check_link(previous, entry)
        entries.append(entry)
        previous = entry
    return entries


def check_link(previous: Entry | None, entry: Entry) -> None:
    """Raise VerificationError unless ``entry`` directly follows ``previous`` in its chain.

    Precondition: both are decoded entries of the same stream (``previous`` None for the first).
    """
    where = (entry.stream_id, entry.version, entry.event_id)
    expected_version = 1 if previous is None else previous.version + 1
    if entry.version != expected_version:
        raise located(
            f"stream {entry.stream_id}: version {expected_version} is missing "
            f"(found version {entry.version}, event {entry.event_id})", *where,
        )
    expected_prev = None if previous is None else previous.event_hash
    if entry.prev != expected_prev:
        raise located(
            f"stream {entry.stream_id} version {entry.version} (event {entry.event_id}): "
            f"prev {entry.prev.hex() if entry.prev else None} does not match the hash of "
            f"version {expected_version - 1} "
            f"({expected_prev.hex() if expected_prev else None})", *where,
        )
