"""A ledger from before sign-in links keeps its principal history through the upgrade that
teaches the history three more acts (SQLite rebuilds the table: same rows, same order, still
append-only), on both stores."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
import pytest

from ledger.store import postgres_schema, sqlite_schema
from ledger.store.factory import principal_store_for
from ledger.store.port import EventStore
from ledger.store.postgres import PostgresEventStore
from ledger.store.sqlite import SQLiteEventStore
from tests.integration.operator import PostgresOperator, SQLiteOperator
from tests.support.sign_in_links import NOW, issue_link


def _before_links(migrations: tuple[str, ...]) -> tuple[str, ...]:
    index = next(i for i, m in enumerate(migrations) if "CREATE TABLE sign_in_links" in m)
    return migrations[:index]


async def _check_upgraded(store: EventStore) -> None:
    await store.migrate()
    principals = principal_store_for(store)
    before = await principals.history("old.timer")
    assert [(e.seq, e.action) for e in before] == [(1, "principal_deactivated")]
    link_hash, _ = await issue_link(principals)
    assert await principals.redeem_sign_in_link(link_hash, NOW, None, None) is not None
    after = await principals.history("zhao.min")
    assert [e.action for e in after] == ["sign_in_link_issued", "sign_in_link_used"]
    assert min(e.seq for e in after) > 1  # numbering goes on after the rows kept


async def test_an_older_sqlite_ledger_keeps_its_history_and_learns_the_link_acts(
        tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER)")
    for number, script in enumerate(_before_links(sqlite_schema.MIGRATIONS), start=1):
        db.executescript(script)
        db.execute("INSERT INTO schema_version VALUES (?)", (number,))
    db.execute("INSERT INTO principals (id, name, roles) VALUES ('old.timer', 'O', 'employee')")
    db.execute("INSERT INTO principals (id, name, roles) VALUES ('zhao.min', 'Z', 'employee')")
    db.execute("INSERT INTO principal_history (principal_id, action, actor_id, actor_role) "
               "VALUES ('old.timer', 'principal_deactivated', 'op.ma', 'operator')")
    db.commit()
    db.close()
    store = await SQLiteEventStore.connect(path)
    try:
        await _check_upgraded(store)
    finally:
        await store.close()
    with pytest.raises(Exception, match="append-only"):
        await SQLiteOperator(path).try_sql("DELETE FROM principal_history")


async def test_an_older_postgres_ledger_keeps_its_history_and_learns_the_link_acts(
        pg_dsn: str) -> None:
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute("CREATE TABLE schema_version (version INTEGER)")
        for number, script in enumerate(_before_links(postgres_schema.MIGRATIONS), start=1):
            await conn.execute(script)
            await conn.execute("INSERT INTO schema_version VALUES ($1)", number)
        await conn.execute("INSERT INTO principals (id, name, roles) VALUES "
                           "('old.timer', 'O', 'employee'), ('zhao.min', 'Z', 'employee')")
        await conn.execute("INSERT INTO principal_history (principal_id, action, actor_id, "
                           "actor_role) VALUES ('old.timer', 'principal_deactivated', "
                           "'op.ma', 'operator')")
    finally:
        await conn.close()
    store = await PostgresEventStore.connect(pg_dsn)
    try:
        await _check_upgraded(store)
    finally:
        await store.close()
    with pytest.raises(Exception, match="append-only"):
        await PostgresOperator(pg_dsn).try_sql("DELETE FROM principal_history")
