"""What keeps a process's token cache (ledger.store.token_cache) true on PostgreSQL: a session
of its own LISTENs on ``PRINCIPALS_CHANNEL``, which every change that can end a token's use
(revoking one or all of a principal's tokens, deactivating the principal) NOTIFYs in its own
transaction, so the notice arrives when the change commits, in every process.

The cache answers only while that session is known to be alive: from the moment it listens
until it is lost (its termination, or a check that fails or takes over ``CHECK_TIMEOUT``; one
runs every ``CHECK_SECONDS``); meanwhile, and in any process that does not run this worker
(the CLI), every request looks its token up.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg

from ledger.store.postgres import PG_ERRORS, map_postgres_error
from ledger.store.token_cache import TokenCache
from ledger.workers import LoopWorker, WorkerHealth

log = logging.getLogger("ledger.auth")
PRINCIPALS_CHANNEL = "ledger_principals"
NOTIFY_CHANGE = f"SELECT pg_notify('{PRINCIPALS_CHANNEL}', '')"
CHECK_SECONDS = 1.0
CHECK_TIMEOUT = 1.0


class PostgresTokenFeed:
    """The worker that listens for token changes and turns ``cache`` on while it does."""

    def __init__(self, dsn: str, cache: TokenCache) -> None:
        self._dsn = dsn
        self.cache = cache
        self._conn: asyncpg.Connection | None = None
        self.worker = LoopWorker("token-cache", self._step, idle_seconds=CHECK_SECONDS)

    @property
    def name(self) -> str:
        return self.worker.name

    async def start(self) -> None:
        await self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()
        self.cache.disable()
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await conn.close(timeout=CHECK_TIMEOUT)
            except (*PG_ERRORS, TimeoutError):
                conn.terminate()

    def health(self) -> WorkerHealth:
        # Never unready: without the session every request looks its token up, as before.
        detail = ("caching verified tokens" if self.cache.enabled
                  else "not caching: every request looks its token up")
        inner = self.worker.health()
        if not inner.ok:
            detail += f" ({inner.detail})"
        return WorkerHealth(self.name, True, detail)

    async def _step(self) -> int:
        conn = self._conn
        if conn is None or conn.is_closed():
            self._lost()
            await self._listen()
            return 0
        try:
            await conn.fetchval("SELECT 1", timeout=CHECK_TIMEOUT)
        except (*PG_ERRORS, TimeoutError) as e:
            self._lost()
            raise map_postgres_error(e) from e
        return 0

    async def _listen(self) -> None:
        try:
            conn = await asyncpg.connect(self._dsn, timeout=CHECK_TIMEOUT * 5)
        except (*PG_ERRORS, TimeoutError) as e:
            raise map_postgres_error(e) from e
        try:
            await conn.add_listener(PRINCIPALS_CHANNEL, self._changed)
        except (*PG_ERRORS, TimeoutError) as e:
            conn.terminate()
            raise map_postgres_error(e) from e
        conn.add_termination_listener(self._ended)
        self._conn = conn
        self.cache.enable()
        log.info("token cache on: listening for %s", PRINCIPALS_CHANNEL)

    def _changed(self, *_: Any) -> None:
        self.cache.invalidate()

    def _off(self) -> None:
        """Stop the cache, saying so once (a lost session is otherwise only in /readyz)."""
        if self.cache.enabled:
            log.warning("token cache off: the session listening for %s was lost; every "
                        "request looks its token up until it listens again", PRINCIPALS_CHANNEL)
        self.cache.disable()

    def _ended(self, _: Any) -> None:
        self._off()

    def _lost(self) -> None:
        self._off()
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()  # no goodbye needed: nothing of it is kept
