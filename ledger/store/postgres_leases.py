"""PostgreSQL adapter of the leadership port: session-level advisory locks and LISTEN on one
connection outside the pool (pooled connections hold no session state)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from ledger.errors import LedgerError
from ledger.store.postgres import PG_ERRORS, map_postgres_error
from ledger.store.postgres_log import LOG_CHANNEL

log = logging.getLogger("ledger.leadership")
CHECK_TIMEOUT = 2.0  # seconds a live session answers ``SELECT 1`` in, or counts as lost


def lock_key(role: str) -> int:
    """The advisory lock (one bigint key: a space apart from the per-stream two-int keys of
    ``ledger_append``) that stands for ``role``."""
    digest = hashlib.sha256(b"handover-ledger lead " + role.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresLeaseStore:
    """LeaseStore on a connection of its own to ``dsn``."""

    def __init__(self, dsn: str, connect_timeout: float = CHECK_TIMEOUT * 2) -> None:
        self._dsn = dsn
        self._connect_timeout = connect_timeout
        self._conn: asyncpg.Connection | None = None

    async def open(self, on_lost: Callable[[], None], on_log_grown: Callable[[], None]) -> None:
        await self.close()
        try:
            # LISTEN too is bound: a hung server fails the open, which is retried
            conn = await asyncpg.connect(self._dsn, timeout=self._connect_timeout,
                                         command_timeout=CHECK_TIMEOUT)
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e

        def grown(*_: Any) -> None:
            on_log_grown()

        def ended(_: Any) -> None:
            on_lost()

        try:
            await conn.add_listener(LOG_CHANNEL, grown)
        except PG_ERRORS as e:
            conn.terminate()
            raise map_postgres_error(e) from e
        conn.add_termination_listener(ended)
        self._conn = conn

    def _open(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            raise LedgerError("the leadership session is closed")
        return self._conn

    async def check(self) -> None:
        try:
            await self._open().fetchval("SELECT 1", timeout=CHECK_TIMEOUT)
        except (*PG_ERRORS, TimeoutError) as e:
            raise map_postgres_error(e) from e

    async def try_take(self, role: str) -> bool:
        try:
            return bool(await self._open().fetchval("SELECT pg_try_advisory_lock($1)",
                                                    lock_key(role), timeout=CHECK_TIMEOUT))
        except (*PG_ERRORS, TimeoutError) as e:
            raise map_postgres_error(e) from e

    async def give_up(self, role: str) -> None:
        try:
            await self._open().fetchval("SELECT pg_advisory_unlock($1)", lock_key(role),
                                        timeout=CHECK_TIMEOUT)
        except (*PG_ERRORS, TimeoutError) as e:
            raise map_postgres_error(e) from e

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None or conn.is_closed():
            return
        try:
            await conn.close(timeout=CHECK_TIMEOUT)
        except (*PG_ERRORS, TimeoutError) as e:
            log.info("leadership session did not close cleanly: %r", e)
            conn.terminate()
