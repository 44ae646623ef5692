"""Speaking to the web console over HTTP without a browser: a client with its own cookie
jar that signs in as any principal of the cast, reads the CSRF token of the page it got, and
posts forms with it; and a case for the dashboard to show."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tests.integration.http_fixtures import Api, Reply
from tests.support.case_steps import add_item, approved

# A console test that runs on each store (tests/e2e/console/conftest.py's ``site_url``).
on_both_stores = pytest.mark.parametrize("site_url", ["sqlite", "postgres"], indirect=True)
CSRF_FIELD = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def csrf_of(page: bytes) -> str:
    """The CSRF token of the first POST form of ``page``."""
    found = CSRF_FIELD.search(page.decode())
    assert found is not None, page[:300]
    return found.group(1)


@dataclass
class Console:
    """A browser-like client of one served site (cookies kept for 127.0.0.1)."""

    api: Api
    session: aiohttp.ClientSession

    async def request(self, method: str, path: str, **kwargs: Any) -> Reply:
        """One request, redirects not followed."""
        kwargs.setdefault("allow_redirects", False)
        async with self.session.request(method, self.api.url(path), **kwargs) as response:
            return Reply(response.status, response.headers, await response.read())

    async def get(self, path: str, **kwargs: Any) -> Reply:
        """GET ``path``."""
        return await self.request("GET", path, **kwargs)

    async def post_form(self, path: str, data: dict[str, str], *, csrf_from: str | None = None,
                        **kwargs: Any) -> Reply:
        """POST ``data`` to ``path`` with the CSRF token of the page at ``csrf_from``
        (default: ``path`` itself)."""
        page = await self.get(csrf_from or path)
        return await self.request("POST", path, data={**data, "csrf": csrf_of(page.body)},
                                  **kwargs)

    async def sign_in(self, who: str, role: str | None = None) -> Reply:
        """Sign in with ``who``'s token (and choose ``role`` when given)."""
        reply = await self.post_form("/console/sign-in", {"token": self.api.tokens[who]})
        assert reply.status == 303, reply.body[:300]
        if role is not None:
            chosen = await self.post_form("/console/role", {"role": role})
            assert chosen.status == 303, chosen.body[:300]
        return reply

    def cookie(self, name: str) -> str | None:
        """The value of a cookie the jar holds for the console."""
        for morsel in self.session.cookie_jar:
            if morsel.key == name:
                return morsel.value
        return None


def console_session() -> aiohttp.ClientSession:
    """A client session whose jar keeps cookies of an IP address (the loopback server)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def open_case(api: Api, **fields: Any) -> str:
    """A departure HR started and the manager approved: open, on the dashboard."""
    departure_id = await approved(api, **fields)
    await api.sequence()
    await api.runtime.board.catch_up()
    return departure_id


TODAY = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)  # two days before the last day


async def risky_and_calm_cases(api: Api) -> tuple[str, str]:
    """With the ledger's clock at TODAY: a high-risk case (zhao.min's: last day near, an
    item overdue and rejected) and a calm one (wang.lei's, R&D, last day 2026-12-31)."""
    api.runtime.ledger.clock = lambda: TODAY
    risky = await open_case(api, leaver="zhao.min")
    clients = await add_item(api, risky, receiver="li.qiang", due_date="2026-11-20")
    assert (await api.post(f"/v1/items/{clients}/submit", "zhao.min", json={})).status == 200
    rejected = await api.post(f"/v1/items/{clients}/reject", "li.qiang",
                              json={"reason": "缺少三期需求"})
    assert rejected.status == 200, rejected.body
    calm = await open_case(api, department="R&D", last_day="2026-12-31")
    return risky, calm
