"""The departure page in a real browser (Debian's Chromium, headless), with the ledger's
workers running as ``ledger serve`` runs them: HR follows a case from the dashboard, sees the
dashboard and the case change live when commands run through the API, adds and waives an item
by its forms, closes once the gate allows and downloads the bundle; a leaver reads the case on
a phone without HR's actions. Screenshots in zh and en, desktop and phone; axe-core."""

from __future__ import annotations

import io
import zipfile

from playwright.async_api import Browser, Page, expect

from tests.integration.http_fixtures import Api
from tests.support.browser import follow, screenshot, serious_violations, signed_in_page
from tests.support.case_steps import add_item
from tests.support.confirmation import sign_confirmation_over_http
from tests.support.console import on_both_stores, open_case


async def _narrow(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px screen"


@on_both_stores
async def test_hr_follows_a_case_live_acts_on_it_and_closes_it(browser: Browser,
                                                               site: Api) -> None:
    departure_id = await open_case(site)
    first = await add_item(site, departure_id, receiver="zhao.min")
    second = await add_item(site, departure_id, receiver="zhao.min", title="项目文档",
                            category="projects", due_date="2026-11-20")
    await site.runtime.workers.start()
    try:
        page = await signed_in_page(browser, site.base, site.tokens["hr.sun"])
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        row = page.locator(f'.case:has(a[href="/console/departures/{departure_id}"])')
        await expect(row.locator(".progress label")).to_contain_text("必办事项已完成 0 / 2")
        await page.evaluate("window.notReloaded = true")
        # a command through the API: the open dashboard changes without a reload
        assert (await site.post(f"/v1/items/{first}/submit", "wang.lei", json={})).status == 200
        assert (await site.post(f"/v1/items/{first}/confirm", "zhao.min", json={})).status == 200
        await expect(row.locator(".progress label")).to_contain_text("必办事项已完成 1 / 2",
                                                                     timeout=10_000)
        assert await page.evaluate("window.notReloaded") is True
        await follow(page, f'a[href="/console/departures/{departure_id}"]')
        assert "王磊" in await page.locator("h1").inner_text()
        close = page.locator("#close-title + form button, .close-box button[type=submit]")
        await expect(close).to_be_disabled()
        await expect(page.locator(".blocking")).to_contain_text("项目文档 — 接收人 赵敏")
        await screenshot(page, "departure-zh-desktop")
        assert await serious_violations(page) == []
        # HR adds an item by its form, then waives it with a reason
        await page.fill("#new-title", "门禁卡")
        await page.fill("#new-receiver", "dept:admin")
        await page.select_option("#new-category", "assets")
        await follow(page, "text=新增事项")
        assert "事项已新增。" in await page.locator(".flash").inner_text()
        added = await page.locator(".item", has_text="门禁卡").get_attribute("id")
        assert added is not None
        await page.locator("#item-actions summary").click()
        await page.select_option("#waive-item", added.removeprefix("item-"))
        await page.fill("#waive-reason", "行政已收回")
        await follow(page, "form[action$='/waive'] button")
        assert "事项已豁免。" in await page.locator(".flash").inner_text()
        await expect(page.locator(".item", has_text="门禁卡")).to_contain_text("已豁免")
        # the last open item is done through the API: the page follows, the close button opens
        await page.evaluate("window.notReloaded = true")
        assert (await site.post(f"/v1/items/{second}/submit", "wang.lei", json={})).status == 200
        assert (await site.post(f"/v1/items/{second}/confirm", "zhao.min",
                                json={})).status == 200
        await expect(close).to_be_enabled(timeout=10_000)
        assert await page.evaluate("window.notReloaded") is True
        await sign_confirmation_over_http(site, departure_id)
        await follow(page, ".close-box button[type=submit]")
        assert "已结案。" in await page.locator(".flash").inner_text()
        await expect(page.locator(".case-state")).to_have_text("已结案")
        assert "终版" in await page.locator("#bundle-title + form + p").inner_text()
        async with page.expect_download() as waiting:
            await page.click("#bundle-form button[type=submit]")
        download = await waiting.value
        path = await download.path()
        with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as bundle:
            assert bundle.testzip() is None and "META-INF/manifest.json" in bundle.namelist()
        await follow(page, "text=English")
        assert "Final: the case is finished" in await page.locator("main").inner_text()
        await screenshot(page, "departure-en-desktop")
        assert await serious_violations(page) == []
        # the timeline on its own page, one click away (by keyboard too)
        await page.focus(f'a[href="/console/departures/{departure_id}/timeline"]')
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await expect(page.locator("section[data-part=timeline]")).to_contain_text(
            "hr.sun closed the case")
        await screenshot(page, "departure-timeline-en-desktop")
        assert await serious_violations(page) == []
        assert problems == []
        await page.context.close()
    finally:
        await site.runtime.workers.stop()


async def test_a_leaver_reads_the_case_on_a_phone_without_hr_actions(browser: Browser,
                                                                     site: Api) -> None:
    departure_id = await open_case(site)
    item = await add_item(site, departure_id, due_date="2026-11-20")
    assert (await site.post(f"/v1/items/{item}/submit", "wang.lei", json={})).status == 200
    assert (await site.post(f"/v1/items/{item}/reject", "zhao.min",
                            json={"reason": "缺少三期需求"})).status == 200
    await site.read_model(f"/v1/boards/departures/{departure_id}", "hr.sun")
    page = await signed_in_page(browser, site.base, site.tokens["wang.lei"], phone=True,
                                accept_language="en-GB,en;q=0.9")
    await page.goto(f"{site.base}/console/departures/{departure_id}")
    main = await page.locator("main").inner_text()
    assert "Rejected by 赵敏" in main and "reason: 缺少三期需求" in main
    assert await page.locator("form[action$='/close'], form[action$='/waive']").count() == 0
    assert "Interim: the case is still open" in main
    await _narrow(page)
    await screenshot(page, "departure-en-phone")
    assert await serious_violations(page) == []
    await follow(page, "text=中文")
    await _narrow(page)
    await screenshot(page, "departure-zh-phone")
    assert await serious_violations(page) == []
    await page.context.close()
    hr = await signed_in_page(browser, site.base, site.tokens["hr.sun"], phone=True)
    await hr.goto(f"{site.base}/console/departures/{departure_id}")
    await hr.locator("#item-actions summary").click()
    await expect(hr.locator("#remind-item")).to_be_visible()
    await _narrow(hr)
    await screenshot(hr, "departure-hr-zh-phone")
    assert await serious_violations(hr) == []
    await hr.context.close()
