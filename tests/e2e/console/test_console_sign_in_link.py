"""Signing in to the console by a one-time link HR sent: the page's GET (what a link preview
fetches) spends nothing, the button's POST (with the CSRF token) signs in once as the link's
principal with a session of method "link", and refused links count in the API's limiter.
Over HTTP with a cookie jar, and in Chromium on a phone-sized screen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.integration.http_fixtures import Api, serve
from tests.support.browser import follow, new_context, screenshot, serious_violations
from tests.support.case_steps import add_item
from tests.support.console import Console, console_session, csrf_of, on_both_stores, open_case

LINKS = "/v1/principals/{}/sign-in-links"


async def send_link(site: Api, principal_id: str = "wang.lei") -> str:
    """HR sends ``principal_id`` (the leaver of one of hr.sun's cases) a link: its path."""
    departure_id = await open_case(site, leaver=principal_id)
    reply = await site.post(LINKS.format(principal_id), "hr.sun",
                            json={"departure_id": departure_id})
    assert reply.status == 201, reply.body
    url: str = reply.json()["url"]
    assert url.startswith(site.base)
    return url.removeprefix(site.base)


async def test_the_link_lands_on_the_persons_tasks_and_nowhere_the_request_names(
        console: Console, site: Api) -> None:
    """Whoever opens the link lands on My tasks, where the item they must hand over is
    listed with its page; no ``next`` in the address or the form moves the redirect."""
    departure_id = await open_case(site, leaver="zhao.min")
    item_id = await add_item(site, departure_id, receiver="li.qiang")
    await site.sequence()
    await site.runtime.board.catch_up()
    reply = await site.post(LINKS.format("zhao.min"), "hr.sun",
                            json={"departure_id": departure_id})
    path = reply.json()["url"].removeprefix(site.base)
    signed_in = await console.post_form(
        f"{path}?next=https://evil.example/", {"next": "//evil.example/x"}, csrf_from=path)
    assert (signed_in.status, signed_in.headers["Location"]) == (303, "/console/tasks")
    tasks = await console.get("/console/tasks", headers={"Accept-Language": "en"})
    assert tasks.status == 200
    assert f'<a href="/console/items/{item_id}">Submit: 客户资料</a>' in tasks.body.decode()
    [session] = await console_sessions(site, "zhao.min")
    assert session == ("zhao.min", "employee", "link")


async def states(site: Api, principal_id: str = "wang.lei") -> list[str]:
    reply = await site.get(LINKS.format(principal_id), "admin")
    return [link["state"] for link in reply.json()["links"]]


async def test_a_link_preview_spends_nothing_and_the_button_signs_in_once(
        console: Console, site: Api) -> None:
    path = await send_link(site)
    for _ in range(3):  # a chat app's preview, a mail scanner, the person themself
        page = await console.get(path, headers={"User-Agent": "Slackbot-LinkExpanding 1.0"})
        assert page.status == 200 and page.headers["Cache-Control"] == "no-store"
    assert await states(site) == ["unused"]
    assert (await console.request("POST", path, data={})).status == 403  # no CSRF token
    assert await states(site) == ["unused"]
    signed_in = await console.post_form(path, {}, headers={"User-Agent": "Phone/17"})
    assert (signed_in.status, signed_in.headers["Location"]) == (303, "/console/tasks")
    assert console.cookie("hl_session")
    assert (await console.get("/console/tasks")).status == 200
    [used] = (await site.get(LINKS.format("wang.lei"), "admin")).json()["links"]
    assert (used["state"], used["used_ip"], used["used_user_agent"]) == (
        "used", "127.0.0.1", "Phone/17")
    [session] = await console_sessions(site, "wang.lei")
    assert session == ("wang.lei", "employee", "link")
    async with console_session() as other_session:  # the same link, a second time
        other = Console(site, other_session)
        again = await other.post_form(path, {})
        assert again.status == 401 and other.cookie("hl_session") is None
        refusal = again.body.decode()
        assert "此登录链接无效、已使用、已撤销或已过期" in refusal
        # no button to press again: the message and the way to sign in with a token
        assert "<button" not in refusal.split("<main")[1] and 'action="/console/sign-in/link' \
            not in refusal
        assert '<a href="/console/sign-in">' in refusal


async def console_sessions(site: Api, principal_id: str) -> list[tuple[str, str, str]]:
    rows = await site.runtime.projections.fetch(
        "SELECT principal_id, role, method FROM console_sessions WHERE principal_id = $1",
        principal_id)
    return [(r["principal_id"], r["role"], r["method"]) for r in rows]


@pytest.fixture
async def limited(tmp_path: Path) -> AsyncIterator[Api]:
    async with serve(f"sqlite:///{tmp_path}/l.db", tmp_path, auth_failure_limit=3,
                     auth_failure_window=60) as served:
        yield served


async def test_refused_links_count_as_failed_sign_ins_of_the_address(limited: Api) -> None:
    good = await send_link(limited)
    async with console_session() as session:
        console = Console(limited, session)
        token = csrf_of((await console.get(good)).body)
        for n in range(3):
            bad = await console.request("POST", f"/console/sign-in/link/hll_guess{n}",
                                        data={"csrf": token})
            assert bad.status == 401, n
        refused = await console.request("POST", good, data={"csrf": token})
        assert refused.status == 429 and console.cookie("hl_session") is None
        assert (await limited.get("/v1/templates", "hr.sun")).status == 429  # the API's limit
        # the good link was not even looked up: it still works once the window has passed
        [link] = await limited.runtime.principals.list_sign_in_links("wang.lei")
        assert link.used_at is None and not link.revoked


@on_both_stores
async def test_a_leaver_on_a_phone_signs_in_by_the_link_hr_sent(browser: Browser,
                                                                  site: Api) -> None:
    path = await send_link(site)
    context = await new_context(browser, phone=True)
    page = await context.new_page()
    await page.goto(site.base + path)
    assert await page.locator("h1").inner_text() == "使用登录链接登录"
    await screenshot(page, "sign-in-link-zh-phone")
    assert await serious_violations(page) == []
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    await follow(page, "form.card button[type=submit]")
    assert page.url == site.base + "/console/tasks"
    assert await page.locator("h1").inner_text() == "我的待办"
    await screenshot(page, "sign-in-link-landing-zh-phone")
    await page.goto(site.base + path)  # a second use: refused, said plainly
    await follow(page, "form.card button[type=submit]")
    assert "此登录链接无效" in await page.locator(".error").inner_text()
    assert await page.locator("main button").count() == 0  # nothing to press again
    await context.close()
    english = await new_context(browser, accept_language="en-GB,en")
    page = await english.new_page()
    await page.goto(site.base + await send_link(site, "zhao.min"))
    assert await page.locator("h1").inner_text() == "Sign in with your link"
    await screenshot(page, "sign-in-link-en-desktop")
    await english.close()


async def test_a_failure_on_the_link_page_logs_its_route_never_the_secret(
        console: Console, site: Api, caplog: pytest.LogCaptureFixture) -> None:
    path = await send_link(site)
    secret = path.rsplit("/", 1)[1]

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the store fell over")

    site.runtime.principals.redeem_sign_in_link = broken  # type: ignore[method-assign]
    reply = await console.post_form(path, {})
    assert reply.status == 500
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/console/sign-in/link/{secret}" in logged and "error id" in logged
    assert secret not in logged
