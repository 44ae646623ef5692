"""The case page's actions over HTTP (no browser): the close and the checklist offered only in
the states the aggregate accepts them, an approver's rejection with its reason, a sign-in link
HR sends from the case (the API's use case, its URL shown once), the bundle with its files,
and no countdown on a finished case."""

from __future__ import annotations

import io
import re
import zipfile
from urllib.parse import urlsplit

import aiohttp

from tests.integration.http_fixtures import Api, departure_body
from tests.support.case_steps import add_item, approve
from tests.support.console import Console, console_session, csrf_of, open_case
from tests.support.console_cases import closed_case

CLOSE_BUTTON = re.compile(r'<button type="submit"( disabled[^>]*)?>Close</button>')
EN = {"Accept-Language": "en"}


async def _caught_up(site: Api) -> None:
    await site.sequence()
    await site.runtime.board.catch_up()


async def _page(console: Console, departure_id: str) -> str:
    reply = await console.get(f"/console/departures/{departure_id}", headers=EN)
    assert reply.status == 200, reply.body[:800]
    return reply.body.decode()


async def _post(console: Console, departure_id: str, path: str,
                data: dict[str, str]) -> tuple[int, str, dict[str, str]]:
    page = await console.get(f"/console/departures/{departure_id}")
    reply = await console.request("POST", f"/console/departures/{departure_id}{path}",
                                  data={**data, "csrf": csrf_of(page.body)}, headers=EN)
    return reply.status, reply.body.decode(), dict(reply.headers)


async def _draft(site: Api) -> str:
    reply = await site.post("/v1/departures", "hr.sun", json=departure_body())
    departure_id: str = reply.json()["result"]["departure_id"]
    await _caught_up(site)
    return departure_id


async def test_a_draft_offers_no_close_and_no_checklist_until_its_state_allows(
        console: Console, site: Api) -> None:
    departure_id = await _draft(site)
    await console.sign_in("hr.sun")
    page = await _page(console, departure_id)
    button = CLOSE_BUTTON.search(page)
    assert button is not None and button.group(1)  # disabled, with its plain reason
    assert "must be approved and handing over before it can close" in page
    assert "Every mandatory item is confirmed or waived" not in page
    assert 'action="/console/departures/' + departure_id + '/apply"' not in page
    assert 'id="apply-later"' in page
    # submitted: approval pending, a checklist may be applied (ApplyTemplate accepts it)
    status, _, _ = await _post(console, departure_id, "/submit", {})
    assert status == 303
    await _caught_up(site)
    page = await _page(console, departure_id)
    assert f'action="/console/departures/{departure_id}/apply"' in page
    assert CLOSE_BUTTON.search(page).group(1)  # type: ignore[union-attr]
    # handing over with nothing blocking: the close is offered
    opened = await open_case(site)
    page = await _page(console, opened)
    await add_item(site, opened, mandatory=False)
    await _caught_up(site)
    page = await _page(console, opened)
    assert not CLOSE_BUTTON.search(page).group(1)  # type: ignore[union-attr]
    assert "Every mandatory item is confirmed or waived" in page


async def test_the_steps_approver_rejects_it_with_a_required_reason(
        console: Console, site: Api) -> None:
    departure_id = await _draft(site)
    await console.sign_in("hr.sun")
    assert (await _post(console, departure_id, "/submit", {}))[0] == 303
    await _caught_up(site)
    page = await _page(console, departure_id)
    assert "/reject" not in page  # HR is not the step's approver
    status, page, _ = await _post(console, departure_id, "/reject", {"step": "0",
                                                                     "reason": "no"})
    assert status == 403
    approver = Console(site, console.session)
    await approver.sign_in("li.qiang")
    page = await _page(approver, departure_id)
    assert f'action="/console/departures/{departure_id}/reject"' in page
    assert 'id="reject-reason" name="reason" required' in page
    status, page, _ = await _post(approver, departure_id, "/reject", {"step": "0",
                                                                      "reason": " "})
    assert status == 422 and 'id="error-reject"' in page
    status, _, _ = await _post(approver, departure_id, "/reject",
                               {"step": "0", "reason": "交接计划不完整"})
    assert status == 303
    got = await site.get(f"/v1/departures/{departure_id}", "hr.sun")
    assert got.json()["state"] == "draft"


async def test_hr_sends_a_sign_in_link_whose_url_is_shown_once_and_refused_as_the_api(
        console: Console, site: Api) -> None:
    departure_id = await open_case(site)
    await console.sign_in("hr.sun")
    page = await _page(console, departure_id)
    assert f'action="/console/departures/{departure_id}/sign-in-link"' in page
    assert '<option value="wang.lei">王磊 (wang.lei)</option>' in page
    status, page, headers = await _post(console, departure_id, "/sign-in-link",
                                        {"principal": "wang.lei"})
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert "Sign-in link for 王磊 (wang.lei)" in page
    url = re.search(r'<textarea id="link-url" class="link-url" readonly[^>]*>([^<]+)</textarea>',
                    page)
    assert url is not None and "/console/" in url.group(1)
    assert url.group(1) not in headers.get("Set-Cookie", "") and "Location" not in headers
    listed = (await site.get("/v1/principals/wang.lei/sign-in-links", "hr.sun")).json()
    [link] = listed["links"]
    assert link["departure_id"] == departure_id and link["issued_by"] == "hr.sun"
    # the address is the console's own sign-in link page, and it opens there
    address = urlsplit(url.group(1))
    async with console_session() as other:
        opened = await Console(site, other).get(address.path)
        assert opened.status == 200, opened.body[:300]
    # refusals as the API's: someone who takes no part in the case; no CSRF token
    api = await site.post("/v1/principals/audit.x/sign-in-links", "hr.sun",
                          json={"departure_id": departure_id})
    status, page, _ = await _post(console, departure_id, "/sign-in-link",
                                  {"principal": "audit.x"})
    assert status == api.status and status in (403, 404, 422)
    assert 'id="error-sign-in-link"' in page
    refused = await console.request("POST", f"/console/departures/{departure_id}/sign-in-link",
                                    data={"principal": "wang.lei"})
    assert refused.status == 403
    listed = (await site.get("/v1/principals/wang.lei/sign-in-links", "hr.sun")).json()
    assert len(listed["links"]) == 1
    # a leaver sends none: refused before any lookup, as the API refuses them
    leaver = Console(site, console.session)
    await leaver.sign_in("wang.lei")
    page = await _page(leaver, departure_id)
    assert "/sign-in-link" not in page
    status, _, _ = await _post(leaver, departure_id, "/sign-in-link", {"principal": "wang.lei"})
    api = await site.post("/v1/principals/wang.lei/sign-in-links", "wang.lei",
                          json={"departure_id": departure_id})
    assert status == api.status == 403


async def test_the_bundle_comes_with_its_files_when_asked(console: Console, site: Api) -> None:
    departure_id = await open_case(site)
    item = await add_item(site, departure_id)
    form = aiohttp.FormData()
    form.add_field("file", b"%PDF-1.7 handover", filename="scan.pdf",
                   content_type="application/pdf")
    uploaded = await site.post(f"/v1/items/{item}/evidence", "wang.lei", data=form)
    assert uploaded.status in (200, 201), uploaded.body[:300]
    await _caught_up(site)
    await console.sign_in("hr.sun")
    page = await _page(console, departure_id)
    assert 'name="with_files" type="checkbox" value="true"' in page
    assert f'<form method="get" action="/console/departures/{departure_id}/bundle"' in page
    names = {}
    for flag in ("", "?with_files=true"):
        await site.sequence()  # the log covers the last download's record
        reply = await console.get(f"/console/departures/{departure_id}/bundle{flag}")
        assert reply.status == 200, reply.body.decode()[-900:]
        with zipfile.ZipFile(io.BytesIO(reply.body)) as bundle:
            names[flag] = [n for n in bundle.namelist() if n.startswith("files/")]
    assert not names[""] and names["?with_files=true"]
    bad = await console.get(f"/console/departures/{departure_id}/bundle?with_files=maybe")
    assert bad.status == 422


async def test_a_closed_or_withdrawn_case_counts_no_days(console: Console, site: Api) -> None:
    closed = await closed_case(site)
    withdrawn = await _draft(site)
    reply = await site.post(f"/v1/departures/{withdrawn}/withdraw", "hr.sun",
                            json={"reason": "stays after all"})
    assert reply.status == 200, reply.body[:300]
    opened = await open_case(site)
    await _caught_up(site)
    await console.sign_in("hr.sun")
    for departure_id in (closed, withdrawn):
        page = await _page(console, departure_id)
        assert not re.search(r"days? (left|past)|Last day is today", page), departure_id
    page = await _page(console, opened)
    assert re.search(r"days? (left|past)|Last day is today", page)
    # the dashboard's rows of finished cases (its state filter shows them) count none either
    for state, shown in (("closed", closed), ("withdrawn", withdrawn), ("approved", opened)):
        reply = await console.get(f"/console/?state={state}", headers=EN)
        assert reply.status == 200, reply.body[:300]
        rows = reply.body.decode()
        assert f"/console/departures/{shown}" in rows, state
        counted = re.search(r"days? (left|past)|Last day is today", rows)
        assert (counted is None) == (state != "approved"), state


async def test_a_sign_in_link_is_offered_only_where_the_api_would_send_one(
        console: Console, site: Api) -> None:
    """A draft and a case awaiting approval offer no link (the API refuses both), only a
    word on when it comes; once approved the form is there; HR who does not run the case
    (separation of duties) is offered none either."""
    departure_id = await _draft(site)
    await console.sign_in("hr.sun")
    form = f'action="/console/departures/{departure_id}/sign-in-link"'
    for _ in ("draft", "pending_approval"):
        page = await _page(console, departure_id)
        assert form not in page and 'id="links-later"' in page
        api = await site.post("/v1/principals/wang.lei/sign-in-links", "hr.sun",
                              json={"departure_id": departure_id})
        assert api.status == 422
        assert (await _post(console, departure_id, "/submit", {}))[0] in (303, 409)
        await _caught_up(site)
    await approve(site, departure_id)
    await _caught_up(site)
    page = await _page(console, departure_id)
    assert form in page and 'id="links-later"' not in page
    other = Console(site, console.session)
    await other.sign_in("hr.zhou")
    reply = await other.get(f"/console/departures/{departure_id}", headers=EN)
    assert reply.status == 200
    assert form not in reply.body.decode() and 'id="links-later"' not in reply.body.decode()
    api = await site.post("/v1/principals/wang.lei/sign-in-links", "hr.zhou",
                          json={"departure_id": departure_id})
    assert api.status == 404
