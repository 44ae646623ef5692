"""The asyncpg pool of the PostgreSQL adapters, its waits bound by DatabaseTimeouts
(ledger.store.timeouts)."""

from __future__ import annotations

from typing import Any

import asyncpg

from ledger.store.timeouts import DatabaseTimeouts


class TimedPool(asyncpg.Pool):  # type: ignore[misc]  # asyncpg ships no type hints
    """An asyncpg pool whose ``acquire`` waits at most ``acquire_timeout`` seconds unless told
    otherwise; its ``fetch``/``execute`` helpers acquire through it, so they are bound too."""

    def __init__(self, dsn: str, *, acquire_timeout: float | None, **pool_arguments: Any) -> None:
        super().__init__(dsn, **pool_arguments)
        self._acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> Any:
        return super().acquire(timeout=self._acquire_timeout if timeout is None else timeout)


async def create_pool(dsn: str, timeouts: DatabaseTimeouts, *, min_size: int, max_size: int,
                      **pool_arguments: Any) -> asyncpg.Pool:
    """A started pool to ``dsn`` bound by ``timeouts`` (asyncpg.create_pool's defaults
    otherwise); raises what asyncpg raises when the first connections fail."""
    pool = TimedPool(dsn, acquire_timeout=timeouts.acquire, min_size=min_size,
                     max_size=max_size, max_queries=50_000,
                     max_inactive_connection_lifetime=300.0, loop=None,
                     connection_class=asyncpg.Connection, record_class=asyncpg.Record,
                     **timeouts.connect_arguments(), **pool_arguments)
    return await pool
