"""Every console page, in Chinese and English, on a 1280-pixel desktop and a 390-pixel phone:
a screenshot of each in tests/artifacts/console/ (to be looked at), none wider than its
screen, axe-core finding nothing serious, no error in the browser's console (a CSP
violation is one); and the departure page as printed (a PDF and a print-media screenshot).
One server and one Chromium for the module; the pages are those the console serves (a page
area not merged yet has no route, so no screenshot)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, ConsoleMessage

from tests.integration.http_fixtures import Api, serve
from tests.support.browser import (
    ARTIFACTS,
    DESKTOP,
    PHONE,
    chromium,
    new_context,
    screenshot,
    serious_violations,
    sign_in,
)
from tests.support.console_pages import PAGES, ConsolePage, World, build_world, existing
from web.site import PAGE_AREAS

pytestmark = pytest.mark.asyncio(loop_scope="module")
# what sticks out past the screen's right edge, innermost first (for the failure's message)
WIDER = """(limit) => [...document.querySelectorAll("body *")]
  .filter(e => e.getBoundingClientRect().right > limit + 1)
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > limit + 1))
  .slice(0, 5).map(e => e.tagName.toLowerCase() + "." + [...e.classList].join(".") + " "
                   + Math.round(e.getBoundingClientRect().right))"""
SERVED = {route.path for area in PAGE_AREAS for route in area
          if getattr(route, "method", "") == "GET"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Api, World]]:
    folder = tmp_path_factory.mktemp("screens")
    async with serve(f"sqlite:///{folder}/l.db", folder) as site:
        yield site, await build_world(site)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def profiles(module_browser: Browser,
                   served: tuple[Api, World]) -> AsyncIterator[dict[str | None, BrowserContext]]:
    """One signed-in browser profile per reader (and one signed out), made on first use."""
    site, _ = served
    made: dict[str | None, BrowserContext] = {}
    for page in PAGES:
        if page.who not in made:
            context = await new_context(module_browser)
            if page.who is not None:
                await sign_in(await context.new_page(), site.base, site.tokens[page.who])
            made[page.who] = context
    yield made
    for context in made.values():
        await context.close()


@pytest.mark.parametrize("shown", existing(PAGES, SERVED), ids=lambda p: p.name)
async def test_every_page_reads_well_in_both_languages_on_a_desktop_and_a_phone(
        shown: ConsolePage, served: tuple[Api, World],
        profiles: dict[str | None, BrowserContext]) -> None:
    site, world = served
    page = await profiles[shown.who].new_page()
    problems: list[str] = []

    def seen(message: ConsoleMessage) -> None:
        if message.type == "error" and "status of 404" not in message.text:
            problems.append(message.text)

    page.on("console", seen)
    page.on("pageerror", lambda error: problems.append(str(error)))
    path = shown.path(world)
    try:
        for n, lang in enumerate(("zh", "en")):
            await page.goto(f"{site.base}/console/lang/{lang}?next={quote(path)}")
            for size, device in ((DESKTOP, "desktop"), (PHONE, "phone")):
                await page.set_viewport_size(size)
                await page.goto(site.base + path)  # loaded at that width, as a phone does
                await screenshot(page, f"page-{shown.name}-{lang}-{device}")
                width = await page.evaluate("document.documentElement.scrollWidth")
                assert width <= size["width"], (lang, device, width, await page.evaluate(
                    WIDER, size["width"]))
                if n == 0 and device == "phone":
                    assert await serious_violations(page) == [], (lang, device)
        assert problems == []
    finally:
        await page.close()


async def test_the_departure_page_prints_readably(
        served: tuple[Api, World], profiles: dict[str | None, BrowserContext]) -> None:
    if "/departures/{departure_id}" not in SERVED:
        pytest.skip("the departure page is not on this branch")  # pages-departure's
    site, world = served
    page = await profiles["hr.sun"].new_page()
    try:
        await page.goto(f"{site.base}/console/lang/zh?next=/console/departures/"
                        f"{world.open_case}")
        await page.emulate_media(media="print")
        await screenshot(page, "print-departure-zh")
        printed = await page.pdf(path=str(ARTIFACTS / "print-departure-zh.pdf"), format="A4")
        assert printed.startswith(b"%PDF")
        # the case, not the screen's tools: no navigation, no forms
        for hidden in ("header nav", "form", "section.close-box", "section.hr-forms"):
            for element in await page.locator(hidden).all():
                assert not await element.is_visible(), hidden
        # the timeline is a page of its own, printable as well
        await page.goto(f"{site.base}/console/departures/{world.open_case}/timeline")
        await screenshot(page, "print-departure-timeline-zh")
        assert await page.locator("section[data-part=timeline] li").first.is_visible()
    finally:
        await page.close()
