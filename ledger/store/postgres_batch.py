"""Group commit: concurrent appends are coalesced into one statement, one WAL flush.

Each command still succeeds or fails on its own: if a combined statement fails (a version or
key conflict in one of its commands), every command in it is retried alone, so one writer's
conflict never fails another's append.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from ledger.store.port import IdempotencyRecord, NewEvent

APPEND = """
WITH ins AS (
    INSERT INTO events (event_id, stream_type, stream_id, version, event_type, recorded_at,
                        entry, event_hash)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::int[], $5::text[],
                         $6::timestamptz[], $7::bytea[], $8::bytea[])
    RETURNING event_id, position
), queued AS (
    INSERT INTO log_queue (position) SELECT position FROM ins
), idem AS (
    INSERT INTO idempotency (key, request_hash, response)
    SELECT * FROM unnest($9::text[], $10::bytea[], $11::bytea[])
)
SELECT event_id, position FROM ins
"""


@dataclass
class _Request:
    events: Sequence[NewEvent]
    idempotency: IdempotencyRecord | None
    done: asyncio.Future[list[int]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())


def _arguments(requests: Sequence[_Request]) -> tuple[object, ...]:
    events = [e for r in requests for e in r.events]
    records = [r.idempotency for r in requests if r.idempotency is not None]
    return (
        [e.event_id for e in events], [e.stream_type for e in events],
        [e.stream_id for e in events], [e.version for e in events],
        [e.event_type for e in events], [e.recorded_at for e in events],
        [e.entry for e in events], [e.event_hash for e in events],
        [k.key for k in records], [k.request_hash for k in records],
        [k.response for k in records],
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

    async def append(self, events: Sequence[NewEvent],
                     idempotency: IdempotencyRecord | None) -> list[int]:
        """Append one command's events atomically; raises asyncpg errors of that command."""
        request = _Request(events, idempotency)
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
                asyncpg.SerializationError) as e:
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
            for request in batch:
                _fail(request, e if isinstance(e, Exception) else asyncpg.InterfaceError(
                    "append interrupted"))
            if not isinstance(e, Exception):
                raise
            return
        positions = {r[0]: int(r[1]) for r in rows}
        for request in batch:
            if not request.done.done():
                request.done.set_result([positions[e.event_id] for e in request.events])


def _fail(request: _Request, error: Exception) -> None:
    if not request.done.done():
        request.done.set_exception(error)
