"""Confirming, signing the handover confirmation and disputes without a browser: every form
refused without its CSRF token before any use case runs, a signature made with a key the
person registered through the console verifies, and whoever the API refuses the console
refuses with the same 404."""

from __future__ import annotations

import base64
import datetime as dt

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from tests.integration.http_fixtures import Api
from tests.support.console import Console, csrf_of
from tests.support.console_tasks import case_with_item, submit_files


async def _submitted(console: Console, site: Api) -> tuple[str, str]:
    departure_id, item_id = await case_with_item(site)
    await console.sign_in("wang.lei")
    assert (await submit_files(console, item_id, [("a.txt", b"one")]))[0] == 303
    return departure_id, item_id


async def _register_key(console: Console, key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    csrf = csrf_of((await console.get("/console/tasks")).body)
    reply = await console.request("POST", "/console/keys", headers={"X-CSRF-Token": csrf},
                                  data={"public_key": base64.b64encode(raw).decode()})
    assert reply.status == 201, reply.body[:300]
    key_id: str = reply.json()["key_id"]
    return key_id


async def test_every_action_form_is_refused_without_its_token(console: Console,
                                                              site: Api) -> None:
    departure_id, item_id = await _submitted(console, site)
    await console.sign_in("zhao.min")
    for path, data in ((f"/console/items/{item_id}/confirm", {"note": "ok"}),
                       (f"/console/items/{item_id}/reject", {"reason": "no"}),
                       ("/console/keys", {"public_key": "AAAA"}),
                       (f"/console/departures/{departure_id}/confirmation",
                        {"statement_sha256": "0" * 64}),
                       (f"/console/departures/{departure_id}/disputes", {"claim": "x"})):
        for extra in ({}, {"csrf": "0" * 64}):
            reply = await console.request("POST", path, data={**data, **extra})
            assert reply.status == 403, (path, extra)
    item = await site.runtime.ledger.load(HandoverItem, item_id)
    assert item.state == "submitted"
    departure = await site.runtime.ledger.load(Departure, departure_id)
    assert departure.legal_hold is False


async def test_a_confirmation_signed_with_a_key_registered_in_the_console_verifies(
        console: Console, site: Api) -> None:
    _, item_id = await _submitted(console, site)
    await console.sign_in("zhao.min")
    key = Ed25519PrivateKey.generate()
    key_id = await _register_key(console, key)
    statement = (await console.get(f"/console/items/{item_id}/statement")).json()["statement"]
    served = (await site.get(f"/v1/items/{item_id}/confirmation-statement", "zhao.min")).json()
    assert statement.split("时间 / Time")[0] == served["statement"].split("时间 / Time")[0]
    signature = base64.b64encode(key.sign(statement.encode())).decode()
    reply = await console.post_form(f"/console/items/{item_id}/confirm", {
        "key_id": key_id, "signature": signature,
        "statement": statement.replace("\n", "\r\n")},  # as a browser's form sends it
        csrf_from=f"/console/items/{item_id}")
    assert reply.status == 303, reply.body.decode()[-2000:]
    item = await site.runtime.ledger.load(HandoverItem, item_id)
    assert item.state == "confirmed"
    assert item.signoffs["zhao.min"]["signed"] is True


async def test_a_signature_over_another_statement_is_refused_in_the_reader_s_language(
        console: Console, site: Api) -> None:
    _, item_id = await _submitted(console, site)
    await console.sign_in("zhao.min")
    key = Ed25519PrivateKey.generate()
    key_id = await _register_key(console, key)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    forged = f"交接确认 / Handover confirmation\n时间 / Time: {when}\n"
    reply = await console.post_form(f"/console/items/{item_id}/confirm", {
        "key_id": key_id, "statement": forged,
        "signature": base64.b64encode(key.sign(forged.encode())).decode()},
        csrf_from=f"/console/items/{item_id}", headers={"Accept-Language": "zh"})
    assert reply.status == 422
    page = reply.body.decode()
    assert "statement does not match this item" in page and "Verification failed" not in page
    assert (await site.runtime.ledger.load(HandoverItem, item_id)).state == "submitted"


async def test_strangers_find_no_confirmation_no_dispute_and_no_statement(
        console: Console, site: Api) -> None:
    departure_id, item_id = await _submitted(console, site)
    await console.sign_in("zhao.min")
    raised = await console.post_form(f"/console/departures/{departure_id}/disputes",
                                     {"claim": "文件不全", "item": item_id})
    assert raised.status == 303, raised.body.decode()[-1500:]
    dispute_path = raised.headers["Location"]
    await console.sign_in("stranger")
    for path in (f"/console/departures/{departure_id}/confirmation",
                 f"/console/departures/{departure_id}/confirmation/statement",
                 f"/console/departures/{departure_id}/disputes", dispute_path,
                 f"/console/items/{item_id}/statement", "/console/items/not-an-id"):
        assert (await console.get(path)).status == 404, path
    csrf = csrf_of((await console.get("/console/tasks")).body)
    for path, data in ((f"{dispute_path}/statements", {"text": "我也说一句"}),
                       (f"{dispute_path}/finding", {"responsibility": "none",
                                                     "reasons": "x"})):
        reply = await console.request("POST", path, data={**data, "csrf": csrf})
        assert reply.status == 404, path
    dispute_id = dispute_path.rsplit("/", 1)[1]
    assert (await site.get(f"/v1/disputes/{dispute_id}", "stranger")).status == 404


async def test_hr_submits_on_behalf_of_the_giver(console: Console, site: Api) -> None:
    _, item_id = await case_with_item(site)
    await console.sign_in("hr.sun")
    page = (await console.get(f"/console/items/{item_id}")).body.decode()
    assert 'name="on_behalf"' in page
    status, page = await submit_files(console, item_id, [("hr.txt", b"by hr")])
    assert status == 403 and "on_behalf" in page, page[-3000:]  # as the API answers
    status, page = await submit_files(console, item_id, [], keep=(
        str(next(iter((await site.runtime.ledger.load(HandoverItem, item_id)).uploads))),),
        on_behalf="yes")
    assert status == 303, page[page.find('role="alert"'):][:400]
    item = await site.runtime.ledger.load(HandoverItem, item_id)
    assert item.state == "submitted" and item.submitted_by == "hr.sun"


async def test_a_submission_replaced_after_the_page_was_read_is_not_confirmed_unseen(
        console: Console, site: Api) -> None:
    _, item_id = await _submitted(console, site)
    await console.sign_in("zhao.min")
    page = await console.get(f"/console/items/{item_id}")
    await site.post(f"/v1/items/{item_id}/reject", "zhao.min", json={"reason": "再看看"})
    await site.post(f"/v1/items/{item_id}/submit", "wang.lei", json={"note": "换了文件"})
    seen = (await site.runtime.ledger.load(HandoverItem, item_id)).version
    old = int(page.body.decode().split('name="version" value="')[1].split('"')[0])
    assert old < seen
    reply = await console.request("POST", f"/console/items/{item_id}/confirm", data={
        "csrf": csrf_of(page.body), "version": str(old)}, headers={"Accept-Language": "en"})
    assert reply.status in (409, 412), reply.status
    assert "Conflict" in reply.body.decode() or "Precondition failed" in reply.body.decode()
    assert (await site.runtime.ledger.load(HandoverItem, item_id)).state == "submitted"
