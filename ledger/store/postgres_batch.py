"""Group commit: concurrent appends are coalesced into one statement, one WAL flush.

Each command still succeeds or fails on its own: if a combined statement fails (a version or
key conflict, or a read dependency that moved, in one of its commands), every command in it is
retried alone, so one writer's conflict never fails another's append.

Read dependencies (ledger.store.port) are checked by ``ledger_append`` under advisory locks
(why a lock and not a plain check: see schema migration 4). The batch takes one lock per
stream key, exclusive where any of its commands appends, shared where they only depend, all
in ascending key order: every append sorts the same way, so no two appends wait on each other
in a cycle, and dependents of one stream (every item command depends on its departure) share
its lock and never block each other. A command that depends on a stream another command of
the same batch appends to makes the batch fail and be retried command by command, where each
is decided on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg

from ledger.store.port import IdempotencyRecord, NewEvent, ReadDependency

# One round trip: ledger_append (schema migration 4) locks, checks the read dependencies and
# inserts events, queue rows and idempotency records, all in the statement's transaction.
APPEND = """
SELECT appended_id, appended_position
FROM ledger_append($1::uuid[], $2::text[], $3::uuid[], $4::int[], $5::text[],
                   $6::timestamptz[], $7::bytea[], $8::bytea[], $9::text[], $10::bytea[],
                   $11::bytea[], $12::int[], $13::int[], $14::boolean[], $15::uuid[],
                   $16::int[])
"""
DEPENDENCY_CHANGED = "HL409"  # SQLSTATE ledger_append raises when a dependency moved


def lock_key(stream_id: UUID) -> tuple[int, int]:
    """The advisory lock key of a stream: its UUID's first 8 bytes as two signed 32-bit
    integers. The two-integer form is a key space of its own, apart from the single-bigint
    locks of migrations and sequencer leadership, so no stream can ever share their lock; two
    streams sharing a key only serialise each other, which is safe."""
    high, low = stream_id.int >> 96, (stream_id.int >> 64) & 0xFFFFFFFF
    return (high - (1 << 32) if high >= 1 << 31 else high,
            low - (1 << 32) if low >= 1 << 31 else low)


def is_dependency_changed(error: BaseException) -> bool:
    """Whether ``error`` is ledger_append refusing a command whose dependency moved."""
    return getattr(error, "sqlstate", None) == DEPENDENCY_CHANGED


@dataclass
class _Request:
    events: Sequence[NewEvent]
    idempotency: Sequence[IdempotencyRecord]
    depends_on: Sequence[ReadDependency]
    done: asyncio.Future[list[int]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())


def _arguments(requests: Sequence[_Request]) -> tuple[object, ...]:
    events = [e for r in requests for e in r.events]
    records = [k for r in requests for k in r.idempotency]
    # Commands of one case depend on the same departure at the same version: checked once.
    dependencies = list(dict.fromkeys(d for r in requests for d in r.depends_on))
    exclusive: dict[tuple[int, int], bool] = {lock_key(d.stream_id): False
                                              for d in dependencies}
    exclusive.update((lock_key(e.stream_id), True) for e in events)
    keys = sorted(exclusive)
    return (
        [e.event_id for e in events], [e.stream_type for e in events],
        [e.stream_id for e in events], [e.version for e in events],
        [e.event_type for e in events], [e.recorded_at for e in events],
        [e.entry for e in events], [e.event_hash for e in events],
        [k.key for k in records], [k.request_hash for k in records],
        [k.response for k in records],
        [k[0] for k in keys], [k[1] for k in keys], [exclusive[k] for k in keys],
        [d.stream_id for d in dependencies], [d.version for d in dependencies],
    )


class GroupCommit:
    """Runs appends with at most ``max_inflight`` statements in flight, coalescing the rest."""

    def __init__(self, pool: asyncpg.Pool, max_inflight: int = 3, max_batch: int = 256) -> None:
        self.pool = pool
        self.max_inflight = max_inflight
        self.max_batch = max_batch
        self._waiting: list[_Request] = []
        self._inflight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def append(self, events: Sequence[NewEvent], idempotency: Sequence[IdempotencyRecord],
                     depends_on: Sequence[ReadDependency] = ()) -> list[int]:
        """Append one command's events (or a batch's: one request) atomically if its
        dependencies are unchanged; raises asyncpg errors of that request."""
        request = _Request(events, idempotency, depends_on)
        self._waiting.append(request)
        if self._inflight < self.max_inflight:
            self._inflight += 1
            task = asyncio.get_running_loop().create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await request.done

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self.max_batch]
                del self._waiting[: self.max_batch]
                await self._write(batch)
        finally:
            self._inflight -= 1

    async def _write(self, batch: list[_Request]) -> None:
        try:
            rows = await self.pool.fetch(APPEND, *_arguments(batch))
        except (asyncpg.IntegrityConstraintViolationError, asyncpg.DeadlockDetectedError,
                asyncpg.SerializationError, asyncpg.UnknownPostgresError) as e:
            if not _decided_per_command(e):
                _fail_all(batch, e)
                return
            if len(batch) == 1:
                _fail(batch[0], e)
                return
            # Deterministic: the statement was rolled back. Find the command(s) at fault.
            try:
                for request in batch:
                    await self._write([request])
            except BaseException as interrupted:  # never leave a caller waiting forever
                for request in batch:
                    _fail(request, asyncpg.InterfaceError(f"append interrupted: {interrupted!r}"))
                raise
            return
        except BaseException as e:
            # Anything else (a connection lost during COMMIT, cancellation) leaves the outcome
            # unknown: retrying alone could apply a command twice, so every command of the
            # statement gets the error, and a keyed retry by the client resolves it.
            _fail_all(batch, e if isinstance(e, Exception) else asyncpg.InterfaceError(
                "append interrupted"))
            if not isinstance(e, Exception):
                raise
            return
        positions = {r[0]: int(r[1]) for r in rows}
        for request in batch:
            if not request.done.done():
                request.done.set_result([positions[e.event_id] for e in request.events])


def _decided_per_command(error: Exception) -> bool:
    """Whether the statement failed deterministically because of (some of) its commands, so
    retrying each alone tells which: a constraint, a deadlock or serialisation failure, or a
    read dependency that moved. Other unknown SQLSTATEs fail the whole statement."""
    return not isinstance(error, asyncpg.UnknownPostgresError) or is_dependency_changed(error)


def _fail_all(batch: Sequence[_Request], error: Exception) -> None:
    for request in batch:
        _fail(request, error)


def _fail(request: _Request, error: Exception) -> None:
    if not request.done.done():
        request.done.set_exception(error)
