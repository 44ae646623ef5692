"""Fixes to the case's life over HTTP, on both stores: a signatory who cannot sign the handover
confirmation, the dates of a request, frozen access, the leaver's own withdrawal, the request
form, and who sees the case's personal papers."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid

import aiohttp

from tests.integration.http_fixtures import Api
from tests.support.case_steps import (
    TODAY,
    accept,
    apply,
    document_form,
    entries,
    request_departure,
    request_form,
    started,
    view,
)
from tests.support.handover_case import handed_over_case


async def test_a_deactivated_leaver_is_excused_and_the_close_records_who_did_not_sign(
        api: Api) -> None:
    case = await handed_over_case(api)
    d = f"/v1/departures/{case.departure}"
    statement = (await api.get(d + "/confirmation", "hr.sun")).json()
    for who in statement["unsigned"]:
        if who != "wang.lei":
            signed = await api.post(d + "/confirmation/signatures", who,
                                    json={"statement_sha256": statement["sha256"]})
            assert signed.status == 201, signed.body
    assert (await api.post("/v1/principals/wang.lei/deactivate", "admin")).status == 200
    assert (await api.post(d + "/close", "hr.sun")).problem(409)["unsigned_by"] == ["wang.lei"]
    body = {"signatory": "wang.lei", "statement_sha256": statement["sha256"],
            "reason": "离职后账号已停用，无法签字"}
    (await api.post(d + "/confirmation/exemptions", "li.qiang", json=body)).problem(403)
    excused = await api.post(d + "/confirmation/exemptions", "hr.sun", json=body)
    assert excused.status == 201, excused.body
    assert excused.json()["events"][0]["type"] == "DepartureConfirmationSignatureExcused"
    assert excused.json()["result"]["excused"] == ["wang.lei"]
    again = await api.post(d + "/confirmation/exemptions", "hr.sun", json=body)
    assert again.status == 409
    shown = (await api.get(d + "/confirmation", "hr.sun")).json()
    assert (shown["unsigned"], shown["excused"]["wang.lei"]["reason"]) == (
        ["wang.lei"], body["reason"])
    closed = await api.post(d + "/close", "hr.sun")
    assert closed.status == 200, closed.body
    record = {"confirmation_not_signed_by": "wang.lei", "parties": ["leaver"],
              "statement_sha256": statement["sha256"], "reason": body["reason"],
              "excused_by": "hr.sun"}
    view = (await api.get(d, "hr.sun")).json()
    assert view["closure"]["confirmation_not_signed_by"] == [record]
    assert view["confirmation_exemptions"]["wang.lei"]["reason"] == body["reason"]
    entries = (await api.get(f"/v1/streams/{case.departure}/events", "hr.sun")).json()["items"]
    assert json.loads(entries[-1]["entry"])["payload"]["warnings"] == [record]


# --- one organisation-local "today" (LEDGER_TIME_ZONE, default Asia/Shanghai) ---------------

SHANGHAI_MORNING = dt.datetime(2026, 12, 6, 23, 30, tzinfo=dt.UTC)  # 07:30 on 7 Dec there


async def test_a_request_frozen_access_and_the_leaving_day_use_the_organisations_date(
        api: Api) -> None:
    api.runtime.ledger.clock = lambda: SHANGHAI_MORNING
    requested = await api.post("/v1/departures/requests", "wang.lei",
                               data=request_form(intended_last_working_day="2026-12-07"))
    assert requested.status == 201, requested.body
    departure_id = requested.json()["result"]["departure_id"]
    case = await view(api, f"/v1/departures/{departure_id}")
    assert (case["notice_date"], case["request"]["requested_on"]) == ("2026-12-07",
                                                                       "2026-12-07")
    assert (await entries(api, departure_id))[0]["payload"]["notice_date"] == "2026-12-07"
    past = await api.post("/v1/departures/requests", "zhao.min",
                          data=request_form(intended_last_working_day="2026-12-06"))
    assert past.problem(422)["field"] == "intended_last_working_day"

    started_id = await started(api)
    clearance = await apply(api, started_id, "clearance")
    frozen = await api.post(f"/v1/departures/{started_id}/freeze-access", "hr.sun",
                            json={"reason": "离开项目点"})
    assert frozen.status == 200, frozen.body
    assert frozen.json()["result"]["access_frozen"]["frozen_at"] == (
        "2026-12-06T23:30:00.000000Z")
    due = {(await view(api, f"/v1/items/{i}"))["due_date"]
           for i in frozen.json()["result"]["items_due_now"]}
    assert due == {"2026-12-07"} and clearance
    left = f"/v1/departures/{started_id}/left"
    assert (await api.post(left, "hr.sun", json={"left_on": "2026-12-08"})).problem(422)
    assert (await api.post(left, "hr.sun", json={"left_on": "2026-12-07"})).status == 200


# --- frozen access only on an accepted case --------------------------------------------------

async def test_access_is_not_frozen_on_a_request_hr_has_not_accepted_or_declined(
        api: Api) -> None:
    departure_id = await request_departure(api)
    freeze = f"/v1/departures/{departure_id}/freeze-access"
    assert (await api.post(freeze, "hr.sun", json={"reason": "走了"})).problem(409)
    declined = await api.post(f"/v1/departures/requests/{departure_id}/decline", "hr.sun",
                              json={"reason": "请先与经理面谈"})
    assert declined.status == 200, declined.body
    assert (await api.post(freeze, "hr.sun", json={"reason": "走了"})).problem(409)
    assert not any(e["type"] == "DepartureAccessFrozen"
                   for e in await entries(api, departure_id))


# --- the leaver's own withdrawal, and an empty letter -----------------------------------------

async def test_the_leaver_withdraws_their_own_request_others_cannot(api: Api) -> None:
    departure_id = await request_departure(api)
    path = f"/v1/departures/requests/{departure_id}/withdraw"
    body = {"reason": "已与经理谈妥，留下"}
    assert (await api.post(path, "zhao.min", json=body)).problem(404)  # not theirs to see
    assert "only the leaver" in (await api.post(path, "hr.sun", json=body)).problem(403)[
        "detail"]
    hr_withdraw = await api.post(f"/v1/departures/{departure_id}/withdraw", "hr.sun", json=body)
    assert "HR declines it" in hr_withdraw.problem(409)["detail"]  # HR's own path says how
    withdrawn = await api.post(path, "wang.lei", json=body)
    assert withdrawn.status == 200, withdrawn.body
    assert withdrawn.json()["result"]["state"] == "withdrawn"
    event = (await entries(api, departure_id))[-1]
    assert (event["type"], event["payload"]) == ("DepartureWithdrawn", {
        "by": "wang.lei", "reason": body["reason"], "previous_state": "requested"})
    assert (await api.post(path, "wang.lei", json=body)).problem(409)
    # withdrawn before HR accepted it, it stays the leaver's and HR's alone
    letter = (await api.get(f"/v1/departures/{departure_id}", "hr.sun")).json()[
        "request"]["letter"]["sha256"]
    for who in ("legal.x", "audit.x"):
        for path_read in (f"/v1/departures/{departure_id}",
                          f"/v1/departures/{departure_id}/files/{letter}",
                          f"/v1/departures/{departure_id}/timeline",
                          f"/v1/boards/departures/{departure_id}"):
            assert (await api.get(path_read, who)).status == 404, (who, path_read)
        listed = (await api.read_model("/v1/boards/hr?state=withdrawn", who)).json()
        assert departure_id not in [d["id"] for d in listed["items"]], who
    accepted = await request_departure(api, "li.qiang")
    await accept(api, accepted, chain=False, manager_id="zhao.min")
    assert (await api.post(f"/v1/departures/requests/{accepted}/withdraw", "li.qiang",
                           json=body)).problem(409)


async def test_an_empty_resignation_letter_or_termination_document_is_refused(
        api: Api) -> None:
    empty = await api.post("/v1/departures/requests", "wang.lei", data=request_form(b""))
    assert empty.problem(422)["field"] == "letter"
    departure_id = await started(api)
    document = await api.post(f"/v1/departures/{departure_id}/contract-terminated", "hr.sun",
                              data=document_form(b""))
    assert document.problem(422)["field"] == "document"


# --- the form's fields are validated before its file is stored --------------------------------

def _form(parts: list[tuple[str, str | bytes]]) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, value in parts:
        if isinstance(value, bytes):
            form.add_field(name, value, filename="辞职信.pdf", content_type="application/pdf")
        else:
            form.add_field(name, value)
    return form


async def _stored(api: Api, content: bytes) -> bool:
    return await api.runtime.blobs.size_of(hashlib.sha256(content).hexdigest()) is not None


async def test_a_request_form_the_command_refuses_stores_no_letter(api: Api) -> None:
    fields = [("department", "项目点"), ("position", "技术员"), ("reason", "家庭原因"),
              ("intended_last_working_day", (TODAY + dt.timedelta(days=14)).isoformat())]
    letter = f"辞职信 {uuid.uuid4()}".encode()
    refused = [
        [*fields[:3], ("intended_last_working_day", "2026-13-01"), ("letter", letter)],
        [("department", ""), *fields[1:], ("letter", letter)],
        [*fields[:3], ("letter", letter)],  # a field missing
        [("letter", letter), *fields],  # the file first
        [*fields[:3], ("intended_last_working_day", "2020-01-01"), ("letter", letter)],
    ]
    for parts in refused:
        reply = await api.post("/v1/departures/requests", "wang.lei", data=_form(parts))
        assert reply.problem(422), parts
        assert not await _stored(api, letter), parts
    after = await api.post("/v1/departures/requests", "wang.lei",
                           data=_form([*fields, ("letter", letter), ("note", "x")]))
    assert "last part" in after.problem(422)["detail"]
    created = await api.post("/v1/departures/requests", "wang.lei",
                             data=_form([*fields, ("letter", letter)]))
    assert created.status == 201, created.body
    assert await _stored(api, letter)


async def test_a_termination_form_the_command_refuses_stores_no_document(api: Api) -> None:
    document = f"解除劳动合同证明 {uuid.uuid4()}".encode()
    requested = await request_departure(api)
    path = f"/v1/departures/{requested}/contract-terminated"
    good = [("terminated_on", TODAY.isoformat()), ("note", "证明已出具"), ("document", document)]
    assert (await api.post(path, "hr.sun", data=_form(good))).problem(409)  # not accepted
    departure_id = await started(api)
    path = f"/v1/departures/{departure_id}/contract-terminated"
    bad = [("terminated_on", "someday"), ("document", document)]
    assert (await api.post(path, "hr.sun", data=_form(bad))).problem(422)
    assert not await _stored(api, document)
    assert (await api.post(path, "hr.sun", data=_form(good))).status == 201
    again = f"解除劳动合同证明 {uuid.uuid4()}".encode()
    twice = await api.post(path, "hr.sun", data=_form([*good[:2], ("document", again)]))
    assert twice.problem(409)
    assert not await _stored(api, again)


# --- the case's personal papers: seen only by those who may download them ---------------------

async def test_the_letter_and_termination_document_show_only_to_who_may_download_them(
        api: Api) -> None:
    departure_id = await request_departure(api)
    await accept(api, departure_id)
    d = f"/v1/departures/{departure_id}"
    terminated = await api.post(d + "/contract-terminated", "hr.sun", data=document_form())
    assert terminated.status == 201, terminated.body
    for who in ("wang.lei", "hr.sun", "legal.x", "audit.x"):
        case = await view(api, d, who)
        assert case["request"]["letter"]["sha256"], who
        assert case["contract_termination"]["document"]["name"], who
    case = await view(api, d, "li.qiang")  # the manager (and approver) reads the case
    assert "letter" not in case["request"] and "document" not in case["contract_termination"]
    assert case["request"]["reason"] and case["contract_termination"]["terminated_on"]
    listed = (await api.read_model("/v1/departures?limit=200", "legal.x")).json()["items"]
    assert next(c for c in listed if c["id"] == departure_id)["request"]["letter"]
