"""The departure page over HTTP (no browser): what the API lets each reader see of a case,
HR's actions as POST forms running the API's commands (refusals shown as the API's
problems, CSRF first), the close button held while the gate refuses, the evidence bundle
and the live streams."""

from __future__ import annotations

import html
import io
import json
import re
import zipfile

from tests.integration.http_fixtures import Api, departure_body
from tests.support.case_steps import add_item
from tests.support.confirmation import sign_confirmation_over_http
from tests.support.console import Console, console_session, csrf_of, open_case
from tests.support.sse import next_event

CLOSE_BUTTON = re.compile(r'<button type="submit"( disabled[^>]*)?>Close</button>')


async def _caught_up(site: Api) -> None:
    await site.sequence()
    await site.runtime.board.catch_up()


async def _page(console: Console, departure_id: str) -> str:
    reply = await console.get(f"/console/departures/{departure_id}",
                              headers={"Accept-Language": "en"})
    assert reply.status == 200, reply.body[:800]
    return reply.body.decode()


async def _post(console: Console, departure_id: str, path: str,
                data: dict[str, str]) -> tuple[int, str]:
    """Post an HR form of the case's page (with the page's CSRF token); the page after it."""
    page = await console.get(f"/console/departures/{departure_id}")
    reply = await console.request("POST", f"/console/departures/{departure_id}{path}",
                                  data={**data, "csrf": csrf_of(page.body)},
                                  headers={"Accept-Language": "en"})
    return reply.status, reply.body.decode()


async def test_hr_reads_the_case_as_the_board_and_timeline_serve_it(console: Console,
                                                                    site: Api) -> None:
    departure_id = await open_case(site)
    item = await add_item(site, departure_id, due_date="2026-11-20")
    board = (await site.read_model(f"/v1/boards/departures/{departure_id}", "hr.sun")).json()
    await console.sign_in("hr.sun")
    page = await _page(console, departure_id)
    assert "王磊" in page and "Account manager" in page and "Sales" in page
    assert "Handing over" in page or "Approved" in page
    assert f'id="item-{item}"' in page and "客户资料" in page
    assert 'Receiver: <span class="who" title="zhao.min">赵敏</span>' in page
    assert 'Giver: <span class="who" title="wang.lei">王磊</span>' in page
    assert board["categories"]["clients"][0]["id"] == item
    assert f'href="/console/items/{item}"' in page  # its state, receiver, due and timeline
    # the approval chain where it stands; its decisions and the timeline on their own page
    assert "li.qiang" in page and page.count("Approved") >= 1
    assert f'href="/console/departures/{departure_id}/timeline"' in page
    timeline = (await site.get(f"/v1/departures/{departure_id}/timeline", "hr.sun")).json()
    assert timeline["items"] and timeline["items"][0]["en"] not in page
    lines = (await console.get(f"/console/departures/{departure_id}/timeline",
                               headers={"Accept-Language": "en"})).body.decode()
    for line in timeline["items"]:
        assert html.escape(line["en"], quote=False) in lines
    assert "Approval decisions" in lines
    assert 'Approved · <span class="who" title="li.qiang">李强</span>' in lines
    # the item's page: its own lines of the timeline (one stream), its case a click away
    own = (await console.get(f"/console/items/{item}",
                             headers={"Accept-Language": "en"})).body.decode()
    assert "Receiver" in own and "zhao.min" in own and f"/console/departures/{departure_id}" in own
    mine = [line["en"] for line in timeline["items"] if line["stream"] == item]
    assert mine and all(html.escape(line, quote=False) in own for line in mine)
    # the close button is held, the blocking item named with its receiver
    assert CLOSE_BUTTON.search(page).group(1)  # type: ignore[union-attr]
    assert '客户资料 — receiver <span class="who" title="zhao.min">赵敏</span> (Open)' in page
    assert "Interim: the case is still open" in page
    zh = (await console.get(f"/console/departures/{departure_id}",
                            headers={"Accept-Language": "zh-CN"})).body.decode()
    assert "交接清单" in zh and "临时版" in zh


async def test_hr_applies_the_role_family_checklist_the_approval_left_naming_a_successor(
        console: Console, site: Api) -> None:
    """A sales case started without a successor (the console's form has it optional): the
    approval cannot apply the sales checklist, whose lines for the successor need one. The
    page says so where HR applies checklists, and its form names the successor the API's
    ``successor_id`` takes (before, the form had no such field and HR got 422 for good)."""
    departure_id = await open_case(site)
    await console.sign_in("hr.sun")
    page = await _page(console, departure_id)
    assert 'id="family-not-applied"' in page and "role family (Sales)" in page
    assert '<option value="sales" selected>' in page and 'name="successor_id"' in page
    status, page = await _post(console, departure_id, "/apply", {"template_key": "sales"})
    assert status == 422 and "needs a successor_id" in page  # the API's own refusal
    status, page = await _post(console, departure_id, "/apply",
                               {"template_key": "sales", "successor_id": " zhao.min "})
    assert status == 303, page[:2000]
    await _caught_up(site)
    board = (await site.read_model(f"/v1/boards/departures/{departure_id}", "hr.sun")).json()
    assert "sales" in board["departure"]["templates"]
    assert "zhao.min" in {i["receiver"] for items in board["categories"].values() for i in items}
    assert 'id="family-not-applied"' not in await _page(console, departure_id)


async def test_hr_runs_the_cases_commands_from_the_page_and_closes_once_the_gate_allows(
        console: Console, site: Api) -> None:
    departure_id = await open_case(site)
    await console.sign_in("hr.sun")
    status, _ = await _post(console, departure_id, "/apply", {"template_key": "clearance"})
    assert status == 303
    await _caught_up(site)
    page = await _page(console, departure_id)
    assert "The checklist was applied." in page
    status, _ = await _post(console, departure_id, "/items", {
        "category": "clients", "title": "客户交接", "receiver": "li.qiang",
        "acceptance_criteria": "", "due_date": "", "mandatory": "yes"})
    assert status == 303
    await _caught_up(site)
    board = (await site.read_model(f"/v1/boards/departures/{departure_id}", "hr.sun")).json()
    [added] = [i for i in board["categories"]["clients"] if i["title"] == "客户交接"]
    assert added["receiver"] == "li.qiang" and added["mandatory"]
    # a waiver needs a reason: the API's problem, the form kept
    # one form each for the case, the item chosen from its open items
    status, page = await _post(console, departure_id, "/waive",
                               {"item": added["id"], "reason": "  "})
    assert status == 422 and "Invalid input" in page and 'id="error-waive"' in page
    assert f'<option value="{added["id"]}" selected>' in page  # the form kept filled in
    status, _ = await _post(console, departure_id, "/reassign",
                            {"item": added["id"], "receiver": "zhao.min", "reason": "李强休假"})
    assert status == 303
    # no one named: the reminder goes to whoever must act now (the giver of an open item)
    status, _ = await _post(console, departure_id, "/remind",
                            {"item": added["id"], "to": "", "channel": "wecom",
                             "message": "请尽快"})
    assert status == 303
    timeline = (await site.get(f"/v1/departures/{departure_id}/timeline", "hr.sun")).json()
    assert "hr.sun reminded wang.lei (1 item(s))" in [t["en"] for t in timeline["items"]]
    status, page = await _post(console, departure_id, "/reassign",
                               {"item": "not-an-item", "receiver": "x", "reason": "y"})
    assert status == 404
    # the gate refuses while items are open: the close is refused with its reason
    status, page = await _post(console, departure_id, "/close", {"note": ""})
    assert status == 409 and "Departure cannot close yet" in page
    await _caught_up(site)
    board = (await site.read_model(f"/v1/boards/departures/{departure_id}", "hr.sun")).json()
    for item in board["blocking"]:
        status, _ = await _post(console, departure_id, "/waive",
                                {"item": item["id"], "reason": "不适用"})
        assert status == 303, item
    await _caught_up(site)
    page = await _page(console, departure_id)
    assert not CLOSE_BUTTON.search(page).group(1)  # type: ignore[union-attr]
    await sign_confirmation_over_http(site, departure_id)
    status, _ = await _post(console, departure_id, "/close", {"note": "交接完成"})
    assert status == 303
    got = await site.get(f"/v1/departures/{departure_id}", "hr.sun")
    assert got.json()["state"] == "closed"
    await _caught_up(site)
    page = await _page(console, departure_id)
    bundle_form = f'action="/console/departures/{departure_id}/bundle"'  # a GET, to read
    assert "Final: the case is finished" in page and 'action="/console/departures/' not in (
        page.replace(bundle_form, "").split('id="close-title"')[0])


async def test_a_leaver_reads_the_page_without_hr_actions_and_a_stranger_finds_nothing(
        console: Console, site: Api) -> None:
    departure_id = await open_case(site)
    await add_item(site, departure_id)
    await _caught_up(site)
    await console.sign_in("wang.lei")
    page = await _page(console, departure_id)
    assert "客户资料" in page and "/bundle" in page
    assert "/close" not in page and "/waive" not in page and "/apply" not in page
    status, page = await _post(console, departure_id, "/close", {"note": ""})
    api = await site.post(f"/v1/departures/{departure_id}/close", "wang.lei", json={})
    assert status == api.status == 403  # the leaver reads the case, never closes it
    assert api.json()["detail"] in html.unescape(page)
    stranger = Console(site, console.session)
    await stranger.sign_in("stranger")
    refused = await stranger.get(f"/console/departures/{departure_id}")
    missing = await stranger.get("/console/departures/00000000-0000-4000-8000-000000000000")
    assert refused.status == missing.status == 404
    assert b"wang.lei" not in refused.body and "王磊".encode() not in refused.body
    assert (await stranger.get(f"/console/departures/{departure_id}/bundle")).status == 404
    assert (await stranger.get(f"/console/departures/{departure_id}/events")).status == 404
    assert (await stranger.get(f"/console/departures/{departure_id}/timeline")).status == 404
    assert (await site.get(f"/v1/departures/{departure_id}/timeline", "stranger")).status == 404


async def test_an_unrelated_receiver_gets_404_and_a_receiver_sees_only_their_items(
        console: Console, site: Api) -> None:
    departure_id = await open_case(site)
    await add_item(site, departure_id, receiver="zhao.min")
    await add_item(site, departure_id, receiver="fin.zhou", title="报销单")
    other = await open_case(site, leaver="zhao.min")
    await add_item(site, other, receiver="stranger")
    await _caught_up(site)
    await console.sign_in("stranger")
    assert (await console.get(f"/console/departures/{departure_id}")).status == 404
    receiver = Console(site, console.session)
    await receiver.sign_in("zhao.min")
    page = await _page(receiver, departure_id)
    assert "客户资料" in page and "报销单" not in page and "/waive" not in page


async def test_a_post_without_the_csrf_token_is_refused_before_anything_runs(
        console: Console, site: Api) -> None:
    departure_id = await open_case(site)
    await console.sign_in("hr.sun")
    for token in ({}, {"csrf": "0" * 64}):
        reply = await console.request("POST", f"/console/departures/{departure_id}/apply",
                                      data={"template_key": "clearance", **token})
        assert reply.status == 403
    other_site = await console.request(
        "POST", f"/console/departures/{departure_id}/apply",
        data={"template_key": "clearance",
              "csrf": csrf_of((await console.get(f"/console/departures/{departure_id}")).body)},
        headers={"Origin": "https://evil.example"})
    assert other_site.status == 403
    got = await site.get(f"/v1/departures/{departure_id}", "hr.sun")
    assert got.json()["templates"] == []


async def test_the_bundle_download_is_the_apis_bundle_and_refuses_as_it_does(
        console: Console, site: Api) -> None:
    departure_id = await open_case(site)
    await add_item(site, departure_id)
    await site.sequence()
    await console.sign_in("legal.x")
    reply = await console.get(f"/console/departures/{departure_id}/bundle")
    assert reply.status == 200, reply.body[:500]
    assert reply.headers["X-Ledger-Bundle-Status"] == "interim"
    assert "attachment" in reply.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(reply.body)) as bundle:
        assert bundle.namelist()[0] == "mimetype" and bundle.testzip() is None
        manifest = json.loads(bundle.read("META-INF/manifest.json"))
    assert manifest["departure_id"] == departure_id
    timeline = (await site.get(f"/v1/departures/{departure_id}/timeline", "hr.sun")).json()
    assert timeline["items"][-1]["type"] == "DepartureEvidenceExported"
    assert timeline["items"][-1]["actor"] == "legal.x"
    auditor = Console(site, console.session)
    await auditor.sign_in("audit.x")  # the API exports to HR, legal and the leaver only
    assert (await auditor.get(f"/console/departures/{departure_id}/bundle")).status == 404


async def test_the_live_streams_follow_the_session_as_the_apis_follow_the_token(
        console: Console, site: Api) -> None:
    departure_id = await open_case(site)
    item = await add_item(site, departure_id)
    await _caught_up(site)
    await console.sign_in("hr.sun")
    async with console.session.get(site.url("/console/live/hr")) as stream:
        assert stream.status == 200 and stream.content_type == "text/event-stream"
        assert "default-src 'self'" in stream.headers["Content-Security-Policy"]
        assert (await site.post(f"/v1/items/{item}/submit", "wang.lei", json={})).status == 200
        await _caught_up(site)
        changed = await next_event(stream.content)
        assert changed["event"] == "changed"
        assert json.loads(changed["data"])["departures"] == [departure_id]
    async with console.session.get(site.url(f"/console/departures/{departure_id}/events")) as s:
        first = await next_event(s.content)
        assert first["event"] == "board"
        assert json.loads(first["data"])["categories"]["clients"][0]["state"] == "submitted"
    async with console_session() as anonymous:
        assert (await anonymous.get(site.url("/console/live/hr"),
                                    allow_redirects=False)).status == 303
    leaver = Console(site, console.session)
    await leaver.sign_in("wang.lei")
    assert (await leaver.get("/console/live/hr")).status == 403  # as the API refuses


async def test_hr_submits_a_draft_and_its_approver_approves_it_from_the_page(
        console: Console, site: Api) -> None:
    reply = await site.post("/v1/departures", "hr.sun", json=departure_body())
    departure_id = reply.json()["result"]["departure_id"]
    await _caught_up(site)
    await console.sign_in("hr.sun")
    page = await _page(console, departure_id)
    assert "Not reached" in page and "/approve" not in page
    status, _ = await _post(console, departure_id, "/submit", {})
    assert status == 303
    await _caught_up(site)
    approver = Console(site, console.session)
    await approver.sign_in("li.qiang")
    page = await _page(approver, departure_id)
    assert "Waiting for a decision" in page and "/waive" not in page
    status, _ = await _post(approver, departure_id, "/approve", {"step": "0",
                                                                 "comment": "同意"})
    assert status == 303
    got = await site.get(f"/v1/departures/{departure_id}", "hr.sun")
    assert got.json()["state"] in ("approved", "handing_over")
    await _caught_up(site)
    page = await _page(approver, departure_id)
    assert "/approve" not in page and f"/console/departures/{departure_id}/timeline" in page
    lines = (await approver.get(f"/console/departures/{departure_id}/timeline",
                                headers={"Accept-Language": "en"})).body.decode()
    assert 'Approved · <span class="who" title="li.qiang">李强</span>' in lines
    assert "同意" in lines
    auditor = Console(site, console.session)
    await auditor.sign_in("audit.x")
    page = await _page(auditor, departure_id)
    assert "/bundle" not in page and "/close" not in page and "/apply" not in page
