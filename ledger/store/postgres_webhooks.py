"""Webhook tables on PostgreSQL: one pooled connection per transaction; a serial one first
takes a transaction-scoped advisory lock, so claims from several processes take turns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from ledger.store.postgres import PG_ERRORS, PostgresEventStore, fetch_dicts, map_postgres_error

_ERRORS = PG_ERRORS
_CLAIM_LOCK = 0x57484B53  # "WHKS": the dispatchers' claim turn


class PostgresWebhookTx:
    """Statements inside one PostgreSQL transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, *args: object) -> None:
        await self.conn.execute(sql, *args)

    async def fetch(self, sql: str, *args: object) -> list[Any]:
        return [dict(r) for r in await self.conn.fetch(sql, *args)]


class PostgresWebhookStore:
    """WebhookStore sharing a PostgresEventStore's pool."""

    dialect = "postgres"

    def __init__(self, events: PostgresEventStore) -> None:
        self.pool = events.pool

    @asynccontextmanager
    async def transaction(self, serial: bool = False) -> AsyncIterator[PostgresWebhookTx]:
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                if serial:
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", _CLAIM_LOCK)
                yield PostgresWebhookTx(conn)
        except _ERRORS as e:
            raise map_postgres_error(e) from e

    async def fetch(self, sql: str, *args: object) -> list[Any]:
        return await fetch_dicts(self.pool, sql, *args)
