"""Starting a case over HTTP on SQLite and PostgreSQL: the leaver's own request with the
resignation letter, read only by the leaver and HR, accepted into the approval chain or
declined; checklists applied automatically on approval (LEDGER_AUTO_APPLY_CHECKLISTS=on), and
urgent items worked while approval is pending.

Seed 001: "员工只需通过手机端提交离职申请"; "标注'紧急'…需立即交接".
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from api.views import DepartureView
from ledger.aggregates.departure import Departure
from ledger.service.context import Actor
from ledger.service.ledger import Ledger
from tests.integration.http_fixtures import Api, serve
from tests.support.case_steps import (
    LETTER,
    accept,
    apply,
    approve,
    entries,
    request_departure,
    request_form,
    started,
    view,
)

MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
async def auto_api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The service with LEDGER_AUTO_APPLY_CHECKLISTS=on."""
    async with serve(database_url, tmp_path, auto_apply_checklists=True) as served:
        yield served


async def test_a_leaver_requests_with_the_letter_and_approval_applies_the_checklists(
        auto_api: Api) -> None:
    api = auto_api
    departure_id = await request_departure(api)
    sha256 = hashlib.sha256(LETTER).hexdigest()

    requested = await view(api, f"/v1/departures/{departure_id}", "wang.lei")
    assert requested["state"] == "requested"
    assert requested["request"]["letter"] == {"sha256": sha256, "size": len(LETTER),
                                              "name": "辞职信.pdf",
                                              "media_type": "application/pdf"}
    assert b"".join([c async for c in api.runtime.blobs.read(sha256)]) == LETTER
    first = (await entries(api, departure_id))[0]
    assert (first["type"], first["payload"]["letter"]["sha256"]) == ("DepartureRequested", sha256)
    assert first["actor"]["id"] == "wang.lei"

    assert (await accept(api, departure_id)).json()["result"]["state"] == "pending_approval"
    approved = (await approve(api, departure_id)).json()["result"]

    assert approved["state"] == "handing_over"
    assert [t["key"] for t in approved["templates_applied"]] == ["technical", "clearance"]
    case = await view(api, f"/v1/departures/{departure_id}")
    assert case["successor_id"] == "zhao.min" and case["leaver"]["role_family"] == "technical"
    assert len(case["item_ids"]) == 24
    fresh = await Ledger(api.runtime.store).load(Departure, departure_id)  # replayed
    assert DepartureView.of(fresh, Actor("hr.sun", "hr")).model_dump(mode="json") == case


async def test_without_the_setting_approval_applies_nothing(api: Api) -> None:
    departure_id = await request_departure(api)
    await accept(api, departure_id)

    approved = (await approve(api, departure_id)).json()["result"]

    assert approved == {"departure_id": departure_id, "state": "approved"}


async def test_a_request_is_read_only_by_its_leaver_and_hr_until_accepted(api: Api) -> None:
    departure_id = await request_departure(api)
    path = f"/v1/departures/{departure_id}"
    missing = (await api.get(f"/v1/departures/{MISSING}", "legal.x")).problem(404)

    for who in ("wang.lei", "hr.sun", "hr.zhou"):
        assert (await api.get(path, who)).status == 200, who
    for who in ("li.qiang", "legal.x", "audit.x", "stranger"):
        refused = (await api.get(path, who)).problem(404)
        assert refused["detail"].replace(departure_id, MISSING) == missing["detail"], who
    await accept(api, departure_id)
    assert (await api.get(path, "li.qiang")).status == 200


async def test_hr_declines_a_request_with_a_reason_the_leaver_reads(api: Api) -> None:
    departure_id = await request_departure(api)
    declined = await api.post(f"/v1/departures/requests/{departure_id}/decline", "hr.sun",
                              json={"reason": "请先与部门负责人面谈"})
    assert declined.status == 200, declined.body

    case = await view(api, f"/v1/departures/{departure_id}", "wang.lei")
    assert (case["state"], case["decline"]["reason"]) == ("declined", "请先与部门负责人面谈")
    again = await api.post(f"/v1/departures/requests/{departure_id}/accept", "hr.sun",
                           json={"role_family": "technical", "manager_id": "li.qiang",
                                 "hr_owner_id": "hr.sun"})
    assert "is declined" in again.problem(409)["detail"]


async def test_a_request_refuses_the_wrong_role_and_bad_forms(api: Api) -> None:
    requests = "/v1/departures/requests"
    assert (await api.post(requests, "hr.sun", data=request_form())).problem(403)
    no_letter = await api.post(requests, "wang.lei", data=request_form(letter=None))
    assert "letter" in no_letter.problem(422)["detail"]
    bad_day = await api.post(requests, "wang.lei",
                             data=request_form(intended_last_working_day="next week"))
    bad_day.problem(422)
    past = await api.post(requests, "wang.lei",
                          data=request_form(intended_last_working_day="2020-01-01"))
    assert "has passed" in past.problem(422)["detail"]
    unknown = await api.post(requests, "wang.lei", data=request_form(salary="high"))
    unknown.problem(422)
    assert (await api.post(requests, "wang.lei", json={"reason": "x"})).problem(422)


async def test_accepting_checks_who_and_what_hr_names(api: Api) -> None:
    departure_id = await request_departure(api)
    path = f"/v1/departures/requests/{departure_id}/accept"
    body = {"role_family": "technical", "manager_id": "li.qiang", "hr_owner_id": "hr.sun"}

    assert (await api.post(path, "li.qiang", json=body)).problem(403)
    own = await api.post(path, "hr.sun", json={**body, "manager_id": "wang.lei"})
    assert own.problem(422)["detail"].startswith("the leaver cannot")
    unknown = await api.post(path, "hr.sun", json={**body, "manager_id": "nobody.here"})
    unknown.problem(422)
    assert (await api.post(f"/v1/departures/requests/{MISSING}/accept", "hr.sun",
                           json=body)).problem(404)
    started_case = await started(api)
    assert (await api.post(f"/v1/departures/requests/{started_case}/accept", "hr.sun",
                           json=body)).problem(409)


async def test_a_replayed_request_appends_nothing(api: Api) -> None:
    key = {"Idempotency-Key": "request-1"}
    first = await api.post("/v1/departures/requests", "wang.lei", data=request_form(),
                           headers=key)
    again = await api.post("/v1/departures/requests", "wang.lei", data=request_form(),
                           headers=key)

    assert (first.status, again.status) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.body == first.body


async def test_urgent_lines_are_worked_while_approval_is_pending(api: Api) -> None:
    lines = [{"key": key, "category": "documents", "title": title, "label": "",
              "acceptance_criteria": "", "receiver": "successor", "mandatory": True,
              "priority": "high", "due_offset_days": 0, **extra}
             for key, title, extra in (("client-b", "客户B设备维护记录", {"urgent": True}),
                                       ("sop", "SOP", {}))]
    defined = await api.post("/v1/templates", "hr.sun", json={
        "key": "urgent-technician", "role_family": "technical", "name": "Technician",
        "label": "技术员", "items": lines})
    assert defined.status == 200, defined.body
    departure_id = await started(api)
    urgent, later = await apply(api, departure_id, "urgent-technician")

    assert (await view(api, f"/v1/departures/{departure_id}"))["state"] == "pending_approval"
    assert (await view(api, f"/v1/items/{urgent}"))["urgent"] is True
    assert (await api.post(f"/v1/items/{urgent}/submit", "wang.lei", json={})).status == 200
    refused = await api.post(f"/v1/items/{later}/submit", "wang.lei", json={})
    assert "only urgent items" in refused.problem(409)["detail"]
    assert (await approve(api, departure_id)).json()["result"]["state"] == "handing_over"
    assert (await api.post(f"/v1/items/{later}/submit", "wang.lei", json={})).status == 200


async def test_the_board_lists_a_request_to_hr_but_not_to_legal_or_auditors(api: Api) -> None:
    departure_id = await request_departure(api)
    await api.read_model("/v1/departures", "hr.sun")  # the board has the request

    listed = {who: [d["id"] for d in (await view(api, "/v1/departures", who))["items"]]
              for who in ("hr.sun", "legal.x", "audit.x")}

    assert listed == {"hr.sun": [departure_id], "legal.x": [], "audit.x": []}
    requested = await view(api, "/v1/departures?state=requested", "hr.sun")
    assert [d["id"] for d in requested["items"]] == [departure_id]


async def test_hr_lists_every_request_awaiting_it_and_a_leaver_their_own(api: Api) -> None:
    mine = await request_departure(api, "wang.lei")
    theirs = await request_departure(api, "zhao.min")
    accepted = await request_departure(api, "li.qiang")
    await api.post(f"/v1/departures/requests/{accepted}/accept", "hr.sun", json={
        "role_family": "technical", "manager_id": "zhao.min", "hr_owner_id": "hr.sun"})

    def ids(page: dict[str, object]) -> set[str]:
        return {str(d["id"]) for d in page["items"]}  # type: ignore[attr-defined]

    assert ids(await view(api, "/v1/departures/requests", "hr.sun")) == {mine, theirs}
    assert ids(await view(api, "/v1/departures/requests", "wang.lei")) == {mine}
    assert (await api.get("/v1/departures/requests", "legal.x")).problem(403)


async def test_the_letter_is_downloaded_by_its_leaver_and_hr_and_absent_to_others(
        api: Api) -> None:
    departure_id = await request_departure(api)
    sha256 = hashlib.sha256(LETTER).hexdigest()
    path = f"/v1/departures/{departure_id}/files/{sha256}"

    for who in ("wang.lei", "hr.sun"):
        got = await api.get(path, who)
        assert (got.status, got.body, got.headers["ETag"]) == (200, LETTER, f'"{sha256}"'), who
    await accept(api, departure_id)
    other = f"/v1/departures/{departure_id}/files/{'0' * 64}"
    refused = [(await api.get(path, who)).problem(404)["detail"]
               for who in ("li.qiang", "stranger")]
    assert [*refused, (await api.get(other, "hr.sun")).problem(404)["detail"]] == [
        f"file {s} of departure {departure_id} not found" for s in (sha256, sha256, "0" * 64)]
    assert (await api.get(path, "legal.x")).status == 200
    nowhere = await api.get(f"/v1/departures/{MISSING}/files/{sha256}", "stranger")
    assert nowhere.problem(404)["detail"] == f"file {sha256} of departure {MISSING} not found"
