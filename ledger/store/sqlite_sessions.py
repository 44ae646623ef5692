"""SQLite adapter of the session port."""

from __future__ import annotations

import datetime as dt

from ledger.entry import format_time
from ledger.errors import NotFoundError
from ledger.principals import Principal
from ledger.sessions import ConsoleSession
from ledger.store.session_port import touch_granularity
from ledger.store.sqlite import SQLiteEventStore


class SQLiteSessionStore:
    """Console sessions in the ledger's SQLite file."""

    def __init__(self, events: SQLiteEventStore) -> None:
        self.events = events

    async def add_session(self, session_hash: bytes, principal_id: str, role: str,
                          method: str, now: dt.datetime, expires_at: dt.datetime,
                          token_hash: bytes | None = None) -> None:
        async with self.events.transaction() as db:
            known = list(await db.execute_fetchall(
                "SELECT 1 FROM principals WHERE id = ?", (principal_id,)))
            if not known:
                raise NotFoundError(f"principal {principal_id!r} not found")
            await db.execute("DELETE FROM console_sessions WHERE expires_at <= ?",
                             (format_time(now),))
            await db.execute(
                "INSERT INTO console_sessions (session_hash, principal_id, role, method, "
                "created_at, last_seen_at, expires_at, token_hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (session_hash, principal_id, role, method, format_time(now), format_time(now),
                 format_time(expires_at), token_hash))

    async def touch_session(self, session_hash: bytes, now: dt.datetime,
                            idle: dt.timedelta, *, touch: bool = True) -> ConsoleSession | None:
        rows = await self.events.fetch(
            "SELECT p.id, p.name, p.roles, s.role, s.method, s.created_at, s.expires_at, "
            "s.last_seen_at FROM console_sessions s JOIN principals p ON p.id = s.principal_id "
            "LEFT JOIN tokens t ON t.token_hash = s.token_hash "
            "WHERE s.session_hash = ? AND p.active AND s.expires_at > ? "
            "AND s.last_seen_at > ? AND (s.token_hash IS NULL OR "
            "(NOT t.revoked AND t.expires_at > ?))",
            (session_hash, format_time(now), format_time(now - idle), format_time(now)))
        if not rows:
            return None
        row = rows[0]
        principal = Principal(row[0], row[1], tuple(row[2].split(",")))
        if row[3] not in principal.roles:
            return None
        if touch and dt.datetime.fromisoformat(row[7]) < now - touch_granularity(idle):
            async with self.events.transaction() as db:
                await db.execute("UPDATE console_sessions SET last_seen_at = ? "
                                 "WHERE session_hash = ? AND last_seen_at < ?",
                                 (format_time(now), session_hash, format_time(now)))
        return ConsoleSession(principal, row[3], row[4], dt.datetime.fromisoformat(row[5]),
                              dt.datetime.fromisoformat(row[6]))

    async def set_role(self, session_hash: bytes, role: str) -> bool:
        async with self.events.transaction() as db:
            cursor = await db.execute(
                "UPDATE console_sessions SET role = ? WHERE session_hash = ?",
                (role, session_hash))
            return cursor.rowcount == 1

    async def delete_session(self, session_hash: bytes) -> bool:
        async with self.events.transaction() as db:
            cursor = await db.execute("DELETE FROM console_sessions WHERE session_hash = ?",
                                      (session_hash,))
            return cursor.rowcount == 1

    async def delete_sessions_of(self, principal_id: str) -> int:
        async with self.events.transaction() as db:
            cursor = await db.execute("DELETE FROM console_sessions WHERE principal_id = ?",
                                      (principal_id,))
            return int(cursor.rowcount)
