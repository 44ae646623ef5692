"""Disputes after close over HTTP, on both stores: raised by a receiver, the manager or HR;
each party states (the leaver too, after close); HR finds; the case carries a legal hold that
``ledger verify``'s gate check accepts after the close.

Seed 000: a month after the sales manager left, his successor claimed the client's latest
requirements had been hidden. Seed 002: "责任界定为'接收方未履行确认义务'".
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from ledger.verify_files import FILE_EVENTS, verify_files
from ledger.verify_gate import verify_gate
from tests.integration.http_fixtures import Api
from tests.support.blob_tamper import change_blob
from tests.support.confirmation import sign_confirmation_over_http
from tests.support.handover_case import Case, handed_over_case

MISSING = "00000000-0000-4000-8000-000000000000"


async def closed_case(api: Api) -> Case:
    case = await handed_over_case(api)
    await sign_confirmation_over_http(api, case.departure)
    closed = await api.post(f"/v1/departures/{case.departure}/close", "hr.sun")
    assert closed.status == 200, closed.body
    return case


async def raise_dispute(api: Api, case: Case, who: str = "zhao.min") -> str:
    raised = await api.post("/v1/disputes", who, json={
        "departure_id": case.departure, "item_ids": [case.client_item],
        "claim": "宏达科技最新需求在交接时被隐瞒"})
    assert raised.status == 201, raised.body
    dispute_id: str = raised.json()["result"]["dispute_id"]
    return dispute_id


async def test_a_receiver_disputes_a_closed_case_which_gets_a_legal_hold(api: Api) -> None:
    case = await closed_case(api)
    raised = await api.post("/v1/disputes", "zhao.min", json={
        "departure_id": case.departure, "item_ids": [case.client_item],
        "claim": "宏达科技最新需求在交接时被隐瞒"})
    assert raised.status == 201, raised.body
    assert {(e["stream_type"], e["type"]) for e in raised.json()["events"]} == {
        ("dispute", "DisputeRaised"), ("departure", "DepartureLegalHoldPlaced")}
    dispute_id = raised.json()["result"]["dispute_id"]
    view = (await api.get(f"/v1/departures/{case.departure}", "hr.sun")).json()
    assert view["state"] == "closed" and view["legal_hold"] is True
    assert view["dispute_ids"] == [dispute_id]
    dispute = (await api.get(f"/v1/disputes/{dispute_id}", "wang.lei")).json()
    assert (dispute["state"], dispute["raised_by"], dispute["raised_as"]) == (
        "open", "zhao.min", "receiver")
    assert dispute["item_ids"] == [case.client_item]
    await api.sequence()
    assert await verify_gate(api.runtime.store) == []  # a hold after close is no violation


async def test_a_dispute_is_in_the_inbox_of_the_leaver_and_the_disputed_items_receivers(
        api: Api) -> None:
    case = await closed_case(api)
    raised = await api.post("/v1/disputes", "hr.sun", json={
        "departure_id": case.departure, "item_ids": [case.client_item],
        "claim": "宏达科技最新需求在交接时被隐瞒"})
    assert raised.status == 201, raised.body
    dispute_id = raised.json()["result"]["dispute_id"]

    async def asked(who: str) -> bool:
        reply = await api.read_model("/v1/inbox", who)
        assert reply.status == 200, reply.body
        return any(e["action"] == "state_in_dispute" and e.get("dispute_id") == dispute_id
                   for e in reply.json()["items"])

    assert await asked("zhao.min") and await asked("wang.lei") and await asked("hr.sun")
    # it.qian confirmed the case's other item (through dept:it): not a party to this one
    assert not await asked("it.qian") and not await asked("stranger")


async def test_the_manager_and_hr_raise_disputes_and_others_may_not(api: Api) -> None:
    case = await closed_case(api)
    assert await raise_dispute(api, case, "li.qiang")
    assert await raise_dispute(api, case, "hr.zhou")
    leaver = await api.post("/v1/disputes", "wang.lei", json={
        "departure_id": case.departure, "item_ids": [], "claim": "x"})
    leaver.problem(403)
    stranger = await api.post("/v1/disputes", "stranger", json={
        "departure_id": case.departure, "item_ids": [case.client_item], "claim": "x"})
    absent = await api.post("/v1/disputes", "stranger", json={
        "departure_id": MISSING, "item_ids": [], "claim": "x"})
    assert stranger.problem(404)["detail"].replace(case.departure, MISSING) == absent.problem(
        404)["detail"]
    other_item = await api.post("/v1/disputes", "hr.sun", json={
        "departure_id": case.departure, "item_ids": [MISSING], "claim": "x"})
    assert other_item.problem(422)["field"] == "item_ids"


async def statement(api: Api, dispute_id: str, who: str, text: str,
                    evidence: list[dict[str, Any]] | None = None) -> Any:
    return await api.post(f"/v1/disputes/{dispute_id}/statements", who,
                          json={"text": text, "evidence": evidence or []})


async def test_both_sides_state_citing_case_files_and_new_uploads_then_hr_finds(
        api: Api) -> None:
    case = await closed_case(api)
    dispute_id = await raise_dispute(api, case)
    form = aiohttp.FormData()
    form.add_field("file", b"From: client\nSubject: phase 3\n", filename="mail.eml",
                   content_type="text/plain")
    uploaded = await api.post(f"/v1/disputes/{dispute_id}/evidence", "wang.lei", data=form)
    assert uploaded.status == 201, uploaded.body
    mail = uploaded.json()["sha256"]
    leaver = await statement(api, dispute_id, "wang.lei", "交接时已提交二期需求", [
        {"sha256": case.client_file, "item_id": case.client_item}, {"sha256": mail}])
    assert leaver.status == 201, leaver.body
    receiver = await statement(api, dispute_id, "zhao.min", "三期需求未见记录")
    assert receiver.status == 201, receiver.body
    wrong_file = await statement(api, dispute_id, "zhao.min", "见附件", [
        {"sha256": "ef" * 32, "item_id": case.client_item}])
    assert "not uploaded to item" in wrong_file.problem(422)["detail"]
    not_uploaded = await statement(api, dispute_id, "zhao.min", "见附件",
                                   [{"sha256": "ef" * 32}])
    not_uploaded.problem(422)
    found = await api.post(f"/v1/disputes/{dispute_id}/finding", "hr.sun", json={
        "responsibility": "receiver", "reasons": "接收方未履行确认义务"})
    assert found.status == 200, found.body
    dispute = (await api.get(f"/v1/disputes/{dispute_id}", "legal.x")).json()
    assert dispute["state"] == "found"
    assert dispute["finding"] == {"by": "hr.sun", "responsibility": "receiver",
                                  "reasons": "接收方未履行确认义务",
                                  "recorded_at": json.loads((await api.get(
                                      f"/v1/events/{found.json()['events'][0]['id']}",
                                      "hr.sun")).json()["entry"])["recorded_at"]}
    assert dispute["raised_at"] < dispute["statements"][0]["recorded_at"] < dispute[
        "statements"][1]["recorded_at"] < dispute["finding"]["recorded_at"]
    assert [(s["by"], s["party"]) for s in dispute["statements"]] == [
        ("wang.lei", "leaver"), ("zhao.min", "receiver")]
    assert dispute["statements"][0]["evidence"] == [
        {"sha256": case.client_file, "item_id": case.client_item}, {"sha256": mail}]
    assert dispute["uploads"][mail]["name"] == "mail.eml"
    download = await api.get(f"/v1/disputes/{dispute_id}/evidence/{mail}", "zhao.min")
    assert download.status == 200, download.body
    assert download.body == b"From: client\nSubject: phase 3\n"
    hidden = await api.get(f"/v1/disputes/{dispute_id}/evidence/{mail}", "stranger")
    not_there = await api.get(f"/v1/disputes/{dispute_id}/evidence/{'ef' * 32}", "zhao.min")
    assert hidden.problem(404)["detail"].replace(mail, "x") == not_there.problem(404)[
        "detail"].replace("ef" * 32, "x")
    late = await statement(api, dispute_id, "wang.lei", "补充说明")
    assert "finding" in late.problem(409)["detail"]
    late_file = await api.post(f"/v1/disputes/{dispute_id}/evidence", "wang.lei",
                               data=aiohttp.FormData({"file": "x"}))
    late_file.problem(409)


async def test_only_hr_records_the_finding(api: Api) -> None:
    case = await closed_case(api)
    dispute_id = await raise_dispute(api, case)
    for who in ("zhao.min", "li.qiang", "legal.x"):
        (await api.post(f"/v1/disputes/{dispute_id}/finding", who, json={
            "responsibility": "giver", "reasons": "r"})).problem(403)
    (await api.post(f"/v1/disputes/{dispute_id}/finding", "stranger", json={
        "responsibility": "giver", "reasons": "r"})).problem(404)
    assert (await statement(api, dispute_id, "wang.lei", "已如实交接")).status == 201
    bad = await api.post(f"/v1/disputes/{dispute_id}/finding", "hr.sun", json={
        "responsibility": "everyone", "reasons": "r"})
    bad.problem(422)


async def test_parties_legal_and_auditors_read_a_dispute_and_everyone_else_gets_404(
        api: Api) -> None:
    case = await closed_case(api)
    dispute_id = await raise_dispute(api, case)
    for who in ("wang.lei", "zhao.min", "li.qiang", "hr.zhou", "legal.x"):
        reply = await api.get(f"/v1/disputes/{dispute_id}", who)
        assert reply.status == 200, (who, reply.body)
    hidden = (await api.get(f"/v1/disputes/{dispute_id}", "stranger")).problem(404)
    absent = (await api.get(f"/v1/disputes/{MISSING}", "stranger")).problem(404)
    assert hidden["detail"].replace(dispute_id, MISSING) == absent["detail"]
    for who in ("stranger", "it.qian"):
        (await api.get(f"/v1/disputes/{dispute_id}", who)).problem(404)
        (await api.get(f"/v1/streams/{dispute_id}/events", who)).problem(404)
        (await statement(api, dispute_id, who, "x")).problem(404)
    events = await api.get(f"/v1/streams/{dispute_id}/events", "zhao.min")
    assert [e["type"] for e in events.json()["items"]] == ["DisputeRaised"]
    for reader in ("legal.x", "audit.x"):  # they read only
        assert (await api.get(f"/v1/disputes/{dispute_id}", reader)).status == 200
        (await statement(api, dispute_id, reader, "x")).problem(403)


async def test_ledger_verify_rehashes_a_disputes_files_and_names_the_dispute(api: Api) -> None:
    case = await closed_case(api)
    dispute_id = await raise_dispute(api, case)
    form = aiohttp.FormData()
    form.add_field("file", b"recorded walkthrough notes\n", filename="notes.txt",
                   content_type="text/plain")
    uploaded = await api.post(f"/v1/disputes/{dispute_id}/evidence", "zhao.min", data=form)
    assert uploaded.status == 201, uploaded.body
    rows = [row for row in await api.runtime.store.read_for_audit(0, 10_000)
            if row[5] in FILE_EVENTS]
    assert (await verify_files(api.runtime.blobs, rows)).problems == []
    await change_blob(api.runtime.blobs, api.runtime.settings.database_url,
                      uploaded.json()["sha256"])
    [problem] = (await verify_files(api.runtime.blobs, rows)).problems
    assert f"uploaded to dispute {dispute_id}" in str(problem)
    assert problem.stream_id == dispute_id


async def test_a_retried_raise_with_its_idempotency_key_raises_one_dispute(api: Api) -> None:
    case = await closed_case(api)
    body = {"departure_id": case.departure, "item_ids": [case.client_item], "claim": "隐瞒"}
    first = await api.post("/v1/disputes", "zhao.min", json=body,
                           headers={"Idempotency-Key": "raise-1"})
    again = await api.post("/v1/disputes", "zhao.min", json=body,
                           headers={"Idempotency-Key": "raise-1"})
    assert first.status == again.status == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    view = (await api.get(f"/v1/departures/{case.departure}", "hr.sun")).json()
    assert view["dispute_ids"] == [first.json()["result"]["dispute_id"]]
