"""The failed-authentication limit is the deployment's: two app processes' worth of
runtimes on one database (each with its own in-process state, as two ``ledger serve``
processes have) count against one limit, on both stores."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from api.ratelimit import SharedAuthFailureLimiter
from ledger.bootstrap import bootstrap
from ledger.errors import PushbackError, RateLimitedError
from ledger.principals import new_token
from ledger.settings import Settings
from ledger.store.auth_failure_factory import auth_failure_store_for
from ledger.store.auth_failure_port import AuthFailureStore
from ledger.store.port import EventStore
from tests.conftest import TEST_ORIGIN
from tests.integration.http_fixtures import Api, serve
from tests.support.console import Console, console_session
from web.site import build_site

LIMIT, WINDOW = 4, 4


@contextlib.asynccontextmanager
async def second_process(api: Api) -> AsyncIterator[str]:
    """Another runtime and app on ``api``'s database and keys, served on 127.0.0.1."""
    settings = api.runtime.settings
    runtime = await bootstrap(Settings(
        database_url=settings.database_url, data_dir=settings.data_dir,
        log_origin=TEST_ORIGIN, key_dir=settings.key_dir, auth_failure_limit=LIMIT,
        auth_failure_window=WINDOW), sequencer=False)
    runner = web.AppRunner(build_site(runtime), access_log=None)
    try:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
        await runtime.close()


async def _status(session: aiohttp.ClientSession, base: str, token: str) -> int:
    async with session.get(base + "/v1/templates",
                           headers={"Authorization": f"Bearer {token}"}) as reply:
        await reply.read()
        return reply.status


@pytest.fixture
async def two(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Api, str]]:
    async with serve(database_url, tmp_path, auth_failure_limit=LIMIT,
                     auth_failure_window=WINDOW) as api, second_process(api) as other:
        yield api, other


async def test_failures_at_two_processes_count_against_one_limit(
        two: tuple[Api, str]) -> None:
    api, other = two
    bad, good = new_token()[0], api.tokens["hr.sun"]
    bases = (api.base, other)
    statuses = [await _status(api.session, bases[n % 2], bad) for n in range(LIMIT)]
    assert statuses == [401] * LIMIT  # two failures seen by each process
    # The process that wrote the limit-th failure refuses at once, a valid token too.
    assert await _status(api.session, other, bad) == 429
    assert await _status(api.session, other, good) == 429
    # The other trusted the count it read at its last failure for a second: its next failure
    # reads it again (one guess past the limit, the module docstring's N - 1), then it refuses.
    assert await _status(api.session, api.base, bad) == 401
    assert await _status(api.session, api.base, good) == 429
    await asyncio.sleep(WINDOW + 0.1)
    assert await _status(api.session, other, good) == 200
    assert await _status(api.session, api.base, bad) == 401


async def test_the_console_sign_in_shares_the_api_s_count(two: tuple[Api, str]) -> None:
    api, other = two
    bad = new_token()[0]
    for _ in range(LIMIT):
        assert await _status(api.session, api.base, bad) == 401
    async with console_session() as session:
        console = Console(dataclasses.replace(api, base=other), session)
        reply = await console.post_form("/console/sign-in", {"token": api.tokens["hr.sun"]})
        assert reply.status == 429 and console.cookie("hl_session") is None


async def test_expired_failures_are_deleted_as_new_ones_are_written(
        two: tuple[Api, str]) -> None:
    api, other = two
    bad = new_token()[0]
    for _ in range(3):
        assert await _status(api.session, other, bad) == 401
    store = api.runtime.auth_failures
    assert len(await store.recent_failures("127.0.0.1", 0, 100)) == 3
    await asyncio.sleep(WINDOW + 0.1)
    assert await _status(api.session, api.base, bad) == 401
    assert len(await store.recent_failures("127.0.0.1", 0, 100)) == 1


class CountedReads:
    """The real failure store, counting the reads that reach it."""

    def __init__(self, store: AuthFailureStore) -> None:
        self.store = store
        self.reads = 0

    async def recent_failures(self, client: str, since: float, limit: int) -> list[float]:
        self.reads += 1
        return await self.store.recent_failures(client, since, limit)

    async def add_failure(self, client: str, at: float, forget_before: float) -> None:
        await self.store.add_failure(client, at, forget_before)


async def test_a_limited_address_is_refused_from_memory_until_its_window_ends(
        store: EventStore) -> None:
    now = [1_800_000_000.0]
    failures = CountedReads(auth_failure_store_for(store))
    first, second = (SharedAuthFailureLimiter(failures, 3, 60, clock=lambda: now[0])
                     for _ in range(2))
    for _ in range(3):
        await first.check("10.0.0.9")
        await first.record_failure("10.0.0.9")
        now[0] += 10
    reads = failures.reads
    for limiter in (first, second, first, second):
        with pytest.raises(RateLimitedError):
            await limiter.check("10.0.0.9")
    # The first saw every failure itself; the second read the refusal once, and then knew.
    assert failures.reads == reads + 1
    for _ in range(50):
        with pytest.raises(RateLimitedError) as refused:
            await second.check("10.0.0.9")
    assert failures.reads == reads + 1 and refused.value.retry_after == 30
    now[0] += 31  # the oldest failure has left the window: both ask again, and let it pass
    await second.check("10.0.0.9")
    await first.check("10.0.0.9")
    assert failures.reads == reads + 3


async def test_a_request_with_good_credentials_reads_the_count_once_a_second(
        store: EventStore) -> None:
    now = [1_800_000_000.0]
    failures = CountedReads(auth_failure_store_for(store))
    seen, other = (SharedAuthFailureLimiter(failures, 3, 60, clock=lambda: now[0])
                   for _ in range(2))
    for _ in range(20):
        await other.check("10.0.0.7")
        now[0] += 0.01
    assert failures.reads == 1  # one read, then the clean answer for a second
    for _ in range(3):
        await seen.record_failure("10.0.0.7")  # the deployment reaches the limit elsewhere
    await other.check("10.0.0.7")  # within that second: not known here yet
    now[0] += 1.0
    with pytest.raises(RateLimitedError):
        await other.check("10.0.0.7")  # a second later it reads the count, and refuses


async def test_a_failure_reads_the_count_again_at_once(store: EventStore) -> None:
    now = [1_800_000_000.0]
    failures = CountedReads(auth_failure_store_for(store))
    seen, other = (SharedAuthFailureLimiter(failures, 3, 60, clock=lambda: now[0])
                   for _ in range(2))
    await other.check("10.0.0.8")  # clean, trusted for a second
    for _ in range(3):
        await seen.record_failure("10.0.0.8")
    await other.record_failure("10.0.0.8")  # its own failure: it reads the count now
    with pytest.raises(RateLimitedError):
        await other.check("10.0.0.8")


async def test_a_concurrent_burst_of_bad_tokens_gets_no_more_guesses_than_a_sequence(
        two: tuple[Api, str]) -> None:
    # Found by probing: 100 bad tokens sent at once to one process were each looked up
    # (93 answered 401 with a limit of 10), as every one passed the check before any failed.
    api, _ = two
    statuses = await asyncio.gather(*(_status(api.session, api.base, new_token()[0])
                                      for _ in range(40)))
    assert statuses.count(401) <= LIMIT
    assert statuses.count(401) + statuses.count(429) == 40


async def test_concurrent_requests_with_good_credentials_all_pass(
        two: tuple[Api, str]) -> None:
    api, other = two
    good = api.tokens["hr.sun"]
    statuses = await asyncio.gather(*(_status(api.session, (api.base, other)[n % 2], good)
                                      for n in range(40)))
    assert statuses == [200] * 40


async def test_a_request_waits_for_a_lookup_slot_no_longer_than_its_bound(
        postgres_store: EventStore, pg_dsn: str) -> None:
    # The database hangs (auth_failures locked): the address's first LIMIT requests hold its
    # lookup slots, reading the count; the rest get 503 once wait_seconds are up, not queued
    # behind lookups that do not end.
    limiter = SharedAuthFailureLimiter(auth_failure_store_for(postgres_store), LIMIT, 60,
                                       wait_seconds=0.5)

    async def one() -> str:
        try:
            async with limiter.attempt("10.0.0.5"):
                return "passed"
        except PushbackError:
            return "busy"

    locker = await asyncpg.connect(pg_dsn)
    try:
        async with locker.transaction():
            await locker.execute("LOCK TABLE auth_failures IN ACCESS EXCLUSIVE MODE")
            tasks = [asyncio.create_task(one()) for _ in range(3 * LIMIT)]
            done, _ = await asyncio.wait(tasks, timeout=1.5)  # wait_seconds and some
            assert len(done) == 2 * LIMIT
            assert {t.result() for t in done} == {"busy"}
        assert [await t for t in tasks if t not in done] == ["passed"] * LIMIT
    finally:
        await locker.close()
