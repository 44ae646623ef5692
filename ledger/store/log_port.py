"""The transparency-log storage port: what the sequencer writes and the log endpoints read.

Tables (both adapters): ``log_entries`` (index → event position and hash, gap-free),
``log_hashes`` (RFC 6962 subtree hashes at Go tlog's stored-hash indexes), ``log_tiles`` (C2SP
hash tiles, widest width so far) and ``checkpoints`` (every signed checkpoint note). Entries,
hashes and checkpoints are append-only by trigger, like ``events``. ``log_meta`` holds the log's
random id and ``log_keys`` the verifier keys that sign it (ledger.transparency.log_identity).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class StoredCheckpoint:
    """A signed checkpoint as stored: its size, root hash and the exact signed note bytes;
    ``signed_at``, when read back, is when the store recorded it (the note itself carries no
    time; not part of its identity)."""

    size: int
    root: bytes
    note: bytes
    signed_at: dt.datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class LogEntryRow:
    """One sequenced log entry: log index, the event's storage position and its hash."""

    index: int
    position: int
    event_hash: bytes


@dataclass(frozen=True)
class LogBlock:
    """A run of log rows read in one go: their indexes (ascending), the event positions (log
    entries only) and their hashes concatenated in the same order. The reader checks both: a
    gap in the indexes is a gap in the table, and a concatenation that is not 32 bytes per row
    means a hash of the wrong length (the reader then reads the rows one by one)."""

    indexes: list[int]
    positions: list[int]
    hashes: bytes


class SequencingBatch(Protocol):
    """One sequencer transaction: everything written commits together, or nothing does."""

    async def size(self) -> int:
        """The current log size (the next index to assign)."""

    async def take_queue(self, limit: int) -> list[tuple[int, bytes]]:
        """Committed queue rows (position, event hash) to sequence, oldest position first."""

    async def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """Stored hashes at ``indexes`` (including ones written in this batch)."""

    async def append(self, entries: Sequence[LogEntryRow],
                     hashes: Sequence[tuple[int, bytes]]) -> None:
        """Write log entries and stored hashes, and remove the entries' queue rows."""

    async def write_tile(self, level: int, n: int, width: int, data: bytes) -> None:
        """Store (or widen) the hash tile (level, n): at the latest with the batch's
        checkpoint (an adapter may hold it until ``write_checkpoint``; one transaction
        commits both or neither)."""

    async def last_checkpoint(self) -> StoredCheckpoint | None:
        """The latest signed checkpoint."""

    async def write_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        """Store a newly signed checkpoint."""


class LogStore(Protocol):
    """Read side of the log, and the sequencer's transactions."""

    def sequencing(self) -> AbstractAsyncContextManager[SequencingBatch]:
        """Open one sequencer transaction (PostgreSQL: only while holding leadership)."""

    async def try_lead(self) -> bool:
        """Try to become (or stay) the single sequencer leader; True when this process leads."""

    async def resign(self) -> None:
        """Give up leadership (on shutdown)."""

    async def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """Stored hashes at ``indexes``, in order; NotFoundError if any is missing."""

    async def read_tile(self, level: int, n: int) -> bytes | None:
        """The widest stored data of hash tile (level, n)."""

    async def read_entries(self, start: int, count: int) -> list[LogEntryRow]:
        """Log entries with index in [start, start + count), in index order."""

    async def find_index(self, event_hash: bytes) -> int | None:
        """The log index of an event hash, once sequenced."""

    async def find_indexes(self, event_hashes: Sequence[bytes]) -> dict[bytes, int]:
        """The log indexes of those of ``event_hashes`` already sequenced, in one query (a
        stream's entries, as ``GET /v1/streams/{id}/events`` shows them)."""

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The latest signed checkpoint."""

    async def checkpoints(self) -> list[StoredCheckpoint]:
        """Every signed checkpoint, by size."""

    async def read_entry_block(self, start: int, limit: int) -> LogBlock:
        """Up to ``limit`` log entries with index >= ``start``, ascending (the full audit)."""

    async def read_hash_block(self, start: int, limit: int) -> LogBlock:
        """Up to ``limit`` stored hashes with index >= ``start``, ascending (``positions``
        empty)."""

    def iterate_tiles(self) -> AsyncIterator[tuple[int, int, int, bytes]]:
        """Every stored tile as (level, n, width, data)."""

    async def read_tile_block(self, level: int, start: int,
                              limit: int) -> list[tuple[int, int, bytes]]:
        """Up to ``limit`` stored tiles of ``level`` with n >= ``start``, ascending, as
        (n, width, data) (the full audit, a level at a time)."""

    async def read_checkpoint_block(self, after: int, limit: int) -> list[StoredCheckpoint]:
        """Up to ``limit`` signed checkpoints of size > ``after``, by size (the full audit)."""

    async def duplicate_entries(self, limit: int) -> list[tuple[int, int]]:
        """(index, position) of up to ``limit`` log entries, ascending by index, each naming
        an event that an entry of a lower index names too (none in an intact log)."""

    async def stream_log_keys(self, stream_ids: Sequence[str], size: int) -> dict[str, int]:
        """For each of ``stream_ids`` that has events: the greatest log-order key of its
        events, where an event's key is its log index when below ``size`` and ``size`` plus
        its position otherwise (not yet sequenced as of the audited size)."""

    async def indexes_of_positions(self, positions: Sequence[int]) -> dict[int, int]:
        """The log index of each of ``positions`` that is sequenced (the highest, should two
        entries name one event)."""

    async def log_id(self) -> str:
        """The random id this database's log was given when its schema was created (32 hex
        digits, never changed)."""

    async def signing_keys(self) -> list[str]:
        """The verifier key strings recorded as signing this log, oldest first."""

    async def record_signing_keys(self, vkeys: Sequence[str]) -> None:
        """Record verifier keys as signing this log (those already recorded are skipped)."""
