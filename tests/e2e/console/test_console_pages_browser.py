"""The queue, report and verify pages in a real browser (Debian's Chromium, headless): IT
clears an item IAM reported on, from a phone, by keyboard; HR reads the report's charts and
downloads its CSV; legal checks an exported bundle. Each page in Chinese and English, on a
desktop and a 390-pixel phone: screenshots in tests/artifacts/console/, axe-core finds
nothing serious, the page is no wider than the phone."""

from __future__ import annotations

from urllib.parse import quote

from playwright.async_api import Browser, Page

from tests.integration.http_fixtures import Api
from tests.support.browser import (
    DESKTOP,
    PHONE,
    screenshot,
    serious_violations,
    signed_in_page,
    watch_problems,
)
from tests.support.console_cases import caught_up, clearance_case, closed_case, following


async def _every_view(page: Page, base: str, path: str, name: str) -> None:
    """``path`` in both languages at both widths: screenshots, axe, no sideways scrolling."""
    for lang in ("zh", "en"):
        await page.goto(f"{base}/console/lang/{lang}?next={quote(path)}")
        for size, device in ((DESKTOP, "desktop"), (PHONE, "phone")):
            await page.set_viewport_size(size)
            await screenshot(page, f"{name}-{lang}-{device}")
            assert await serious_violations(page) == [], (name, lang, device)
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= size["width"], (name, lang, device, width)


async def test_it_clears_an_item_iam_reported_on_from_a_phone(browser: Browser,
                                                              site: Api) -> None:
    _, email = await clearance_case(site)
    await caught_up(site)
    page = await signed_in_page(browser, site.base, site.tokens["it.qian"], phone=True)
    problems: list[str] = []
    watch_problems(page, problems)
    await page.goto(f"{site.base}/console/queues/it")
    assert await page.locator("h1").inner_text() == "IT 队列"
    card = page.locator(f"#item-{email}")
    assert "Okta" in await card.locator(".reports").inner_text()
    assert "account_disabled" in await card.locator(".reports").inner_text()
    await _every_view(page, site.base, "/console/queues/it", "queue")
    await page.goto(f"{site.base}/console/lang/zh?next=/console/queues/it")
    async with following(site):
        await page.focus(f"#note-{email}")
        await page.keyboard.type("邮箱已停用")
        await page.keyboard.press("Tab")  # to the button
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert await page.locator(".flash").inner_text() == "事项已确认。"
    assert await page.locator(f"#item-{email}").count() == 0
    item = (await site.get(f"/v1/items/{email}", "hr.sun")).json()
    assert (item["state"], item["confirmed_by"]) == ("confirmed", "it.qian")
    assert problems == []
    await page.context.close()


async def test_hr_reads_the_report_charts_and_downloads_the_csv(browser: Browser,
                                                                site: Api) -> None:
    await closed_case(site, department="Sales", rejected=True, reminders=1)
    await closed_case(site, department="R&D", notice="2026-10-01", leaver="stranger")
    await caught_up(site)
    page = await signed_in_page(browser, site.base, site.tokens["hr.sun"])
    problems: list[str] = []
    watch_problems(page, problems)
    await page.goto(f"{site.base}/console/reports")
    assert await page.locator("svg.hl-chart").count() == 3
    assert await page.locator("table.report tbody tr").count() == 2
    async with page.expect_download() as waiting:
        await page.click("a.download")
    download = await waiting.value
    assert download.suggested_filename == "handover-report.csv"
    lines = (await download.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("department,closed,") and len(lines) == 3
    await _every_view(page, site.base, "/console/reports", "reports")
    assert problems == []
    await page.context.close()


async def test_legal_checks_an_exported_bundle_on_the_verify_page(browser: Browser, site: Api,
                                                                  tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    departure_id = await closed_case(site)
    await caught_up(site)
    exported = await site.get(f"/v1/departures/{departure_id}/bundle", "legal.x")
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(exported.body)
    page = await signed_in_page(browser, site.base, site.tokens["legal.x"],
                                accept_language="en")
    problems: list[str] = []
    watch_problems(page, problems)
    await page.goto(f"{site.base}/console/verify")
    await page.set_input_files("#bundle", str(bundle))
    async with page.expect_navigation():
        await page.click("form.upload button")
    assert (await page.locator(".verdict h2").inner_text()).startswith("PASS")
    await screenshot(page, "verify-result-en-desktop")
    assert await serious_violations(page) == []
    await page.set_viewport_size(PHONE)
    await screenshot(page, "verify-result-en-phone")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await _every_view(page, site.base, "/console/verify", "verify")
    assert problems == []
    await page.context.close()
