"""PostgreSQL adapter of the session port."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ledger.errors import NotFoundError
from ledger.principals import Principal
from ledger.sessions import ConsoleSession
from ledger.store.postgres import PG_ERRORS, PostgresEventStore, map_postgres_error
from ledger.store.postgres_principals import execute_mapped
from ledger.store.session_port import touch_granularity

_FIND = """
    SELECT p.id, p.name, p.roles, s.role, s.method, s.created_at, s.expires_at, s.last_seen_at
    FROM console_sessions s JOIN principals p ON p.id = s.principal_id
    WHERE s.session_hash = $1 AND p.active AND s.expires_at > $2 AND s.last_seen_at > $3
      AND s.role = ANY (string_to_array(p.roles, ','))
      AND (s.token_hash IS NULL OR EXISTS (SELECT 1 FROM tokens t WHERE t.token_hash =
           s.token_hash AND NOT t.revoked AND t.expires_at > $2))
"""


class PostgresSessionStore:
    """Console sessions in the ledger's PostgreSQL database."""

    def __init__(self, events: PostgresEventStore) -> None:
        self.pool = events.pool

    async def _execute(self, sql: str, *args: object) -> str:
        return await execute_mapped(self.pool, sql, *args)

    async def add_session(self, session_hash: bytes, principal_id: str, role: str,
                          method: str, now: dt.datetime, expires_at: dt.datetime,
                          token_hash: bytes | None = None) -> None:
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                if await conn.fetchval("SELECT 1 FROM principals WHERE id = $1",
                                       principal_id) is None:
                    raise NotFoundError(f"principal {principal_id!r} not found")
                await conn.execute("DELETE FROM console_sessions WHERE expires_at <= $1", now)
                await conn.execute(
                    "INSERT INTO console_sessions (session_hash, principal_id, role, method, "
                    "created_at, last_seen_at, expires_at, token_hash) "
                    "VALUES ($1, $2, $3, $4, $5, $5, $6, $7)",
                    session_hash, principal_id, role, method, now, expires_at, token_hash)
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e

    async def touch_session(self, session_hash: bytes, now: dt.datetime,
                            idle: dt.timedelta, *, touch: bool = True) -> ConsoleSession | None:
        try:
            row: Any = await self.pool.fetchrow(_FIND, session_hash, now, now - idle)
            if touch and row is not None and row[7] < now - touch_granularity(idle):
                await self.pool.execute(
                    "UPDATE console_sessions SET last_seen_at = $2 "
                    "WHERE session_hash = $1 AND last_seen_at < $2", session_hash, now)
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e
        if row is None:
            return None
        principal = Principal(row[0], row[1], tuple(row[2].split(",")))
        return ConsoleSession(principal, row[3], row[4], row[5], row[6])

    async def set_role(self, session_hash: bytes, role: str) -> bool:
        status = await self._execute(
            "UPDATE console_sessions SET role = $2 WHERE session_hash = $1", session_hash, role)
        return status.endswith(" 1")

    async def delete_session(self, session_hash: bytes) -> bool:
        status = await self._execute("DELETE FROM console_sessions WHERE session_hash = $1",
                                     session_hash)
        return status.endswith(" 1")

    async def delete_sessions_of(self, principal_id: str) -> int:
        status = await self._execute("DELETE FROM console_sessions WHERE principal_id = $1",
                                     principal_id)
        return int(status.rsplit(" ", 1)[1])
