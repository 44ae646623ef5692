"""Real Chromium for the console's browser tests: Debian's /usr/bin/chromium driven by
Playwright's async API, headless, never a downloaded browser. Without it the tests skip,
except in CI (CI=true), where they fail. Screenshots go to tests/artifacts/console/
(gitignored), to be looked at."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "console"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless Chromium for one test."""
    async with chromium() as launched:
        yield launched


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Launch the headless Chromium (for a fixture of any scope): skipped without it, except
    in CI, where that fails."""
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - one stat, before the loop does anything
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing (Debian package chromium, required in CI)")
        pytest.skip(f"{CHROMIUM} is missing (Debian package chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield launched
        finally:
            await launched.close()


async def new_context(browser: Browser, *, phone: bool = False,
                      accept_language: str = "zh-CN") -> BrowserContext:
    """A fresh browser profile (no cookies): desktop or a 390-pixel-wide phone, sending
    ``accept_language``."""
    return await browser.new_context(
        viewport=PHONE if phone else DESKTOP, is_mobile=phone, has_touch=phone,
        device_scale_factor=2 if phone else 1, locale=accept_language.split(",")[0],
        extra_http_headers={"Accept-Language": accept_language})


async def sign_in(page: Page, base: str, token: str) -> None:
    """Sign in on the console's sign-in form with a bearer token, by keyboard."""
    await page.goto(f"{base}/console/sign-in")
    await page.fill("#token", token)
    async with page.expect_navigation():
        await page.press("#token", "Enter")


async def signed_in_page(browser: Browser, base: str, token: str, *, phone: bool = False,
                         accept_language: str = "zh-CN") -> Page:
    """A new profile's page, signed in with ``token`` (close it with ``page.context.close()``);
    a principal with several roles is left on the role choice."""
    context = await new_context(browser, phone=phone, accept_language=accept_language)
    page = await context.new_page()
    await sign_in(page, base, token)
    return page


async def follow(page: Page, selector: str) -> None:
    """Click ``selector`` (a link or a form's button) and wait for the page it leads to."""
    async with page.expect_navigation():
        await page.click(selector)


def watch_problems(page: Page, problems: list[str], ignoring: tuple[str, ...] = ()) -> None:
    """Collect what the browser complains about into ``problems`` (a CSP violation is logged
    as an error), but console errors that contain one of ``ignoring``."""
    def seen(message: ConsoleMessage) -> None:
        if message.type == "error" and not any(text in message.text for text in ignoring):
            problems.append(message.text)
    page.on("console", seen)
    page.on("pageerror", lambda error: problems.append(str(error)))


async def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as tests/artifacts/console/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def serious_violations(page: Page) -> list[str]:
    """axe-core (bundled with axe-playwright-python, nothing downloaded) on the page: the
    serious and critical violations, each as "rule: help (n nodes)"."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
            for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
