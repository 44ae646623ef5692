"""My tasks in a real browser (Debian's Chromium, headless): the leaver on a 390-pixel phone
submits two files with a note (the upload's progress shown), the receiver rejects with a
reason (a rejection without one is refused), the leaver reads it and resubmits by keyboard
alone, the receiver confirms by keyboard alone with an Ed25519 signature made in the browser
(the recorded event carries the signature and the public key, and they verify); then the
handover confirmation is signed and a dispute raised, answered and decided. Every page is
screenshotted in both languages on a desktop and a phone, and axe-core finds nothing
serious."""

from __future__ import annotations

import asyncio
import base64
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from playwright.async_api import Browser, FileChooser, Page

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from tests.integration.http_fixtures import Api
from tests.support.browser import (
    DESKTOP,
    PHONE,
    screenshot,
    serious_violations,
    signed_in_page,
    watch_problems,
)
from tests.support.case_steps import add_item
from tests.support.console_tasks import case_with_item, caught_up

FILES = [{"name": "clients.xlsx", "mimeType": "application/octet-stream",
          "buffer": b"c" * 400_000},
         {"name": "合同.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 contract"}]


async def _every_way(page: Page, name: str, back_to: str = "zh") -> None:
    """Screenshots of the page as it is now in zh and en, desktop and phone; axe in each."""
    path = page.url.split("/console", 1)[1]
    assert await page.locator(".error[role=alert]").count() == 0, await page.content()
    before = page.viewport_size
    for lang in ("zh", "en"):
        await page.goto(page.url.split("/console", 1)[0] + f"/console/lang/{lang}?next="
                        f"/console{path}")
        for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            await page.set_viewport_size(viewport)
            await screenshot(page, f"tasks-{name}-{lang}-{size}")
        assert await serious_violations(page) == [], (name, lang)
    await page.goto(page.url.split("/console", 1)[0] + f"/console/lang/{back_to}?next="
                    f"/console{path}")
    if before is not None:
        await page.set_viewport_size(before)


async def _tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until ``selector`` has the focus (the keyboard alone)."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate(f"document.activeElement.matches({json.dumps(selector)})"):
            return
    raise AssertionError(f"Tab never reached {selector}")


async def _watch_progress(page: Page) -> None:
    """Keep every figure the upload's progress shows in sessionStorage (it outlives the
    navigation that follows)."""
    await page.evaluate("""() => {
      const figure = document.querySelector('.upload-figure');
      new MutationObserver(() => sessionStorage.setItem('seen',
        (sessionStorage.getItem('seen') || '') + '|' + figure.textContent))
        .observe(figure, {childList: true, characterData: true, subtree: true});
    }""")


async def test_leaver_and_receiver_complete_their_tasks_with_a_signature(
        browser: Browser, site: Api) -> None:
    departure_id, item_id = await case_with_item(site)
    leaver = await signed_in_page(browser, site.base, site.tokens["wang.lei"], phone=True)
    problems: list[str] = []
    watch_problems(leaver, problems, ignoring=("422",))
    await leaver.goto(f"{site.base}/console/tasks")
    assert await leaver.locator(f'a[href="/console/items/{item_id}"]').count() == 1
    await _every_way(leaver, "inbox")
    await leaver.click(f'a[href="/console/items/{item_id}"]')
    await _every_way(leaver, "submit")
    await leaver.set_input_files("#file", FILES)
    await leaver.fill("#note", "见附件：客户清单与合同")
    await leaver.fill("#lines", "华东客户\n华南客户")
    await _watch_progress(leaver)
    async with leaver.expect_navigation(url=f"**/console/items/{item_id}"):
        await leaver.click("form[data-live=upload] button[type=submit]")
    seen = await leaver.evaluate("sessionStorage.getItem('seen')")
    assert seen and "100 %" in seen, seen
    assert "已提交" in await leaver.locator(".flash").inner_text()
    item = await site.runtime.ledger.load(HandoverItem, item_id)
    assert item.state == "submitted" and len(item.evidence) == 2

    # the receiver, on a desktop in English: a rejection without a reason is refused
    await caught_up(site)
    receiver = await signed_in_page(browser, site.base, site.tokens["zhao.min"],
                                    accept_language="en")
    watch_problems(receiver, problems, ignoring=("422",))
    await receiver.goto(f"{site.base}/console/tasks")
    await receiver.click(f'a[href="/console/items/{item_id}"]')
    await _every_way(receiver, "confirm", back_to="en")
    async with receiver.expect_navigation():
        await receiver.click("button.danger")
    assert "Invalid input" in await receiver.locator("[role=alert]").inner_text()
    await receiver.fill("#reason", "缺少三期需求")
    await receiver.fill("#lr-2", "合同缺页")
    async with receiver.expect_navigation(url="**/console/tasks"):
        await receiver.click("button.danger")
    assert "Rejected" in await receiver.locator(".flash").inner_text()

    # the leaver reads the reason and resubmits by keyboard alone
    await leaver.goto(f"{site.base}/console/items/{item_id}")
    assert "缺少三期需求" in await leaver.locator(".rejection").inner_text()
    assert "合同缺页" in await leaver.locator(".rejection").inner_text()
    await _every_way(leaver, "resubmit")
    choosers: asyncio.Queue[FileChooser] = asyncio.Queue()
    leaver.on("filechooser", choosers.put_nowait)  # intercepted from now on, before Enter
    await leaver.wait_for_timeout(200)
    await _tab_to(leaver, "#file")
    await leaver.keyboard.press("Enter")
    chooser = await asyncio.wait_for(choosers.get(), 10)
    await chooser.set_files([{"name": "三期需求.docx", "mimeType": "application/octet-stream",
                              "buffer": b"phase 3"}])
    for kept in ("#keep-1", "#keep-2"):  # offered unticked after the rejection: both still apply
        assert not await leaver.is_checked(kept)
        await _tab_to(leaver, kept)
        await leaver.keyboard.press("Space")
        assert await leaver.is_checked(kept)
    await _tab_to(leaver, "#note")
    await leaver.keyboard.type("补充了三期需求")
    await _tab_to(leaver, "form[data-live=upload] button[type=submit]")
    async with leaver.expect_navigation(url=f"**/console/items/{item_id}"):
        await leaver.keyboard.press("Enter")
    item = await site.runtime.ledger.load(HandoverItem, item_id)
    assert item.state == "submitted" and sorted(e["name"] for e in item.evidence) == [
        "clients.xlsx", "三期需求.docx", "合同.pdf"]

    # the receiver confirms by keyboard alone, signing in the browser with their own key
    await receiver.goto(f"{site.base}/console/items/{item_id}")
    await receiver.locator("h1").focus()
    await _tab_to(receiver, "button.sign-show")
    await receiver.keyboard.press("Enter")
    await receiver.wait_for_selector(".sign-box:not([hidden])")
    shown = await receiver.locator(".sign-box pre.statement").inner_text()
    assert "交接确认 / Handover confirmation" in shown and "三期需求.docx" in shown
    await _tab_to(receiver, "button.sign-now")
    async with receiver.expect_navigation():
        await receiver.keyboard.press("Enter")
    assert receiver.url.endswith("/console/tasks"), await receiver.locator("main").inner_text()
    assert "signature" in await receiver.locator(".flash").inner_text()
    item = await site.runtime.ledger.load(HandoverItem, item_id)
    assert item.state == "confirmed"
    events = (await site.get(f"/v1/streams/{item_id}/events", "zhao.min")).json()["items"]
    [confirmed] = [json.loads(e["entry"]) for e in events if e["type"] == "ItemConfirmed"]
    signed = _find(confirmed, "signature")
    assert signed["algorithm"] == "ed25519" and signed["statement"].endswith("\n")
    assert signed["statement"].rstrip("\n") == shown.rstrip("\n")  # what was shown
    Ed25519PublicKey.from_public_bytes(base64.b64decode(signed["public_key"])).verify(
        base64.b64decode(signed["signature"]), signed["statement"].encode())
    keys = (await site.get("/v1/principals/zhao.min/keys", "zhao.min")).json()["keys"]
    assert [k["key_id"] for k in keys] == [signed["key_id"]]

    # the handover confirmation: the leaver signs by session, the receiver with their key
    served = (await site.read_model("/v1/inbox", "wang.lei")).json()
    assert [e["action"] for e in served["items"]] == ["sign_confirmation"], served
    await leaver.goto(f"{site.base}/console/tasks")
    link = f'a[href="/console/departures/{departure_id}/confirmation"]'
    assert await leaver.locator(link).count() == 1, await leaver.content()
    await leaver.click(link)
    await _every_way(leaver, "confirmation")
    async with leaver.expect_navigation():
        await leaver.click("#sign-confirmation-form button[type=submit]")
    assert "已签署" in await leaver.locator(".flash").inner_text()
    await receiver.goto(f"{site.base}/console/departures/{departure_id}/confirmation")
    await receiver.click("button.sign-show")
    await receiver.wait_for_selector(".sign-box:not([hidden])")
    async with receiver.expect_navigation():
        await receiver.click("button.sign-now")
    assert "Signed with your key" in await receiver.locator(".flash").inner_text()
    departure = await site.runtime.ledger.load(Departure, departure_id)
    statement = (await site.get(f"/v1/departures/{departure_id}/confirmation",
                                "hr.sun")).json()
    assert {"wang.lei", "zhao.min"}.isdisjoint(statement["unsigned"]), departure.id

    # a dispute: the receiver raises it, the leaver states their side, HR decides
    await receiver.goto(f"{site.base}/console/departures/{departure_id}/disputes")
    await _every_way(receiver, "disputes", back_to="en")
    await receiver.check("#item-1")
    await receiver.fill("#claim", "三期需求与实际不符")
    async with receiver.expect_navigation(url="**/console/disputes/*"):
        await receiver.click("form button[type=submit] >> text=Raise the dispute")
    dispute_url = receiver.url
    await caught_up(site)
    await leaver.goto(f"{site.base}/console/tasks")
    await leaver.click('a[href^="/console/disputes/"]')
    assert leaver.url == dispute_url
    await leaver.fill("#text", "需求文档已按当时版本移交")
    await leaver.check("#cite-1")  # a file of the disputed item, cited
    async with leaver.expect_navigation():
        await leaver.click("form[action$=statements] button")
    assert "需求文档已按当时版本移交" in await leaver.locator(".statements").inner_text()
    assert "引用了 1 个文件" in await leaver.locator(".statements").inner_text()
    hr = await signed_in_page(browser, site.base, site.tokens["hr.sun"])
    watch_problems(hr, problems, ignoring=("422",))
    await hr.goto(dispute_url)
    await hr.select_option("#responsibility", "shared")
    await hr.fill("#reasons", "双方均有责任")
    async with hr.expect_navigation():
        await hr.click("form[action$=finding] button")
    await leaver.goto(dispute_url)
    assert "双方均有责任" in await leaver.locator(".finding").inner_text()
    await _every_way(leaver, "dispute")
    assert problems == []
    for page in (leaver, receiver, hr):
        await page.context.close()


def _find(record: object, key: str) -> dict[str, str]:
    """The first mapping under ``key`` anywhere in ``record``."""
    if isinstance(record, dict):
        if isinstance(record.get(key), dict):
            return record[key]
        for value in record.values():
            found = _find(value, key)
            if found:
                return found
    if isinstance(record, list):
        for value in record:
            found = _find(value, key)
            if found:
                return found
    return {}


async def test_a_browser_without_ed25519_says_so_and_confirms_by_session(
        browser: Browser, site: Api) -> None:
    _, item_id = await case_with_item(site)
    await site.post(f"/v1/items/{item_id}/submit", "wang.lei", json={})
    receiver = await signed_in_page(browser, site.base, site.tokens["zhao.min"], phone=True,
                                    accept_language="en")
    await receiver.add_init_script(  # a browser whose WebCrypto has no Ed25519
        "crypto.subtle.generateKey = () => Promise.reject(new DOMException('', "
        "'NotSupportedError'));")
    await receiver.goto(f"{site.base}/console/items/{item_id}")
    unavailable = receiver.locator(".sign-unavailable")
    await unavailable.wait_for(state="visible")
    assert "cannot make Ed25519 signatures" in await unavailable.inner_text()
    assert await receiver.locator("button.sign-show").is_hidden()
    await screenshot(receiver, "tasks-confirm-no-ed25519-en-phone")
    async with receiver.expect_navigation(url="**/console/tasks"):
        await receiver.click("#confirm-form button[type=submit]")
    item = await site.runtime.ledger.load(HandoverItem, item_id)
    assert item.state == "confirmed" and item.signoffs["zhao.min"]["signed"] is False
    await receiver.context.close()


async def test_a_submission_refused_after_its_upload_shows_why_and_keeps_the_files(
        browser: Browser, site: Api) -> None:
    _, item_id = await case_with_item(site)
    leaver = await signed_in_page(browser, site.base, site.tokens["wang.lei"], phone=True,
                                  accept_language="en")
    await leaver.goto(f"{site.base}/console/items/{item_id}")
    await leaver.set_input_files("#file", FILES[:1])
    await leaver.fill("#lines", "x" * 1001)  # a line is at most 1000 characters
    await leaver.click("form[data-live=upload] button[type=submit]")
    alert = leaver.locator("[role=alert]")
    await alert.wait_for()
    assert "Invalid input" in await alert.inner_text()
    assert await leaver.locator("#keep-1").is_checked()  # uploaded; cited on the next try
    assert await leaver.input_value("#lines") == "x" * 1001
    await leaver.fill("#lines", "华东客户")
    async with leaver.expect_navigation(url=f"**/console/items/{item_id}"):
        await leaver.click("form[data-live=upload] button[type=submit]")
    item = await site.runtime.ledger.load(HandoverItem, item_id)
    assert item.state == "submitted" and [e["name"] for e in item.evidence] == ["clients.xlsx"]
    await leaver.context.close()


async def test_a_key_revoked_since_is_replaced_by_a_new_one_when_signing(
        browser: Browser, site: Api) -> None:
    departure_id, first = await case_with_item(site)
    second = await add_item(site, departure_id, receiver="zhao.min")
    receiver = await signed_in_page(browser, site.base, site.tokens["zhao.min"])
    for n, item_id in enumerate((first, second), 1):
        assert (await site.post(f"/v1/items/{item_id}/submit", "wang.lei",
                                json={})).status == 200
        await receiver.goto(f"{site.base}/console/items/{item_id}")
        await receiver.click("button.sign-show")
        await receiver.wait_for_selector(".sign-box:not([hidden])")
        async with receiver.expect_navigation(url="**/console/tasks"):
            await receiver.click("button.sign-now")
        item = await site.runtime.ledger.load(HandoverItem, item_id)
        assert item.state == "confirmed" and item.signoffs["zhao.min"]["signed"] is True
        keys = (await site.get("/v1/principals/zhao.min/keys", "zhao.min")).json()["keys"]
        assert len(keys) == n  # the first key kept in the browser until it was revoked
        revoked = await site.call("DELETE", f"/v1/principals/zhao.min/keys/"
                                  f"{keys[-1]['key_id']}", "zhao.min")
        assert revoked.status in (200, 204), revoked.body
    await receiver.context.close()
