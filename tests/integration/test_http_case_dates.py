"""Dates and facts over HTTP on SQLite and PostgreSQL: a moved last working day moves the open
checklist items' due dates (an event on each); the day the person left and the contract's
termination (with its document's digest) are recorded with items open and after close; frozen
access makes the IT clearance items due now, workable before approval, for IAM to act on.

Seed 001: "未及时解除劳动合同"; "暂时冻结了老张的系统权限"; Labour Contract Law Art. 50.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from tests.integration.http_fixtures import Api
from tests.support.case_steps import (
    TODAY,
    apply,
    approve,
    document_form,
    entries,
    started,
    view,
)

D = "/v1/departures"


async def test_a_moved_last_day_moves_the_open_checklist_items_due_dates(api: Api) -> None:
    departure_id = await started(api)
    await approve(api, departure_id)
    first, second, *_ = await apply(api, departure_id, "technical")
    adhoc = await api.post(f"{D}/{departure_id}/items", "hr.sun", json={
        "category": "documents", "title": "项目文档", "receiver": "zhao.min",
        "due_date": "2026-11-20"})
    adhoc_id = adhoc.json()["result"]["item_id"]
    assert (await api.post(f"/v1/items/{second}/waive", "hr.sun",
                           json={"reason": "no repository"})).status == 200
    before = (await view(api, f"/v1/items/{first}"))["due_date"]

    moved = await api.post(f"{D}/{departure_id}/last-working-day", "hr.sun", json={
        "last_working_day": "2026-12-07", "reason": "下周一周二才能回来办手续"})

    assert moved.status == 200, moved.body
    result = moved.json()["result"]
    assert first in result["items_moved"]
    assert second not in result["items_moved"] and adhoc_id not in result["items_moved"]
    after = (await view(api, f"/v1/items/{first}"))["due_date"]
    assert dt.date.fromisoformat(after) - dt.date.fromisoformat(before) == dt.timedelta(days=7)
    assert (await view(api, f"/v1/items/{adhoc_id}"))["due_date"] == "2026-11-20"
    change = (await entries(api, first))[-1]
    assert (change["type"], change["payload"]["cause"]) == ("ItemDueDateChanged",
                                                           "last_working_day")
    case = await view(api, f"{D}/{departure_id}")
    assert case["last_working_day"] == "2026-12-07"
    assert case["last_working_day_changes"][0]["previous"] == "2026-11-30"


async def test_moving_the_last_day_refuses_bad_input_the_same_day_and_non_hr(api: Api) -> None:
    departure_id = await started(api)
    path = f"{D}/{departure_id}/last-working-day"

    same = await api.post(path, "hr.sun", json={"last_working_day": "2026-11-30",
                                                "reason": "x"})
    assert same.problem(409)
    assert (await api.post(path, "hr.sun", json={"last_working_day": "soon",
                                                 "reason": "x"})).problem(422)
    assert (await api.post(path, "hr.sun", json={"last_working_day": "2026-12-01"})).problem(
        422)
    assert (await api.post(path, "li.qiang", json={"last_working_day": "2026-12-01",
                                                   "reason": "x"})).problem(403)


async def test_left_and_contract_termination_are_recorded_with_items_open_and_after_close(
        api: Api) -> None:
    departure_id = await started(api)
    await approve(api, departure_id)
    await apply(api, departure_id, "technical")  # mandatory items, all open
    left = await api.post(f"{D}/{departure_id}/left", "hr.sun",
                          json={"left_on": TODAY.isoformat(), "note": "left the site"})
    assert left.status == 200, left.body
    content = b"%PDF-1.7 termination certificate"

    ended = await api.post(f"{D}/{departure_id}/contract-terminated", "hr.sun",
                           data=document_form(content))

    assert ended.status == 201, ended.body
    case = await view(api, f"{D}/{departure_id}", "wang.lei")
    assert case["state"] == "handing_over" and case["left_on"] == TODAY.isoformat()
    assert case["contract_termination"]["document"]["sha256"] == hashlib.sha256(
        content).hexdigest()
    assert (await entries(api, departure_id))[-1]["type"] == "DepartureContractTerminated"
    document = f"{D}/{departure_id}/files/{hashlib.sha256(content).hexdigest()}"
    assert (await api.get(document, "wang.lei")).body == content
    assert (await api.get(document, "li.qiang")).problem(404)  # the manager reads the case only
    again = await api.post(f"{D}/{departure_id}/contract-terminated", "hr.sun",
                           data=document_form(content))
    assert "already recorded" in again.problem(409)["detail"]


async def test_a_closed_case_still_takes_the_leaving_day_and_the_termination(
        api: Api) -> None:
    departure_id = await started(api)
    await approve(api, departure_id)
    await api.post(f"{D}/{departure_id}/items", "hr.sun", json={
        "category": "documents", "title": "可选", "receiver": "zhao.min", "mandatory": False})
    assert (await api.post(f"{D}/{departure_id}/close", "hr.sun", json={})).status == 200

    assert (await api.post(f"{D}/{departure_id}/left", "hr.sun",
                           json={"left_on": TODAY.isoformat()})).status == 200
    assert (await api.post(f"{D}/{departure_id}/contract-terminated", "hr.sun",
                           data=document_form())).status == 201
    assert (await view(api, f"{D}/{departure_id}"))["state"] == "closed"


async def test_the_facts_refuse_the_leaver_a_future_day_a_withdrawn_case_and_no_file(
        api: Api) -> None:
    departure_id = await started(api)
    left = f"{D}/{departure_id}/left"
    assert (await api.post(left, "wang.lei", json={"left_on": TODAY.isoformat()})).problem(403)
    future = (TODAY + dt.timedelta(days=3)).isoformat()
    assert "future" in (await api.post(left, "hr.sun",
                                       json={"left_on": future})).problem(422)["detail"]
    no_file = await api.post(f"{D}/{departure_id}/contract-terminated", "hr.sun",
                             json={"terminated_on": TODAY.isoformat()})
    no_file.problem(422)
    assert (await api.post(f"{D}/{departure_id}/withdraw", "hr.sun",
                           json={"reason": "stays"})).status == 200
    assert (await api.post(left, "hr.sun",
                           json={"left_on": TODAY.isoformat()})).problem(409)


async def test_frozen_access_makes_the_it_items_due_now_for_iam_to_act_on(api: Api) -> None:
    departure_id = await started(api)  # approval still pending
    clearance = await apply(api, departure_id, "clearance")
    items = {i: await view(api, f"/v1/items/{i}") for i in clearance}
    it_items = {i for i, v in items.items() if v["receiver"] == "dept:it"}

    frozen = await api.post(f"{D}/{departure_id}/freeze-access", "hr.sun",
                            json={"reason": "离开项目点,未办手续"})

    assert frozen.status == 200, frozen.body
    assert set(frozen.json()["result"]["items_due_now"]) == it_items
    event = next(e for e in await entries(api, departure_id)
                 if e["type"] == "DepartureAccessFrozen")
    assert {k: event["payload"][k] for k in ("by", "principal_id", "reason")} == {
        "by": "hr.sun", "principal_id": "wang.lei", "reason": "离开项目点,未办手续"}
    assert event["payload"]["frozen_at"].endswith("Z")
    for item_id in it_items:
        moved = await view(api, f"/v1/items/{item_id}")
        assert (moved["due_date"], moved["urgent"]) == (TODAY.isoformat(), True)
    email = next(i for i in it_items if items[i]["template_item_key"] == "it-revoke-email")
    reported = await api.post(f"/v1/items/{email}/external-evidence", "system.iam", json={
        "source": "IAM", "kind": "account_disabled", "reference": "wang.lei"})
    assert reported.status == 201, reported.body  # worked before approval: it is urgent now
    assert "already frozen" in (await api.post(f"{D}/{departure_id}/freeze-access", "hr.sun",
                                               json={"reason": "again"})).problem(409)["detail"]
