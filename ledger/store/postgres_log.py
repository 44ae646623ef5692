"""PostgreSQL adapter of the log port. Leadership is a session advisory lock held on one
dedicated connection, and every sequencer transaction runs on that same connection: if the
session dies, leadership and any half-done batch die with it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from ledger.errors import LedgerError, NotFoundError
from ledger.store.log_port import LogBlock, LogEntryRow, StoredCheckpoint
from ledger.store.postgres import (
    PG_ERRORS,
    MappedPool,
    PostgresEventStore,
    map_postgres_error,
)

SEQUENCER_LOCK = 0x4C4F4753  # "LOGS"
LOG_CHANNEL = "ledger_log"  # NOTIFY'd with the new size as each batch commits


async def _hashes(conn: Any, indexes: Sequence[int]) -> list[bytes]:
    rows = await conn.fetch("SELECT idx, hash FROM log_hashes WHERE idx = ANY($1::bigint[])",
                            sorted(set(indexes)))
    found = {int(r[0]): bytes(r[1]) for r in rows}
    missing = [i for i in indexes if i not in found]
    if missing:
        raise NotFoundError(f"stored hashes missing at {missing[:5]}")
    return [found[i] for i in indexes]


def _checkpoint(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(int(row[0]), bytes(row[1]), bytes(row[2]))


def _signed(row: Any) -> StoredCheckpoint:
    """A checkpoint with the time the store recorded it."""
    return dataclasses.replace(_checkpoint(row), signed_at=row[3])


STREAM_KEY_CHUNK = 1000  # streams per query of stream_log_keys


class PostgresBatch:
    """One sequencer transaction on the leader's connection. The sequencer's round trips are
    few (under load each waits its turn on a busy event loop, and the read models wait for the
    log): the entries, their hashes and the queue rows go in one statement, the tiles with the
    checkpoint in another."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._tiles: dict[tuple[int, int], tuple[int, bytes]] = {}
        self._last: list[StoredCheckpoint | None] = []  # read with the size

    async def size(self) -> int:
        # The last checkpoint comes with it (only the leader, in this transaction, writes
        # either), for ``last_checkpoint``.
        row = await self.conn.fetchrow(
            "SELECT (SELECT coalesce(max(idx) + 1, 0) FROM log_entries), c.size, c.root, c.note "
            "FROM (SELECT 1) one LEFT JOIN (SELECT size, root, note FROM checkpoints "
            "ORDER BY size DESC LIMIT 1) c ON true")
        self._last = [None if row[1] is None else StoredCheckpoint(
            int(row[1]), bytes(row[2]), bytes(row[3]))]
        return int(row[0])

    async def take_queue(self, limit: int) -> list[tuple[int, bytes]]:
        rows = await self.conn.fetch(
            "SELECT q.position, e.event_hash FROM log_queue q JOIN events e "
            "ON e.position = q.position ORDER BY q.position LIMIT $1", limit)
        return [(int(r[0]), bytes(r[1])) for r in rows]

    async def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        return await _hashes(self.conn, indexes)

    async def append(self, entries: Sequence[LogEntryRow],
                     hashes: Sequence[tuple[int, bytes]]) -> None:
        await self.conn.execute(
            "WITH entries AS (INSERT INTO log_entries (idx, position, event_hash) "
            "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])), "
            "hashes AS (INSERT INTO log_hashes (idx, hash) "
            "SELECT * FROM unnest($4::bigint[], $5::bytea[])) "
            "DELETE FROM log_queue WHERE position = ANY($2::bigint[])",
            [e.index for e in entries], [e.position for e in entries],
            [e.event_hash for e in entries], [i for i, _ in hashes], [h for _, h in hashes])

    async def write_tile(self, level: int, n: int, width: int, data: bytes) -> None:
        held = self._tiles.get((level, n))  # written with the checkpoint
        if held is None or width > held[0]:
            self._tiles[(level, n)] = (width, data)

    async def last_checkpoint(self) -> StoredCheckpoint | None:
        if self._last:
            return self._last.pop()
        row = await self.conn.fetchrow(
            "SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1")
        return _checkpoint(row) if row else None

    async def write_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        tiles = sorted(self._tiles.items())
        self._tiles.clear()
        self._last.clear()
        await self.conn.execute(
            "WITH tiles AS (INSERT INTO log_tiles (level, n, width, data) "
            "SELECT * FROM unnest($4::integer[], $5::bigint[], $6::integer[], $7::bytea[]) "
            "ON CONFLICT (level, n) DO UPDATE SET width = excluded.width, data = excluded.data "
            "WHERE excluded.width > log_tiles.width), "
            "signed AS (INSERT INTO checkpoints (size, root, note) VALUES ($1, $2, $3)) "
            # Delivered at commit to every process listening (ledger.store.postgres_leases):
            # their read models follow a log grown by this process.
            "SELECT pg_notify($8, $9)",
            checkpoint.size, checkpoint.root, checkpoint.note,
            [level for (level, _), _ in tiles], [n for (_, n), _ in tiles],
            [width for _, (width, _) in tiles], [data for _, (_, data) in tiles],
            LOG_CHANNEL, str(checkpoint.size))


class PostgresLogStore:
    """The log port over a PostgresEventStore's pool, plus one leader connection."""

    def __init__(self, events: PostgresEventStore) -> None:
        self.events = events
        self._pool = MappedPool(events.pool)  # reads: a database away is a PushbackError
        self._leader: asyncpg.Connection | None = None

    async def try_lead(self) -> bool:
        if self._leader is not None and not self._leader.is_closed():
            return True
        if self.events.dsn is None:
            raise LedgerError("the sequencer needs the store's DSN to open its own connection")
        try:
            # Its own connection, outside the pool: the session lock lives exactly as long as
            # this session, and a dead session hands leadership to the next process.
            # Bound like the pool's: a batch is a few bounded statements, and a hung server
            # costs the sequencer this session (resign, back off, connect again), never its
            # loop.
            conn = await asyncpg.connect(self.events.dsn,
                                         **self.events.timeouts.connect_arguments())
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e
        try:
            if await conn.fetchval("SELECT pg_try_advisory_lock($1)", SEQUENCER_LOCK):
                self._leader = conn
                return True
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e
        finally:
            if self._leader is not conn:
                conn.terminate()
        return False

    async def resign(self) -> None:
        if self._leader is not None:
            leader, self._leader = self._leader, None
            if leader.is_closed():
                return
            try:
                await leader.close(timeout=5)
            except (*PG_ERRORS, TimeoutError):
                leader.terminate()

    @asynccontextmanager
    async def sequencing(self) -> AsyncIterator[PostgresBatch]:
        if self._leader is None or self._leader.is_closed():
            raise LedgerError("not the sequencer leader")
        try:
            async with self._leader.transaction():
                yield PostgresBatch(self._leader)
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e

    async def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        try:
            async with self.events.pool.acquire() as conn:
                return await _hashes(conn, indexes)
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e

    async def read_tile(self, level: int, n: int) -> bytes | None:
        value = await self._pool.fetchval(
            "SELECT data FROM log_tiles WHERE level = $1 AND n = $2", level, n)
        return bytes(value) if value is not None else None

    async def read_entries(self, start: int, count: int) -> list[LogEntryRow]:
        rows = await self._pool.fetch(
            "SELECT idx, position, event_hash FROM log_entries WHERE idx >= $1 AND idx < $2 "
            "ORDER BY idx", start, start + count)
        return [LogEntryRow(int(r[0]), int(r[1]), bytes(r[2])) for r in rows]

    async def find_index(self, event_hash: bytes) -> int | None:
        value = await self._pool.fetchval(
            "SELECT idx FROM log_entries WHERE event_hash = $1", event_hash)
        return int(value) if value is not None else None

    async def find_indexes(self, event_hashes: Sequence[bytes]) -> dict[bytes, int]:
        rows = await self._pool.fetch(
            "SELECT event_hash, idx FROM log_entries WHERE event_hash = ANY($1::bytea[])",
            list(set(event_hashes)))
        return {bytes(r[0]): int(r[1]) for r in rows}

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        row = await self._pool.fetchrow(
            "SELECT size, root, note, signed_at FROM checkpoints ORDER BY size DESC LIMIT 1")
        return _signed(row) if row else None

    async def checkpoints(self) -> list[StoredCheckpoint]:
        rows = await self._pool.fetch(
            "SELECT size, root, note FROM checkpoints ORDER BY size")
        return [_checkpoint(r) for r in rows]

    async def read_entry_block(self, start: int, limit: int) -> LogBlock:
        return await self._block(
            "SELECT array_agg(idx), array_agg(position), string_agg(event_hash, ''::bytea) "
            "FROM (SELECT idx, position, event_hash FROM log_entries WHERE idx >= $1 "
            "ORDER BY idx LIMIT $2) s",
            "SELECT idx, position, event_hash FROM log_entries WHERE idx >= $1 ORDER BY idx "
            "LIMIT $2", start, limit, positions=True)

    async def read_hash_block(self, start: int, limit: int) -> LogBlock:
        return await self._block(
            "SELECT array_agg(idx), string_agg(hash, ''::bytea) FROM (SELECT idx, hash "
            "FROM log_hashes WHERE idx >= $1 ORDER BY idx LIMIT $2) s",
            "SELECT idx, hash FROM log_hashes WHERE idx >= $1 ORDER BY idx LIMIT $2",
            start, limit, positions=False)

    async def _block(self, aggregated: str, plain: str, start: int, limit: int, *,
                     positions: bool) -> LogBlock:
        # One row per block: the per-row cost of a million-row read is what the audit is
        # made of. The aggregates all consume the sorted subquery's rows in one pass, so they
        # agree with each other; should an engine ever aggregate out of index order (sorting
        # inside each aggregate would cost a second of database time per million entries),
        # the block is read again as plain rows. The hashes come last in both queries.
        row = await self._pool.fetchrow(aggregated, start, limit)
        if row is None or row[0] is None:
            return LogBlock([], [], b"")
        indexes = list(row[0])
        if indexes == sorted(indexes):
            return LogBlock(indexes, list(row[1]) if positions else [], bytes(row[-1]))
        rows = await self._pool.fetch(plain, start, limit)
        return LogBlock([int(r[0]) for r in rows], [int(r[1]) for r in rows] if positions
                        else [], b"".join(bytes(r[-1]) for r in rows))

    async def read_tile_block(self, level: int, start: int,
                              limit: int) -> list[tuple[int, int, bytes]]:
        rows = await self._pool.fetch(
            "SELECT n, width, data FROM log_tiles WHERE level = $1 AND n >= $2 ORDER BY n "
            "LIMIT $3", level, start, limit)
        return [(int(r[0]), int(r[1]), bytes(r[2])) for r in rows]

    async def read_checkpoint_block(self, after: int, limit: int) -> list[StoredCheckpoint]:
        rows = await self._pool.fetch(
            "SELECT size, root, note FROM checkpoints WHERE size > $1 ORDER BY size LIMIT $2",
            after, limit)
        return [_checkpoint(r) for r in rows]

    async def duplicate_entries(self, limit: int) -> list[tuple[int, int]]:
        rows = await self._pool.fetch(
            "SELECT l.idx, l.position FROM log_entries l JOIN (SELECT position, "
            "min(idx) AS first FROM log_entries GROUP BY position HAVING count(*) > 1) d "
            "ON d.position = l.position WHERE l.idx > d.first ORDER BY l.idx LIMIT $1", limit)
        return [(int(r[0]), int(r[1])) for r in rows]

    async def stream_log_keys(self, stream_ids: Sequence[str], size: int) -> dict[str, int]:
        found: dict[str, int] = {}
        wanted = sorted(set(stream_ids))
        for at in range(0, len(wanted), STREAM_KEY_CHUNK):
            rows = await self._pool.fetch(
                "SELECT e.stream_id::text, max(CASE WHEN l.idx < $2 THEN l.idx "
                "ELSE $2 + e.position END) FROM events e LEFT JOIN log_entries l "
                "ON l.position = e.position WHERE e.stream_id = ANY($1::uuid[]) "
                "GROUP BY e.stream_id", wanted[at:at + STREAM_KEY_CHUNK], size)
            found.update((str(r[0]), int(r[1])) for r in rows)
        return found

    async def indexes_of_positions(self, positions: Sequence[int]) -> dict[int, int]:
        rows = await self._pool.fetch(
            "SELECT position, max(idx) FROM log_entries WHERE position = ANY($1::bigint[]) "
            "GROUP BY position", list(set(positions)))
        return {int(r[0]): int(r[1]) for r in rows}

    async def iterate_tiles(self) -> AsyncIterator[tuple[int, int, int, bytes]]:
        for r in await self._pool.fetch(
                "SELECT level, n, width, data FROM log_tiles ORDER BY level, n"):
            yield int(r[0]), int(r[1]), int(r[2]), bytes(r[3])

    async def log_id(self) -> str:
        return str(await self._pool.fetchval("SELECT log_id FROM log_meta"))

    async def signing_keys(self) -> list[str]:
        rows = await self._pool.fetch("SELECT vkey FROM log_keys ORDER BY added_at, vkey")
        return [str(r[0]) for r in rows]

    async def record_signing_keys(self, vkeys: Sequence[str]) -> None:
        try:
            await self.events.pool.executemany(
                "INSERT INTO log_keys (vkey) VALUES ($1) ON CONFLICT DO NOTHING",
                [(v,) for v in vkeys])
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e
