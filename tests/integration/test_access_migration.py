"""A ledger created before tokens expired gains token ids and expiries on upgrade (both
stores): its tokens keep working until 90 days after they were issued, but never stop sooner
than 30 days after the upgrade (an operator's year-old token is not cut off by it)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import asyncpg

from ledger.principals import TOKEN_ID_PATTERN, hash_token
from ledger.store import postgres_schema, sqlite_schema
from ledger.store.factory import principal_store_for
from ledger.store.port import EventStore
from ledger.store.postgres import PostgresEventStore
from ledger.store.sqlite import SQLiteEventStore

TOKEN = "hl_an-old-token-from-before-the-upgrade"  # noqa: S105 - a test value


def _before_access(migrations: tuple[str, ...]) -> tuple[str, ...]:
    """The migrations before the one that added expiries (wherever it sits after merges)."""
    index = next(i for i, m in enumerate(migrations) if "principal_history" in m)
    return migrations[:index]


async def _check_upgraded(store: EventStore) -> None:
    await store.migrate()
    principals = principal_store_for(store)
    [token] = await principals.list_tokens("old.timer")
    assert TOKEN_ID_PATTERN.fullmatch(token.token_id)
    assert token.expires_at - token.created_at == dt.timedelta(days=90)
    assert (await principals.get_principal("old.timer")).active is True
    [year_old] = await principals.list_tokens("older.timer")
    grace = year_old.expires_at - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=29) < grace <= dt.timedelta(days=30)
    now = dt.datetime.now(dt.UTC)
    assert await principals.principal_for_token(hash_token(TOKEN), now=now) is not None
    assert await principals.principal_for_token(
        hash_token(TOKEN), now=now + dt.timedelta(days=91)) is None


async def test_an_older_sqlite_ledger_gains_token_ids_and_expiries(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER)")
    for number, script in enumerate(_before_access(sqlite_schema.MIGRATIONS), start=1):
        db.executescript(script)
        db.execute("INSERT INTO schema_version VALUES (?)", (number,))
    db.execute("INSERT INTO principals (id, name, roles) VALUES ('old.timer', 'O', 'hr')")
    db.execute("INSERT INTO tokens (token_hash, principal_id, label) VALUES (?, ?, 'old')",
               (hash_token(TOKEN), "old.timer"))
    db.execute("INSERT INTO principals (id, name, roles) VALUES ('older.timer', 'O', 'hr')")
    db.execute("INSERT INTO tokens (token_hash, principal_id, label, created_at) VALUES "
               "(?, ?, 'older', '2025-11-01T00:00:00.000Z')",
               (hash_token(TOKEN + "-older"), "older.timer"))
    db.commit()
    db.close()
    store = await SQLiteEventStore.connect(path)
    try:
        await _check_upgraded(store)
    finally:
        await store.close()


async def test_an_older_postgres_ledger_gains_token_ids_and_expiries(pg_dsn: str) -> None:
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute("CREATE TABLE schema_version (version INTEGER)")
        for number, script in enumerate(_before_access(postgres_schema.MIGRATIONS), start=1):
            await conn.execute(script)
            await conn.execute("INSERT INTO schema_version VALUES ($1)", number)
        await conn.execute("INSERT INTO principals (id, name, roles) VALUES "
                           "('old.timer', 'O', 'hr')")
        await conn.execute("INSERT INTO tokens (token_hash, principal_id, label) VALUES "
                           "($1, 'old.timer', 'old')", hash_token(TOKEN))
        await conn.execute("INSERT INTO principals (id, name, roles) VALUES "
                           "('older.timer', 'O', 'hr')")
        await conn.execute("INSERT INTO tokens (token_hash, principal_id, label, created_at) "
                           "VALUES ($1, 'older.timer', 'older', now() - interval '1 year')",
                           hash_token(TOKEN + "-older"))
    finally:
        await conn.close()
    store = await PostgresEventStore.connect(pg_dsn)
    try:
        await _check_upgraded(store)
    finally:
        await store.close()
