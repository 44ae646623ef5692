"""Webhook tables on SQLite: the store's one connection, under its write lock (every write
transaction is BEGIN IMMEDIATE, so each is serial already)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite

from ledger.store.projection_sql import for_sqlite
from ledger.store.sqlite import SQLiteEventStore
from ledger.store.sqlite_projections import SQLiteProjectionStore


class SQLiteWebhookTx:
    """Statements inside the store's write transaction."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db

    async def execute(self, sql: str, *args: object) -> None:
        await self.db.execute(for_sqlite(sql), args)

    async def fetch(self, sql: str, *args: object) -> list[Any]:
        cursor = await self.db.execute(for_sqlite(sql), args)
        names = [d[0] for d in cursor.description or ()]
        rows = await cursor.fetchall()
        await cursor.close()
        return [dict(zip(names, row, strict=True)) for row in rows]


class SQLiteWebhookStore:
    """WebhookStore sharing a SQLiteEventStore's connection."""

    dialect = "sqlite"

    def __init__(self, events: SQLiteEventStore) -> None:
        self.events = events
        self._reads = SQLiteProjectionStore(events)

    @asynccontextmanager
    async def transaction(self, serial: bool = False) -> AsyncIterator[SQLiteWebhookTx]:
        async with self.events.transaction() as db:
            yield SQLiteWebhookTx(db)

    async def fetch(self, sql: str, *args: object) -> list[Any]:
        return await self._reads.fetch(sql, *args)
