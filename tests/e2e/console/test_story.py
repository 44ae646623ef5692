"""The whole story of issue 12 in one real Chromium against one real server on loopback: HR
starts a departure and applies the sales checklist; the leaver, signed in by the one-time
link HR sent from the case's page, on a 390-pixel phone, uploads the client file with a note;
the receiver reads the note and rejects it with a reason; the leaver resubmits; the receiver
confirms with a signature made in the browser (WebCrypto Ed25519); IT clears its queue item;
the HR dashboard, open all along, shows it without a reload; HR waives the rest on the case's
page; the leaver, the receiver, IT and HR sign the handover confirmation (交接确认书) on its
page; HR closes; legal downloads the bundle and verifies it on the verify page.

Only the IAM system's report is made through the API: it is a system, not a person. The story
runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Browser, FilePayload, Page

from tests.integration.http_fixtures import Api, Reply, departure_body
from tests.support.browser import follow, new_context, screenshot, signed_in_page
from tests.support.console import on_both_stores
from tests.support.console_cases import following, item_ids

CLIENT_FILE = "客户名单及联系人交接"  # the sales checklist's client list, for the successor
IT_ITEM = "停用企业邮箱并设置转交"  # the clearance checklist's e-mail account, for IT
BUSY = 180_000  # ms: an export renders report.pdf, slow on a busy two-core machine


def _ok(reply: Reply, status: int = 200) -> dict[str, Any]:
    assert reply.status == status, reply.body[:400]
    found: dict[str, Any] = reply.json()
    return found


async def _start(page: Page, body: dict[str, Any]) -> None:
    """Fill in the new departure form with ``body`` (a StartDeparture's) and send it."""
    leaver = body["leaver"]
    for field, value in (("#leaver-id", leaver["id"]), ("#leaver-name", leaver["name"]),
                         ("#department", leaver["department"]),
                         ("#position", leaver["position"]),
                         ("#notice-date", body["notice_date"]),
                         ("#last-working-day", body["last_working_day"]),
                         ("#reason", body["reason"]), ("#manager", body["manager_id"]),
                         ("#successor", "zhao.min")):
        await page.fill(field, value)
    await page.select_option("#role-family", leaver["role_family"])
    assert await page.input_value("#hr-owner") == "hr.sun"  # me, by default
    await follow(page, "form[action='/console/departures/new'] button[type=submit]")


async def _send_link(hr: Page, case: str, who: str) -> str:
    """HR sends ``who`` a one-time sign-in link from the case's page: its address, shown
    once, for HR to pass on."""
    await hr.goto(case)
    await hr.select_option("#link-principal", who)
    await follow(hr, "form[action$='/sign-in-link'] button[type=submit]")
    await screenshot(hr, "story-sign-in-link-en-desktop")
    return await hr.input_value("#link-url")


async def _waive(hr: Page, item_id: str, reason: str) -> None:
    """On the case's page, HR waives one item with its reason in "HR actions on an item"
    (the page the waiver leads back to)."""
    if await hr.locator("#item-actions").get_attribute("open") is None:
        await hr.click("#item-actions summary")
    await hr.select_option("#waive-item", item_id)
    await hr.fill("#waive-reason", reason)
    await follow(hr, "form[action$='/waive'] button[type=submit]")
    assert await hr.locator(f"#item-{item_id}.state-waived").count() == 1


async def _sign_confirmation(page: Page, case: str, *, with_key: bool = False) -> None:
    """The signed-in person signs the handover confirmation on its page: with their own
    key made in the browser, or without one (a session a link opened has no key)."""
    await page.goto(f"{case}/confirmation")
    if with_key:
        await page.click(".sign-show")
        await page.locator(".sign-box pre.statement").wait_for()
        async with page.expect_navigation():
            await page.click(".sign-now")
    else:
        await follow(page, "#sign-confirmation-form button[type=submit].secondary")


async def _upload(page: Page, name: str, content: bytes) -> None:
    """Choose ``name`` in the item's submit form and send it with a note (the page's script
    uploads it with progress, then follows the server's redirect)."""
    chosen: FilePayload = {"name": name, "mimeType": "text/csv", "buffer": content}
    await page.set_input_files("#file", files=[chosen])
    await page.fill("#note", f"{name}，请查收")
    async with page.expect_navigation():
        await page.click("form[action$='/submit'] button[type=submit]")


@on_both_stores
async def test_hr_leaver_receiver_it_and_legal_take_a_departure_from_start_to_verified_bundle(
        browser: Browser, site: Api, tmp_path: Path) -> None:
    async with following(site):
        # HR starts the case with the dashboard's "New departure" form
        hr = await signed_in_page(browser, site.base, site.tokens["hr.sun"],
                                  accept_language="en-GB,en")
        await hr.goto(f"{site.base}/console/")
        await follow(hr, "a[href='/console/departures/new']")
        await _start(hr, departure_body(last_day="2027-01-29"))
        departure_id = hr.url.split("/console/departures/")[1].split("?")[0]
        case = f"{site.base}/console/departures/{departure_id}"
        await follow(hr, "form[action$='/submit'] button")
        manager = await signed_in_page(browser, site.base, site.tokens["li.qiang"])
        await manager.goto(case)
        await follow(manager, "form[action$='/approve'] button")
        await manager.context.close()
        # HR applies the sales checklist on the case's page (and the clearance one, for IT)
        await hr.goto(case)
        for key in ("sales", "clearance"):
            await hr.select_option("#template-key", key)
            await follow(hr, "form[action$='/apply'] button")
        items = await item_ids(site, departure_id)
        client_file, it_item = items[CLIENT_FILE], items[IT_ITEM]
        # in English, the built-in item's English label, the title as recorded beside it
        assert await hr.locator(f"#item-{client_file} .item-title").inner_text() == (
            f"Client list and contacts {CLIENT_FILE}")
        # HR's dashboard stays open from here on
        dashboard = await hr.context.new_page()
        await dashboard.goto(f"{site.base}/console/")
        row = dashboard.locator("li.case", has=dashboard.locator(
            f"a[href='/console/departures/{departure_id}']"))
        progress = row.locator(".progress label")
        assert (await progress.inner_text()).startswith("0 of 26 ")
        await dashboard.evaluate("window.storyMark = 'still this page'")  # gone on a reload

        # HR sends the leaver a one-time sign-in link from the case's page
        link = await _send_link(hr, case, "wang.lei")
        assert link.startswith(f"{site.base}/console/sign-in/link/hll_")
        leaver = await (await new_context(browser, phone=True)).new_page()
        await leaver.goto(link)
        await follow(leaver, "form.card button[type=submit]")
        await leaver.goto(f"{site.base}/console/tasks")
        await follow(leaver, f"a[href='/console/items/{client_file}']")
        await _upload(leaver, "客户名单.csv", "客户,联系人\n华东电气,王经理\n".encode())
        assert (await leaver.locator(".item-state").inner_text()).startswith("已提交")
        assert (await site.get(f"/v1/items/{client_file}", "hr.sun")).json()["state"] == (
            "submitted")
        await screenshot(leaver, "story-leaver-submitted-zh-phone")
        assert await leaver.evaluate("document.documentElement.scrollWidth") <= 390

        # the receiver reads the leaver's note and rejects the file with a reason
        receiver = await signed_in_page(browser, site.base, site.tokens["zhao.min"])
        await receiver.goto(f"{site.base}/console/items/{client_file}")
        assert await receiver.locator(".giver-note .said").inner_text() == "客户名单.csv，请查收"
        await screenshot(receiver, "story-receiver-note-zh-desktop")
        await receiver.fill("#reason", "缺少华南区客户的联系人")
        await follow(receiver, "form[action$='/reject'] button")
        assert (await site.get(f"/v1/items/{client_file}", "hr.sun")).json()["state"] == (
            "rejected")

        # the leaver sees the reason and resubmits
        await leaver.goto(f"{site.base}/console/items/{client_file}")
        assert await leaver.locator(".rejection .reason").inner_text() == "缺少华南区客户的联系人"
        assert not await leaver.is_checked("#keep-1")  # the rejected file: cited again if ticked
        await _upload(leaver, "客户名单-全.csv",
                      "客户,联系人\n华东电气,王经理\n华南物流,陈总\n".encode())
        resubmitted = (await site.get(f"/v1/items/{client_file}", "hr.sun")).json()
        assert resubmitted["state"] == "submitted"
        assert [e["name"] for e in resubmitted["evidence"]] == ["客户名单-全.csv"]

        # the receiver confirms with a signature made in the browser by their own key
        await receiver.goto(f"{site.base}/console/items/{client_file}")
        await receiver.click(".sign-show")
        statement = receiver.locator("pre.statement")
        await statement.wait_for()
        assert CLIENT_FILE in await statement.inner_text()
        async with receiver.expect_navigation():
            await receiver.click(".sign-now")
        confirmed = (await site.get(f"/v1/items/{client_file}", "hr.sun")).json()
        assert confirmed["state"] == "confirmed" and confirmed["confirmed_by"] == "zhao.min"
        assert [s["strong"] for s in confirmed["signoffs"]] == [True]  # signed, by key
        keys = (await site.get("/v1/principals/zhao.min/keys", "zhao.min")).json()["keys"]
        assert keys, "the browser's Ed25519 key is registered for the receiver"

        # (the dashboard has followed the receiver's confirmation live)
        await progress.filter(has_text="1 of 26 ").wait_for(timeout=10_000)

        # IT clears its queue item once the IAM system has reported the account disabled
        _ok(await site.post(f"/v1/items/{it_item}/external-evidence", "system.iam",
                                  json={"source": "Okta", "kind": "account_disabled",
                                        "reference": "OKTA-4711"}), 201)
        it = await signed_in_page(browser, site.base, site.tokens["it.qian"], phone=True)
        await it.goto(f"{site.base}/console/queues/it")
        await it.fill(f"#note-{it_item}", "邮箱已停用并设置转交")
        await follow(it, f"#item-{it_item} form[action$='/confirm'] button")
        assert await it.locator(f"#item-{it_item}").count() == 0

        # the dashboard HR left open has followed, without a reload
        await progress.filter(has_text="2 of 26 ").wait_for(timeout=10_000)
        assert await dashboard.evaluate("window.storyMark") == "still this page"

        # HR waives the rest of the checklist on the case's page, one item at a time
        await hr.goto(case)
        for title, item_id in items.items():
            if item_id not in (client_file, it_item):
                await _waive(hr, item_id, f"story: {title} not needed")
        await screenshot(hr, "story-waived-en-desktop")

        # everyone signs the handover confirmation on its page: the leaver from My tasks
        # (a link's session: without a key), the receiver with their key, IT, then HR
        await leaver.goto(f"{site.base}/console/tasks")
        await follow(leaver, f"a[href='/console/departures/{departure_id}/confirmation']")
        assert await leaver.locator(".sign-by-link").count() == 1
        await follow(leaver, "#sign-confirmation-form button[type=submit].secondary")
        await screenshot(leaver, "story-leaver-signed-confirmation-zh-phone")
        await _sign_confirmation(receiver, case, with_key=True)
        await _sign_confirmation(it, case)
        await _sign_confirmation(hr, case)
        await screenshot(hr, "story-confirmation-signed-en-desktop")
        signed = (await site.get(f"/v1/departures/{departure_id}/confirmation", "hr.sun")
                  ).json()
        assert signed["unsigned"] == []
        for context in (leaver.context, receiver.context, it.context):
            await context.close()
        await hr.goto(case)
        await follow(hr, "section[data-part=close] button[type=submit]")
        assert "closed" in (await site.get(f"/v1/departures/{departure_id}", "hr.sun")
                            ).json()["state"]

        # legal downloads the final bundle and checks it on the verify page
        legal = await signed_in_page(browser, site.base, site.tokens["legal.x"],
                                     accept_language="en-GB,en")
        await legal.goto(case)
        async with legal.expect_download(timeout=BUSY) as waiting:  # the PDF takes a while
            await legal.click("#bundle-form button[type=submit]", timeout=BUSY)
        bundle = tmp_path / "bundle.zip"
        await (await waiting.value).save_as(bundle)
        await legal.goto(f"{site.base}/console/verify")
        await legal.set_input_files("#bundle", str(bundle))
        async with legal.expect_navigation(timeout=BUSY):
            await legal.click("form.upload button")
        assert (await legal.locator(".verdict h2").inner_text()).startswith("PASS")
        await screenshot(legal, "story-verify-pass-en-desktop")
        # and again in Chinese (the switch sticks): every line through the catalogues
        await follow(legal, "a[href^='/console/lang/zh']")
        await legal.set_input_files("#bundle", str(bundle))
        async with legal.expect_navigation(timeout=BUSY):
            await legal.click("form.upload button")
        assert (await legal.locator(".verdict h2").inner_text()).startswith("通过")
        assert await legal.locator(".check-lines .status").all_inner_texts() == [
            "通过"] * await legal.locator(".check-lines li").count()
        await screenshot(legal, "story-verify-pass-zh-desktop")
        await legal.context.close()
        await hr.context.close()
