"""scripts/load_autovacuum.py on a real PostgreSQL database: like autovacuum, a turn vacuums
and analyses only the tables whose changes pass its thresholds, and removes their dead rows."""

from __future__ import annotations

import importlib
import sys
from collections import Counter

import asyncpg
import pytest

from tests.support.fleet import ROOT

pytestmark = pytest.mark.postgres


async def _flushed(conn: asyncpg.Connection, sql: str) -> None:
    """Run ``sql`` and make its row counts visible in pg_stat_user_tables at once."""
    await conn.execute(sql)
    await conn.execute("SELECT pg_stat_force_next_flush()")
    await conn.execute("SELECT 1")  # the next transaction's end flushes
    await conn.execute("SELECT pg_stat_clear_snapshot()")


async def test_a_turn_vacuums_only_the_tables_past_the_thresholds(pg_dsn: str) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    turn = importlib.import_module("load_autovacuum").autovacuum_turn
    conn = await asyncpg.connect(pg_dsn)
    try:
        await _flushed(conn, "CREATE TABLE busy (n int); CREATE TABLE quiet (n int); "
                             "INSERT INTO busy SELECT generate_series(1, 3000); "
                             "INSERT INTO quiet VALUES (1), (2)")
        done: Counter[str] = Counter()
        await turn(conn, done)
        assert done == {"vacuum+analyze": 1}  # 3,000 inserted rows pass; two rows do not
        await _flushed(conn, "DELETE FROM busy WHERE n > 1000; UPDATE quiet SET n = n + 1")
        dead = await conn.fetchval("SELECT n_dead_tup FROM pg_stat_user_tables "
                                   "WHERE relname = 'busy'")
        assert dead == 2000
        await turn(conn, done)
        assert done == {"vacuum+analyze": 2}
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        rows = await conn.fetch("SELECT relname, n_dead_tup FROM pg_stat_user_tables "
                                "ORDER BY relname")
        assert [(r["relname"], r["n_dead_tup"]) for r in rows] == [("busy", 0), ("quiet", 2)]
        await turn(conn, done)
        assert done == {"vacuum+analyze": 2}  # nothing changed since
    finally:
        await conn.close()
