"""The console in a real browser (Debian's Chromium, headless): HR signs in with a token,
reads the dashboard in Chinese and English (the switch sticks), on a desktop and a 390-pixel
phone; axe-core finds nothing serious; screenshots go to tests/artifacts/console/."""

from __future__ import annotations

from playwright.async_api import Browser

from tests.integration.http_fixtures import Api
from tests.support.browser import (
    follow,
    new_context,
    screenshot,
    serious_violations,
    sign_in,
    signed_in_page,
    watch_problems,
)
from tests.support.console import open_case, risky_and_calm_cases


async def test_hr_signs_in_and_reads_the_dashboard_in_both_languages(
        browser: Browser, site: Api) -> None:
    risky, calm = await risky_and_calm_cases(site)
    context = await new_context(browser, accept_language="zh-CN,zh;q=0.9")
    page = await context.new_page()
    problems: list[str] = []
    watch_problems(page, problems)
    await sign_in(page, site.base, site.tokens["hr.sun"])
    assert page.url == f"{site.base}/console/", (problems, await page.content())
    assert await page.locator("h1").inner_text() == "人事看板"
    card = page.locator(f'a[href="/console/departures/{risky}"]')
    assert await card.inner_text() == "赵敏"
    assert await page.locator("progress").count() == 2
    first = page.locator(".case").first
    assert "2026年11月30日" in await first.locator(".dates").inner_text()
    assert "还剩 2 天" in await first.locator(".dates").inner_text()
    assert "有事项已逾期" in await first.locator(".reasons").inner_text()
    assert await page.locator(f'.case:has(a[href$="{calm}"]) .reasons').count() == 0
    await screenshot(page, "dashboard-zh-desktop")
    assert await serious_violations(page) == []
    await follow(page, "text=English")
    assert await page.locator("h1").inner_text() == "HR dashboard"
    await page.goto(f"{site.base}/console/?risk=")  # another page: the switch sticks
    assert await page.locator("h1").inner_text() == "HR dashboard"
    assert "30 Nov 2026" in await page.locator(".dates").first.inner_text()
    assert "An item is overdue" in await page.locator(".reasons").first.inner_text()
    await screenshot(page, "dashboard-en-desktop")
    assert problems == []
    await context.close()


async def test_the_dashboard_fits_a_phone_and_signs_out(browser: Browser, site: Api) -> None:
    await open_case(site, leaver="zhao.min")
    context = await new_context(browser, phone=True, accept_language="en-US,en;q=0.9")
    page = await context.new_page()
    problems: list[str] = []
    watch_problems(page, problems)
    await page.goto(f"{site.base}/console/sign-in")
    await screenshot(page, "sign-in-en-phone")
    assert await serious_violations(page) == []
    await sign_in(page, site.base, site.tokens["hr.sun"])
    assert await page.locator("h1").inner_text() == "HR dashboard"
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px screen"
    await screenshot(page, "dashboard-en-phone")
    await follow(page, "text=中文")
    assert await page.locator("h1").inner_text() == "人事看板"
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await screenshot(page, "dashboard-zh-phone")
    assert await serious_violations(page) == []
    await follow(page, "text=退出登录")
    assert page.url.startswith(f"{site.base}/console/sign-in")
    assert await page.locator(".flash").inner_text() == "您已退出登录。"
    await page.goto(f"{site.base}/console/")
    assert page.url.startswith(f"{site.base}/console/sign-in")
    assert problems == []
    await context.close()


async def test_a_leaver_sees_a_landing_not_the_dashboard(browser: Browser, site: Api) -> None:
    await open_case(site, leaver="zhao.min")
    page = await signed_in_page(browser, site.base, site.tokens["wang.lei"])
    assert "欢迎" in await page.locator("h1").inner_text()
    assert await page.locator(".case").count() == 0
    await screenshot(page, "landing-zh-desktop")
    assert await serious_violations(page) == []
    await page.context.close()


async def test_a_principal_with_two_roles_chooses_one_by_keyboard(browser: Browser,
                                                                  site: Api) -> None:
    context = await new_context(browser, phone=True, accept_language="zh-CN")
    page = await context.new_page()
    problems: list[str] = []
    watch_problems(page, problems)
    await sign_in(page, site.base, site.tokens["hr.leaver"])  # employee and hr
    assert page.url.startswith(f"{site.base}/console/role")
    await screenshot(page, "role-zh-phone")
    assert await serious_violations(page) == []
    await page.focus("#role-employee")  # checked: the first role
    await page.keyboard.press("ArrowDown")  # moves the choice to hr
    assert await page.is_checked("#role-hr")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert await page.locator("h1").inner_text() == "人事看板"
    assert "您现在以人事身份操作。" in await page.locator(".flash").inner_text()
    await page.reload()
    assert await page.locator(".flash").count() == 0  # shown once
    assert problems == []
    await context.close()
