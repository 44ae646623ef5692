"""A rogue operator with direct database access: disables the guards and edits rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg


class SQLiteOperator:
    """Direct sqlite3 access to a ledger file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.checks = True

    def _run(self, sql: str, *args: object) -> None:
        with sqlite3.connect(self.path) as conn:
            if not self.checks:
                conn.execute("PRAGMA ignore_check_constraints = ON")
            conn.execute(sql, args)

    async def bypass_length_checks(self) -> None:
        self.checks = False

    async def try_sql(self, sql: str) -> None:
        self._run(sql)

    async def disable_guards(self) -> None:
        with sqlite3.connect(self.path) as conn:
            names = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'")]
            for name in names:
                conn.execute(f'DROP TRIGGER "{name}"')

    async def rewrite_hash(self, index: int, value: bytes) -> None:
        self._run("UPDATE log_hashes SET hash = ? WHERE idx = ?", value, index)

    async def set_tile(self, level: int, n: int, data: bytes) -> None:
        self._run("UPDATE log_tiles SET data = ? WHERE level = ? AND n = ?", data, level, n)

    async def insert_checkpoint(self, size: int, root: bytes, note: bytes) -> None:
        self._run("INSERT INTO checkpoints (size, root, note) VALUES (?, ?, ?)", size, root, note)

    async def set_log_entry(self, index: int, event_hash: bytes) -> None:
        self._run("UPDATE log_entries SET event_hash = ? WHERE idx = ?", event_hash, index)

    async def set_row(self, position: int, entry: bytes, event_hash: bytes) -> None:
        self._run("UPDATE events SET entry = ?, event_hash = ? WHERE position = ?",
                  entry, event_hash, position)

    async def delete_row(self, position: int) -> None:
        self._run("DELETE FROM log_queue WHERE position = ?", position)
        self._run("DELETE FROM events WHERE position = ?", position)


class PostgresOperator:
    """Direct asyncpg access to a ledger database."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    async def _run(self, sql: str, *args: object) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute(sql, *args)
        finally:
            await conn.close()

    async def try_sql(self, sql: str) -> None:
        await self._run(sql)

    async def disable_guards(self) -> None:
        for table in ("events", "log_entries", "log_hashes", "checkpoints"):
            await self._run(f"ALTER TABLE {table} DISABLE TRIGGER USER")

    async def bypass_length_checks(self) -> None:
        for table, column in (("log_entries", "event_hash"), ("log_hashes", "hash")):
            await self._run(f"ALTER TABLE {table} DROP CONSTRAINT {table}_{column}_check")

    async def rewrite_hash(self, index: int, value: bytes) -> None:
        await self._run("UPDATE log_hashes SET hash = $1 WHERE idx = $2", value, index)

    async def set_tile(self, level: int, n: int, data: bytes) -> None:
        await self._run("UPDATE log_tiles SET data = $1 WHERE level = $2 AND n = $3",
                        data, level, n)

    async def insert_checkpoint(self, size: int, root: bytes, note: bytes) -> None:
        await self._run("INSERT INTO checkpoints (size, root, note) VALUES ($1, $2, $3)",
                        size, root, note)

    async def set_log_entry(self, index: int, event_hash: bytes) -> None:
        await self._run("UPDATE log_entries SET event_hash = $1 WHERE idx = $2", event_hash,
                        index)

    async def set_row(self, position: int, entry: bytes, event_hash: bytes) -> None:
        await self._run("UPDATE events SET entry = $1, event_hash = $2 WHERE position = $3",
                        entry, event_hash, position)

    async def delete_row(self, position: int) -> None:
        await self._run("DELETE FROM log_queue WHERE position = $1", position)
        await self._run("DELETE FROM events WHERE position = $1", position)


Operator = SQLiteOperator | PostgresOperator
