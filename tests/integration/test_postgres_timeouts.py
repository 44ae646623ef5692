"""The PostgreSQL store's waits are bound (LEDGER_DB_*_TIMEOUT_SECONDS): a statement that
outlives the command timeout, a pool with every connection taken past the acquire timeout
and the server's own statement_timeout each become the PushbackError behind a 503, within the
bound; an operator's store (``ledger verify``, rebuilds, restores) cuts no statement short.
The whole cluster hung is tests/e2e/test_fault_pg.py's."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import pytest

from ledger.bootstrap import open_storage
from ledger.errors import PushbackError
from ledger.settings import Settings
from ledger.store.postgres import MappedPool, PostgresEventStore, map_postgres_error
from ledger.store.timeouts import DatabaseTimeouts

pytestmark = pytest.mark.postgres


async def test_a_statement_past_the_command_timeout_is_a_pushback_in_time(
        pg_dsn: str) -> None:
    store = await PostgresEventStore.connect(pg_dsn, timeouts=DatabaseTimeouts(2.0, 2.0, 0.3))
    try:
        began = time.monotonic()
        with pytest.raises(PushbackError):
            await MappedPool(store.pool).fetchval("SELECT pg_sleep(5)")
        assert time.monotonic() - began < 2.0
        assert await MappedPool(store.pool).fetchval("SELECT 1") == 1  # it goes on serving
    finally:
        await store.close()


async def test_a_pool_with_every_connection_taken_refuses_in_time(pg_dsn: str) -> None:
    store = await PostgresEventStore.connect(pg_dsn, min_size=1, max_size=1,
                                             timeouts=DatabaseTimeouts(2.0, 0.3, None))
    try:
        async with store.pool.acquire():  # the one connection, held
            began = time.monotonic()
            with pytest.raises(PushbackError):
                await store.count_events()
            assert time.monotonic() - began < 2.0
    finally:
        await store.close()


async def test_the_servers_statement_timeout_is_a_pushback(pg_dsn: str) -> None:
    conn = await asyncpg.connect(pg_dsn, server_settings={"statement_timeout": "100"})
    try:
        with pytest.raises(asyncpg.QueryCanceledError) as cancelled:
            await conn.execute("SELECT pg_sleep(2)")
    finally:
        await conn.close()
    assert isinstance(map_postgres_error(cancelled.value), PushbackError)


async def test_an_operators_store_cuts_no_statement_short(pg_dsn: str, tmp_path: Path) -> None:
    settings = Settings(database_url=pg_dsn, data_dir=tmp_path, db_command_timeout=0.2,
                        db_acquire_timeout=0.2)
    served = await open_storage(settings, migrate=True)
    operator = await open_storage(settings, operator=True)
    try:
        with pytest.raises(PushbackError):
            await served.projections.fetch("SELECT pg_sleep(0.6)")
        await asyncio.wait_for(operator.projections.fetch("SELECT pg_sleep(0.6)"), 10)
    finally:
        await served.close()
        await operator.close()


async def test_a_server_that_never_answers_is_named_with_the_setting_at_start() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)  # accepts, then says nothing (a hung host)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        started = time.monotonic()
        with pytest.raises(PushbackError) as refused:
            await PostgresEventStore.connect(
                f"postgresql://ledger:s3cret@127.0.0.1:{port}/ledger", min_size=1, max_size=1,
                timeouts=DatabaseTimeouts(0.5, 1, 1))
        assert time.monotonic() - started < 5
    finally:
        server.close()
    message = str(refused.value)
    assert f"PostgreSQL at 127.0.0.1:{port} did not answer within 0.5 s" in message
    assert "LEDGER_DB_CONNECT_TIMEOUT_SECONDS" in message and "s3cret" not in message


async def test_a_closed_port_is_named_at_start() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    with pytest.raises(PushbackError, match=f"cannot reach PostgreSQL at 127.0.0.1:{port}"):
        await PostgresEventStore.connect(f"postgresql://ledger:s3cret@127.0.0.1:{port}/ledger",
                                         min_size=1, max_size=1,
                                         timeouts=DatabaseTimeouts(0.5, 1, 1))
