"""The async event store port: one interface, one contract test suite, two adapters.

Invariants every adapter keeps (tests/contract checks them on each):
- ``events`` is append-only, enforced by the database itself (triggers);
- UNIQUE (stream_id, version): a stale writer gets ConflictError, so each chain is one line;
- one ``append`` is one transaction: its events, their log-queue rows and the idempotency
  record commit together or not at all; no global lock is taken by writers;
- an ``append`` with ``depends_on`` commits only if each of those streams is still at the
  version the command read (DependencyChangedError otherwise): a command that decides on a
  stream it does not write (a close reads its items, an item command its departure) cannot
  commit on a decision another writer has made stale. This is what keeps the close gate under
  concurrency (DESIGN.md, Storage).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol
from uuid import UUID

from ledger.errors import ConflictError


@dataclass(frozen=True)
class NewEvent:
    """An encoded entry ready to append; ``entry`` and ``event_hash`` are final."""

    event_id: UUID
    stream_type: str
    stream_id: UUID
    version: int
    event_type: str
    recorded_at: datetime
    entry: bytes
    event_hash: bytes


@dataclass(frozen=True)
class StoredEvent:
    """One row of ``events`` as stored; ``position`` is its storage (commit-queue) order."""

    position: int
    event_id: UUID
    stream_type: str
    stream_id: UUID
    version: int
    event_type: str
    entry: bytes
    event_hash: bytes


class ReadDependency(NamedTuple):
    """A stream a command read but does not append to, at the version it read (0: absent).
    A tuple: one is made for nearly every command."""

    stream_id: UUID
    version: int


@dataclass(frozen=True)
class IdempotencyRecord:
    """The first outcome of a keyed command: replays return ``response`` unchanged."""

    key: str
    request_hash: bytes
    response: bytes


AuditRow = tuple[int, str, str, str, int, str, bytes, bytes]
"""One stored event as ``ledger verify`` reads it: (position, event id, stream type, stream
id, version, event type, event hash, entry); ids as lowercase hyphenated text."""


class EventStore(Protocol):
    """What the service layer needs from storage."""

    async def migrate(self) -> None:
        """Create or upgrade the schema; safe to run repeatedly and concurrently."""

    async def close(self) -> None:
        """Release connections."""

    async def append(
        self, events: Sequence[NewEvent], idempotency: IdempotencyRecord | None = None,
        depends_on: Sequence[ReadDependency] = (),
    ) -> list[int]:
        """Append atomically; return positions. ConflictError on a taken version or key;
        DependencyChangedError when a stream of ``depends_on`` is no longer at its version
        (checked as of the commit, not as of some earlier read)."""

    async def append_commands(
        self, events: Sequence[NewEvent], idempotency: Sequence[IdempotencyRecord],
        depends_on: Sequence[ReadDependency] = (),
    ) -> list[int]:
        """``append`` for the events and idempotency records of several commands decided one
        after another (a batch): one transaction, the same errors; ``depends_on`` names no
        stream that ``events`` append to."""

    async def read_stream(self, stream_id: UUID, after_version: int = 0) -> list[StoredEvent]:
        """Return one stream's events with version > ``after_version``, in version order."""

    async def read_all(self, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Return events with position > ``after`` in position order, at most ``limit``."""

    def iterate_all(self, batch: int = 5000) -> AsyncIterator[StoredEvent]:
        """Iterate over every event in position order, fetching ``batch`` rows at a time."""

    async def read_for_audit(self, after: int = 0, limit: int = 5000) -> Sequence[AuditRow]:
        """Return events with position > ``after`` in position order, at most ``limit``, as
        plain ``AuditRow`` tuples (no UUID or datetime objects): the full audit's read."""

    async def find_event(self, event_id: UUID) -> StoredEvent | None:
        """Return one event by its id."""

    async def count_events(self) -> int:
        """Return how many events are stored."""

    async def stream_ids(self, stream_type: str) -> list[UUID]:
        """Return the ids of every stream of one type, oldest first."""

    async def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        """Return the stored outcome for ``key``, if any."""

    async def find_idempotencies(self, keys: Sequence[str]) -> dict[str, IdempotencyRecord]:
        """Return the stored outcomes of those of ``keys`` that have one, in one read."""

    async def queued_positions(self, limit: int = 1000) -> list[int]:
        """Return positions waiting for the log sequencer, oldest first."""


class PagedIteration:
    """``iterate_all`` for any adapter with ``read_all``: one page in memory at a time."""

    async def read_all(self, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        raise NotImplementedError

    async def iterate_all(self, batch: int = 5000) -> AsyncIterator[StoredEvent]:
        """Iterate over every event in position order, ``batch`` rows per query."""
        after = 0
        while rows := await self.read_all(after, batch):
            for row in rows:
                yield row
            after = rows[-1].position


class KeyTakenError(ConflictError):
    """The idempotency key was stored by a concurrent request first; re-read its outcome."""


class DependencyChangedError(ConflictError):
    """A stream the command decided on changed before its append could commit; decide again
    on fresh state."""
