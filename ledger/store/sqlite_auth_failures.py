"""SQLite adapter of the failed-authentication port."""

from __future__ import annotations

from ledger.store.sqlite import SQLiteEventStore


class SQLiteAuthFailureStore:
    """Failed authentications in the ledger's SQLite file."""

    def __init__(self, events: SQLiteEventStore) -> None:
        self.events = events

    async def recent_failures(self, client: str, since: float, limit: int) -> list[float]:
        rows = await self.events.fetch(
            "SELECT failed_at FROM auth_failures WHERE client = ? AND failed_at > ? "
            "ORDER BY failed_at DESC LIMIT ?", (client, since, limit))
        return [float(r[0]) for r in rows]

    async def add_failure(self, client: str, at: float, forget_before: float) -> None:
        async with self.events.transaction() as db:
            await db.execute("DELETE FROM auth_failures WHERE failed_at <= ?", (forget_before,))
            await db.execute("INSERT INTO auth_failures (client, failed_at) VALUES (?, ?)",
                             (client, at))
