"""HR starts a departure in the console (``/console/departures/new``): the form runs the API's
``StartDeparture`` and goes to the new case's page; a refusal keeps the form filled in;
nobody but HR finds the page."""

from __future__ import annotations

from playwright.async_api import Browser

from ledger.aggregates.departure import Departure
from tests.integration.http_fixtures import Api
from tests.support.browser import screenshot, serious_violations, signed_in_page
from tests.support.console import Console

NEW = "/console/departures/new"
FORM = {"leaver_id": "wang.lei", "leaver_name": "王磊", "department": "Sales",
        "position": "Account manager", "role_family": "sales", "notice_date": "2026-11-01",
        "last_working_day": "2026-11-30", "reason": "resigned", "hr_owner_id": "hr.sun",
        "manager_id": "li.qiang", "successor_id": "zhao.min", "manager_approves": "yes"}


async def test_hr_starts_a_departure_from_the_dashboards_button_and_lands_on_its_page(
        console: Console, site: Api) -> None:
    await console.sign_in("hr.sun")
    dashboard = (await console.get("/console/", headers={"Accept-Language": "en"})).body
    assert f'<a class="button" href="{NEW}">New departure</a>'.encode() in dashboard
    form = (await console.get(NEW)).body.decode()
    assert 'name="hr_owner_id" value="hr.sun"' in form  # HR owner: me, by default
    reply = await console.post_form(NEW, FORM)
    assert reply.status == 303, reply.body[:400]
    location = reply.headers["Location"]
    assert location.startswith("/console/departures/")
    departure_id = location.split("/")[3].split("?")[0]
    case = await site.runtime.ledger.load(Departure, departure_id)
    assert (case.state, case.leaver["name"], case.hr_owner_id) == ("draft", "王磊", "hr.sun")
    assert case.approval_chain == [{"name": "manager", "approver_id": "li.qiang"}]
    assert case.successor_id == "zhao.min"
    await site.sequence()
    await site.runtime.board.catch_up()
    assert (await console.get(location)).status == 200


async def test_a_refused_start_shows_the_problem_with_the_form_still_filled_in(
        console: Console, site: Api) -> None:
    await console.sign_in("hr.sun")
    wrong = {**FORM, "last_working_day": "2026-10-01", "reason": "合同到期"}
    reply = await console.post_form(NEW, wrong, headers={"Accept-Language": "en"})
    assert reply.status == 422, reply.body[:400]
    page = reply.body.decode()
    assert 'role="alert"' in page
    assert 'value="2026-10-01"' in page and ">合同到期</textarea>" in page
    assert 'value="li.qiang"' in page and 'value="zhao.min"' in page


async def test_only_hr_finds_the_new_departure_page_and_a_post_needs_the_csrf_token(
        console: Console, site: Api) -> None:
    await console.sign_in("li.qiang")
    assert (await console.get(NEW)).status == 404
    await console.sign_in("hr.sun")
    forged = await console.request("POST", NEW, data=FORM)
    assert forged.status == 403
    assert (await site.get("/v1/boards/hr", "hr.sun")).json()["total"] == 0


async def test_the_new_departure_form_fits_a_phone_reads_in_both_languages_and_passes_axe(
        browser: Browser, site: Api) -> None:
    for lang, phone in (("zh-CN", False), ("zh-CN", True), ("en-GB,en", False),
                        ("en-GB,en", True)):
        page = await signed_in_page(browser, site.base, site.tokens["hr.sun"], phone=phone,
                                    accept_language=lang)
        await page.goto(site.base + NEW)
        assert await page.locator("h1").inner_text() == (
            "新建离职" if lang.startswith("zh") else "New departure")
        await screenshot(page, f"new-departure-{lang[:2]}-{'phone' if phone else 'desktop'}")
        assert await serious_violations(page) == []
        if phone:
            assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await page.context.close()
