"""A process caches verified tokens only while its token feed listens, and a token revoked or
a principal deactivated anywhere stops working there at once: in the revoking process before
the call returns, in the others on PostgreSQL's notice (well before the cache's own bound)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from ledger.principals import Principal, hash_token, new_token
from ledger.service.context import Actor
from ledger.store.postgres import PostgresEventStore
from ledger.store.postgres_principals import PostgresPrincipalStore
from ledger.store.postgres_token_feed import PostgresTokenFeed
from ledger.store.token_cache import TokenCache

OPERATOR = Actor("ops", "operator", "Ops")
LONG = 3600.0  # a cache bound no test waits out: what ends an entry here is a notice


@asynccontextmanager
async def two_processes(pg_dsn: str) -> AsyncIterator[tuple[PostgresPrincipalStore,
                                                            PostgresPrincipalStore,
                                                            PostgresTokenFeed]]:
    """A serving process's principal store (its feed listening) and another process's."""
    stores = [await PostgresEventStore.connect(pg_dsn, min_size=1, max_size=2)
              for _ in range(2)]
    try:
        await stores[0].migrate()
        serving, other = PostgresPrincipalStore(stores[0]), PostgresPrincipalStore(stores[1])
        serving.tokens = TokenCache(ttl_seconds=LONG)
        feed = serving.token_feed()
        assert feed is not None
        await feed.start()
        try:
            await until(lambda: serving.tokens.enabled)
            yield serving, other, feed
        finally:
            await feed.stop()
    finally:
        for store in stores:
            await store.close()


async def until(condition: object, seconds: float = 2.0) -> float:
    """Wait for ``condition()`` to hold; how long it took."""
    started = time.monotonic()
    while not condition():  # type: ignore[operator]
        assert time.monotonic() - started < seconds, "did not happen in time"
        await asyncio.sleep(0.005)
    return time.monotonic() - started


async def refused_within(store: PostgresPrincipalStore, token_hash: bytes,
                         seconds: float = 1.0) -> float:
    started = time.monotonic()
    while await store.principal_for_token(token_hash) is not None:
        assert time.monotonic() - started < seconds, "the token still works"
        await asyncio.sleep(0.005)
    return time.monotonic() - started


async def issued(store: PostgresPrincipalStore, principal_id: str) -> tuple[bytes, str]:
    await store.add_principal(Principal(principal_id, "王芳", ("hr",)))
    _, token_hash = new_token()
    return token_hash, await store.add_token(token_hash, principal_id, "test")


async def revoke_behind_its_back(pg_dsn: str, token_hash: bytes) -> None:
    """Revoke in the table without the notice: the session's triggers switched off (a
    superuser's replication role), which no adapter does and an operator should not."""
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("UPDATE tokens SET revoked = TRUE WHERE token_hash = $1", token_hash)
    finally:
        await conn.close()


async def test_a_listening_process_answers_from_its_cache(pg_dsn: str) -> None:
    async with two_processes(pg_dsn) as (serving, _, _):
        token_hash, _ = await issued(serving, "wang.fang")
        assert await serving.principal_for_token(token_hash) is not None
        await revoke_behind_its_back(pg_dsn, token_hash)
        # cached: no lookup happened (only a change that notifies ends it)
        assert await serving.principal_for_token(token_hash) is not None
        assert await serving.principal_for_token(hash_token("unknown")) is None


async def test_a_token_revoked_in_another_process_stops_on_its_notice(pg_dsn: str) -> None:
    async with two_processes(pg_dsn) as (serving, other, _):
        token_hash, token_id = await issued(serving, "wang.fang")
        assert await serving.principal_for_token(token_hash) is not None
        assert await other.revoke_token("wang.fang", token_id, OPERATOR)
        assert await refused_within(serving, token_hash) < 1.0


@pytest.mark.parametrize("change", [
    "UPDATE principals SET active = FALSE WHERE id = 'wang.fang'",
    "UPDATE tokens SET revoked = TRUE WHERE principal_id = 'wang.fang'",
    "DELETE FROM tokens WHERE principal_id = 'wang.fang'",
])
async def test_a_change_made_by_hand_in_sql_stops_the_token_on_its_notice(
        pg_dsn: str, change: str) -> None:
    async with two_processes(pg_dsn) as (serving, _, __):
        token_hash, _ = await issued(serving, "wang.fang")
        assert await serving.principal_for_token(token_hash) is not None
        conn = await asyncpg.connect(pg_dsn)
        try:
            await conn.execute(change)  # an operator in psql: no adapter, no explicit notice
        finally:
            await conn.close()
        assert await refused_within(serving, token_hash) < 1.0


async def test_deactivating_or_revoking_all_in_another_process_stops_its_tokens(
        pg_dsn: str) -> None:
    async with two_processes(pg_dsn) as (serving, other, _):
        first, _ = await issued(serving, "wang.fang")
        second, _ = await issued(serving, "zhou.jie")
        assert await serving.principal_for_token(first) is not None
        assert await serving.principal_for_token(second) is not None
        assert await other.deactivate_principal("wang.fang", OPERATOR) == 1
        await refused_within(serving, first)
        assert await serving.principal_for_token(second) is not None
        assert await other.revoke_tokens("zhou.jie") == 1
        await refused_within(serving, second)


async def test_a_token_revoked_in_the_same_process_stops_before_the_call_returns(
        pg_dsn: str) -> None:
    async with two_processes(pg_dsn) as (serving, _, _):
        token_hash, token_id = await issued(serving, "wang.fang")
        assert await serving.principal_for_token(token_hash) is not None
        assert await serving.revoke_token("wang.fang", token_id, OPERATOR)
        assert await serving.principal_for_token(token_hash) is None


async def test_a_lost_listening_session_stops_the_cache_at_once(
        pg_dsn: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ledger.auth")
    async with two_processes(pg_dsn) as (serving, _, feed):
        token_hash, _ = await issued(serving, "wang.fang")
        assert await serving.principal_for_token(token_hash) is not None
        conn = await asyncpg.connect(pg_dsn)
        try:
            await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                               "query LIKE 'LISTEN%' AND datname = current_database()")
            await until(lambda: not serving.tokens.enabled)
            await conn.execute("UPDATE tokens SET revoked = TRUE WHERE token_hash = $1",
                               token_hash)
        finally:
            await conn.close()
        assert await serving.principal_for_token(token_hash) is None  # looked up again
        assert feed.health().ok
        await until(lambda: serving.tokens.enabled, seconds=5.0)  # listening again
    # Said in the server log, once, and again when it listens anew (probe: it was silent).
    said = [r.getMessage() for r in caplog.records if r.name == "ledger.auth"]
    assert [m for m in said if m.startswith("token cache off")] == [
        "token cache off: the session listening for ledger_principals was lost; every "
        "request looks its token up until it listens again"]
    assert said.count("token cache on: listening for ledger_principals") == 2


async def test_without_a_running_feed_every_lookup_reads_the_table(pg_dsn: str) -> None:
    async with two_processes(pg_dsn) as (serving, _, feed):
        token_hash, _ = await issued(serving, "wang.fang")
        await feed.stop()
        assert not serving.tokens.enabled
        assert await serving.principal_for_token(token_hash) is not None
        await revoke_behind_its_back(pg_dsn, token_hash)
        assert await serving.principal_for_token(token_hash) is None
