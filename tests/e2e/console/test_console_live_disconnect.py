"""A browser leaving a live page closes its event stream: the next event finds no one, and
the server ends the stream quietly (a debug line), logging no error and no error id; the
API's streams too. Served as ``ledger serve`` serves (TestServer would cancel the handler
when its client leaves, hiding the case)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from tests.integration.http_fixtures import Api
from tests.support.console import Console, add_item, console_session, open_case
from tests.support.served import as_ledger_serves

GONE = "went away"


@pytest.fixture
async def served(site: Api) -> AsyncIterator[Api]:
    """``site`` served again as ``ledger serve`` serves it."""
    async with as_ledger_serves(site) as again:
        yield again


async def _caught_up(site: Api) -> None:
    await site.sequence()
    await site.runtime.board.catch_up()


async def _leave_then_change(site: Api, get: object, item: str, caplog: pytest.LogCaptureFixture,
                             action: str) -> None:
    """Open the stream, read its headers, drop the connection, then change the case so
    the server has something to send; wait until it has noticed the client is gone."""
    before = sum(GONE in r.getMessage() for r in caplog.records)
    async with get as stream:  # type: ignore[attr-defined]
        assert stream.status == 200
        stream.close()  # as a browser navigating away
    actor = {"submit": "wang.lei", "confirm": "zhao.min"}[action]
    assert (await site.post(f"/v1/items/{item}/{action}", actor, json={})).status == 200
    await _caught_up(site)
    for _ in range(100):
        if sum(GONE in r.getMessage() for r in caplog.records) > before:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the stream did not notice its client left")


async def test_leaving_a_live_page_ends_its_stream_without_logging_an_error(
        served: Api, caplog: pytest.LogCaptureFixture) -> None:
    site = served
    caplog.set_level(logging.DEBUG)
    departure_id = await open_case(site)
    item = await add_item(site, departure_id)
    await _caught_up(site)
    async with console_session() as jar:
        console = Console(site, jar)
        await console.sign_in("hr.sun")
        await _leave_then_change(site, jar.get(site.url("/console/live/hr")), item, caplog,
                                 "submit")
        await _leave_then_change(site, jar.get(
            site.url(f"/console/departures/{departure_id}/events")), item, caplog, "confirm")
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_leaving_the_apis_streams_logs_no_error_either(
        served: Api, caplog: pytest.LogCaptureFixture) -> None:
    site = served
    caplog.set_level(logging.DEBUG)
    departure_id = await open_case(site)
    item = await add_item(site, departure_id)
    await _caught_up(site)
    await _leave_then_change(site, site.session.get(site.url("/v1/boards/hr/events"),
                                                    headers=site.auth("hr.sun")),
                             item, caplog, "submit")
    await _leave_then_change(site, site.session.get(
        site.url(f"/v1/boards/departures/{departure_id}/events"), headers=site.auth("hr.sun")),
        item, caplog, "confirm")
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
