"""Projections on PostgreSQL: one pooled connection per batch, the projection's row locked
(``FOR UPDATE SKIP LOCKED``), so with several server processes one applies a batch while the
others skip the turn and serve reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg

from ledger.entry import format_time
from ledger.store.port import StoredEvent
from ledger.store.postgres import PG_ERRORS, PostgresEventStore, fetch_dicts, map_postgres_error
from ledger.store.projection_port import LoggedEvent, ProjectionState
from ledger.store.projection_sql import READ_LOG, STATE_COLUMNS

_ERRORS = PG_ERRORS
T = TypeVar("T")


def _now() -> str:
    return format_time(dt.datetime.now(dt.UTC))


def _state(row: Any) -> ProjectionState:
    return ProjectionState(row["name"], int(row["position"]), int(row["generation"]),
                           row["error"], row["updated_at"])


async def _mapped(call: Awaitable[T]) -> T:
    """``call``'s value, a driver error mapped: a connection lost mid-batch is the
    PushbackError of an unavailable database, which the runner retries, not an event the
    projection cannot apply (ledger.projections.runner.apply_batch)."""
    try:
        return await call
    except _ERRORS as e:
        raise map_postgres_error(e) from e


class PostgresProjectionTx:
    """One projection batch in one PostgreSQL transaction."""

    def __init__(self, conn: asyncpg.Connection, state: ProjectionState) -> None:
        self.conn = conn
        self.state = state

    async def execute(self, sql: str, *args: object) -> None:
        await _mapped(self.conn.execute(sql, *args))

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        await _mapped(self.conn.executemany(sql, rows))

    async def fetch(self, sql: str, *args: object) -> list[Any]:
        return [dict(r) for r in await _mapped(self.conn.fetch(sql, *args))]

    async def read_log(self, start: int, limit: int) -> list[LoggedEvent]:
        rows = await _mapped(self.conn.fetch(READ_LOG, start, limit))
        return [LoggedEvent(int(r[0]), StoredEvent(
            position=r[1], event_id=r[2], stream_type=r[3], stream_id=r[4], version=r[5],
            event_type=r[6], entry=bytes(r[7]), event_hash=bytes(r[8]))) for r in rows]

    async def advance(self, position: int) -> None:
        await self.execute("UPDATE projection_state SET position = $1, updated_at = $2 "
                           "WHERE name = $3", position, _now(), self.state.name)

    async def switch_generation(self, generation: int, position: int) -> None:
        await self.execute("UPDATE projection_state SET generation = $1, position = $2, "
                           "error = NULL, updated_at = $3 WHERE name = $4",
                           generation, position, _now(), self.state.name)


class PostgresProjectionStore:
    """ProjectionStore sharing a PostgresEventStore's pool."""

    dialect = "postgres"

    def __init__(self, events: PostgresEventStore) -> None:
        self.pool = events.pool

    @asynccontextmanager
    async def transaction(self, name: str) -> AsyncIterator[PostgresProjectionTx | None]:
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                lock = (f"SELECT {STATE_COLUMNS} FROM projection_state WHERE name = $1 "
                        "FOR UPDATE SKIP LOCKED")
                row = await conn.fetchrow(lock, name)
                if row is None and not await conn.fetchval(
                        "SELECT 1 FROM projection_state WHERE name = $1", name):
                    await conn.execute("INSERT INTO projection_state (name, position, "
                                       "generation, updated_at) VALUES ($1, 0, 1, $2) "
                                       "ON CONFLICT (name) DO NOTHING", name, _now())
                    row = await conn.fetchrow(lock, name)
                yield None if row is None else PostgresProjectionTx(conn, _state(row))
        except _ERRORS as e:
            raise map_postgres_error(e) from e

    async def fetch(self, sql: str, *args: object) -> list[Any]:
        return await fetch_dicts(self.pool, sql, *args)

    async def states(self) -> list[ProjectionState]:
        return [_state(r) for r in await self.fetch(
            f"SELECT {STATE_COLUMNS} FROM projection_state ORDER BY name")]

    async def record_error(self, name: str, error: str | None) -> None:
        try:
            await self.pool.execute("UPDATE projection_state SET error = $1, updated_at = $2 "
                                    "WHERE name = $3", error, _now(), name)
        except _ERRORS as e:
            raise map_postgres_error(e) from e

    async def log_size(self) -> int:
        rows = await self.fetch("SELECT coalesce(max(idx) + 1, 0) AS n FROM log_entries")
        return int(rows[0]["n"])
