"""Live feeds end with their access: the console's with its session, the API's with its token,
asked again every RECHECK_SECONDS even when the log stands still; an open feed never keeps a
console session alive; and one session holds at most MAX_LIVE_PER_SESSION feeds at once."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import aiohttp
import pytest

from api import live_routes
from tests.integration.http_fixtures import Api
from tests.support.console import Console
from web.live_feeds import MAX_LIVE_PER_SESSION


async def ends_within(response: aiohttp.ClientResponse, seconds: float) -> bool:
    """Whether the stream's body ends (EOF) within ``seconds`` (pings are read past)."""
    try:
        async with asyncio.timeout(seconds):
            while await response.content.readline():
                pass
    except TimeoutError:
        return False
    return True


async def sql(site: Api, statement: str, *args: object) -> list[tuple[object, ...]]:
    async with site.runtime.principals.events.transaction() as db:  # type: ignore[attr-defined]
        cursor = await db.execute(statement, args)
        return list(await cursor.fetchall())


@pytest.fixture(autouse=True)
def quick_recheck(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_routes, "RECHECK_SECONDS", 0.5)


async def test_a_console_feed_ends_with_its_session_and_never_keeps_it_alive(
        console: Console, site: Api) -> None:
    await console.sign_in("hr.sun")
    stale = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")
    await sql(site, "UPDATE console_sessions SET last_seen_at = ?", stale)
    async with console.session.get(site.url("/console/live/hr")) as stream:
        assert stream.status == 200
        assert not await ends_within(stream, 1.5)
        assert await sql(site, "SELECT last_seen_at FROM console_sessions") == [(stale,)]
        await sql(site, "DELETE FROM console_sessions")  # the session ended elsewhere
        assert await ends_within(stream, 3)


async def test_an_api_feed_ends_when_its_token_is_revoked(site: Api) -> None:
    tokens = (await site.get("/v1/principals/hr.sun/tokens", "admin")).json()["tokens"]
    async with site.session.get(site.url("/v1/boards/hr/events"),
                                headers=site.auth("hr.sun")) as stream:
        assert stream.status == 200
        assert not await ends_within(stream, 1)
        for token in tokens:
            path = f"/v1/principals/hr.sun/tokens/{token['token_id']}"
            assert (await site.call("DELETE", path, "admin")).status == 200
        assert await ends_within(stream, 3)


async def test_one_session_holds_a_few_feeds_at_most(console: Console, site: Api) -> None:
    await console.sign_in("hr.sun")
    async with contextlib.AsyncExitStack() as held:
        for _ in range(MAX_LIVE_PER_SESSION):
            stream = await held.enter_async_context(
                console.session.get(site.url("/console/live/hr")))
            assert stream.status == 200
        refused = await console.get("/console/live/hr")
        assert refused.status == 429 and refused.headers["Retry-After"] == "30"
    await asyncio.sleep(0.3)
    async with console.session.get(site.url("/console/live/hr")) as again:
        assert again.status == 200
