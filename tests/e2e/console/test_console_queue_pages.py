"""The department queue pages over real HTTP: the read model ``GET /v1/queues/{department}``
serves, with what systems reported, and the queue's own actions as the API's commands; the
API's refusals, as a 404 that says nothing."""

from __future__ import annotations

import json
import re

from tests.integration.http_fixtures import Api
from tests.support.console import Console, csrf_of, open_case
from tests.support.console_cases import clearance_case, following, item_ids

QUEUE = "/console/queues/it"
ITEM = re.compile(r'<li class="case[^"]*" id="item-([0-9a-f-]{36})"')


async def test_it_reads_its_queue_with_what_iam_reported_and_confirms_the_item(
        console: Console, site: Api) -> None:
    departure_id, email = await clearance_case(site)
    served = (await site.read_model("/v1/queues/it", "it.qian")).json()
    waiting = {e["item_id"]: e["action"] for e in served["items"]}
    assert waiting[email] == "confirm"
    await console.sign_in("it.qian")
    page = (await console.get(QUEUE, headers={"Accept-Language": "en"})).body.decode()
    assert page.count('<li class="case') == len(served["items"])
    mine = page.split(f'id="item-{email}"')[1].split("</li>\n  \n  <li")[0]
    assert "Awaiting your confirmation" in mine
    assert "<strong>Okta</strong> (system.iam): account_disabled · OKTA-4711" in mine
    assert f'action="/console/queues/it/items/{email}/confirm"' in mine
    assert f'action="/console/queues/it/items/{email}/reject"' in mine
    async with following(site):
        done = await console.post_form(f"{QUEUE}/items/{email}/confirm", {"note": "邮箱已停用"},
                                       csrf_from=QUEUE)
        assert done.status == 303 and done.headers["Location"].startswith(f"{QUEUE}?after=")
        after = (await console.get(done.headers["Location"],
                                   headers={"Accept-Language": "en"})).body.decode()
    assert "事项已确认。" in after and f'id="item-{email}"' not in after
    item = (await site.get(f"/v1/items/{email}", "hr.sun")).json()
    assert (item["state"], item["confirmed_by"]) == ("confirmed", "it.qian")
    events = (await site.get(f"/v1/streams/{email}/events", "hr.sun")).json()["items"]
    last = json.loads(events[-1]["entry"])
    assert (last["type"], last["context"]["auth"]) == ("ItemConfirmed", "session")
    assert departure_id


async def test_an_error_re_renders_the_queue_with_the_apis_words_and_the_form_kept(
        console: Console, site: Api) -> None:
    _, email = await clearance_case(site)
    await site.read_model("/v1/queues/it", "it.qian")
    await console.sign_in("it.qian")
    token = csrf_of((await console.get(QUEUE)).body)
    refused = await console.request("POST", f"{QUEUE}/items/{email}/evidence", data={
        "csrf": token, "source": "", "kind": "account_disabled", "reference": "R-9"},
        headers={"Accept-Language": "en"})
    assert refused.status == 422
    page = refused.body.decode()
    mine = page.split(f'id="item-{email}"')[1]
    assert 'class="error" role="alert">Invalid input: ' in mine
    assert 'value="account_disabled"' in mine and 'value="R-9"' in mine


async def test_another_department_and_strangers_find_no_queue_and_hr_only_reads_it(
        console: Console, site: Api) -> None:
    departure_id, email = await clearance_case(site)
    await site.read_model("/v1/queues/it", "it.qian")
    assert (await site.get("/v1/queues/it", "fin.zhou")).status == 403  # the API refuses
    for who in ("fin.zhou", "wang.lei", "legal.x"):
        await console.sign_in(who)
        assert (await console.get(QUEUE)).status == 404, who
    await console.sign_in("fin.zhou")
    finance = await console.get("/console/queues/finance")
    assert finance.status == 200
    # finance cannot act on IT's item either: refused as if absent, nothing recorded
    token = csrf_of(finance.body)
    assert (await console.request("POST", f"{QUEUE}/items/{email}/confirm",
                                  data={"csrf": token})).status in (403, 404)
    await console.sign_in("hr.sun")
    hr = (await console.get(QUEUE)).body.decode()
    assert f'id="item-{email}"' in hr and "/confirm" not in hr
    assert (await site.get(f"/v1/items/{email}", "hr.sun")).json()["state"] == "submitted"
    assert departure_id in hr


async def test_a_queue_action_without_the_csrf_token_is_refused_before_it_runs(
        console: Console, site: Api) -> None:
    _, email = await clearance_case(site)
    await console.sign_in("it.qian")
    for data in ({}, {"csrf": "0" * 64}):
        refused = await console.request("POST", f"{QUEUE}/items/{email}/confirm", data=data)
        assert refused.status == 403
    assert (await site.get(f"/v1/items/{email}", "hr.sun")).json()["state"] == "submitted"
    assert (await item_ids(site, _))  # the case is still there for HR


async def test_a_long_queue_is_paged_by_twenty_five_with_its_figures_whole(
        console: Console, site: Api) -> None:
    for leaver in ("wang.lei", "zhao.min", "stranger", "hr.leaver", "legal.mgr", "li.qiang"):
        departure_id = await open_case(site, leaver=leaver) if leaver != "li.qiang" else (
            await open_case(site, leaver="wang.lei", department="R&D"))
        applied = await site.post(f"/v1/departures/{departure_id}/templates", "hr.sun",
                                  json={"template_key": "clearance"})
        assert applied.status == 200, applied.body[:300]
    served = (await site.read_model("/v1/queues/it?limit=200", "it.qian")).json()
    assert served["total"] == 30
    await console.sign_in("it.qian")
    first = (await console.get(QUEUE, headers={"Accept-Language": "en"})).body.decode()
    second = (await console.get(f"{QUEUE}?page=2")).body.decode()
    shown = ITEM.findall(first) + ITEM.findall(second)
    assert len(ITEM.findall(first)) == 25 and shown == [e["item_id"] for e in served["items"]]
    assert "30 items waiting" in first and 'rel="next"' in first and 'rel="prev"' in second
