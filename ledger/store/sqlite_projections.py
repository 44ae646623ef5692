"""Projections on SQLite: the store's one connection, under its write lock."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import aiosqlite

from ledger.entry import format_time
from ledger.store.port import StoredEvent
from ledger.store.projection_port import LoggedEvent, ProjectionState
from ledger.store.projection_sql import READ_LOG, STATE_COLUMNS, for_sqlite
from ledger.store.sqlite import SQLiteEventStore, map_sqlite_error


def _bound(args: Sequence[object]) -> tuple[object, ...]:
    """Parameters as SQLite stores them: a UUID as its text (PostgreSQL binds it as is)."""
    return tuple(str(a) if isinstance(a, UUID) else a for a in args)


async def _rows(db: aiosqlite.Connection, sql: str, args: Sequence[object]) -> list[Any]:
    cursor = await db.execute(for_sqlite(sql), _bound(args))
    names = [d[0] for d in cursor.description or ()]
    rows = await cursor.fetchall()
    await cursor.close()
    return [dict(zip(names, row, strict=True)) for row in rows]


def _now() -> str:
    return format_time(dt.datetime.now(dt.UTC))


def _state(row: Any) -> ProjectionState:
    return ProjectionState(row["name"], int(row["position"]), int(row["generation"]),
                           row["error"], row["updated_at"])


class SQLiteProjectionTx:
    """One projection batch inside the store's write transaction."""

    def __init__(self, db: aiosqlite.Connection, state: ProjectionState) -> None:
        self.db = db
        self.state = state

    async def execute(self, sql: str, *args: object) -> None:
        await self.db.execute(for_sqlite(sql), _bound(args))

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        await self.db.executemany(for_sqlite(sql), [_bound(r) for r in rows])

    async def fetch(self, sql: str, *args: object) -> list[Any]:
        return await _rows(self.db, sql, args)

    async def read_log(self, start: int, limit: int) -> list[LoggedEvent]:
        rows = await self.db.execute_fetchall(for_sqlite(READ_LOG), (start, limit))
        return [LoggedEvent(int(r[0]), StoredEvent(
            position=r[1], event_id=UUID(r[2]), stream_type=r[3], stream_id=UUID(r[4]),
            version=r[5], event_type=r[6], entry=bytes(r[7]), event_hash=bytes(r[8])))
            for r in rows]

    async def advance(self, position: int) -> None:
        await self.execute("UPDATE projection_state SET position = $1, updated_at = $2 "
                           "WHERE name = $3", position, _now(), self.state.name)

    async def switch_generation(self, generation: int, position: int) -> None:
        await self.execute("UPDATE projection_state SET generation = $1, position = $2, "
                           "error = NULL, updated_at = $3 WHERE name = $4",
                           generation, position, _now(), self.state.name)


class SQLiteProjectionStore:
    """ProjectionStore sharing a SQLiteEventStore's connection."""

    dialect = "sqlite"

    def __init__(self, events: SQLiteEventStore) -> None:
        self.events = events

    @asynccontextmanager
    async def transaction(self, name: str) -> AsyncIterator[SQLiteProjectionTx | None]:
        async with self.events.transaction() as db:
            select = f"SELECT {STATE_COLUMNS} FROM projection_state WHERE name = $1"
            rows = await _rows(db, select, (name,))
            if not rows:  # the first time: the row is made in this transaction
                await db.execute("INSERT INTO projection_state (name, position, generation, "
                                 "updated_at) VALUES (?, 0, 1, ?)", (name, _now()))
                rows = await _rows(db, select, (name,))
            yield SQLiteProjectionTx(db, _state(rows[0]))

    async def fetch(self, sql: str, *args: object) -> list[Any]:
        async with self.events.lock:
            try:
                return await _rows(self.events.db, sql, args)
            except sqlite3.Error as e:
                raise map_sqlite_error(e) from e

    async def states(self) -> list[ProjectionState]:
        return [_state(r) for r in await self.fetch(
            f"SELECT {STATE_COLUMNS} FROM projection_state ORDER BY name")]

    async def record_error(self, name: str, error: str | None) -> None:
        async with self.events.transaction() as db:
            await db.execute("UPDATE projection_state SET error = ?, updated_at = ? "
                             "WHERE name = ?", (error, _now(), name))

    async def log_size(self) -> int:
        rows = await self.fetch("SELECT coalesce(max(idx) + 1, 0) AS n FROM log_entries")
        return int(rows[0]["n"])
