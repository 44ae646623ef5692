"""PostgreSQL adapter of the failed-authentication port."""

from __future__ import annotations

from ledger.store.postgres import PG_ERRORS, PostgresEventStore, map_postgres_error


class PostgresAuthFailureStore:
    """Failed authentications in the ledger's PostgreSQL database."""

    def __init__(self, events: PostgresEventStore) -> None:
        self.pool = events.pool

    async def recent_failures(self, client: str, since: float, limit: int) -> list[float]:
        try:
            rows = await self.pool.fetch(
                "SELECT failed_at FROM auth_failures WHERE client = $1 AND failed_at > $2 "
                "ORDER BY failed_at DESC LIMIT $3", client, since, limit)
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e
        return [float(r[0]) for r in rows]

    async def add_failure(self, client: str, at: float, forget_before: float) -> None:
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute("DELETE FROM auth_failures WHERE failed_at <= $1",
                                   forget_before)
                await conn.execute(
                    "INSERT INTO auth_failures (client, failed_at) VALUES ($1, $2)", client, at)
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e
