"""Several signers, line-by-line acknowledgment and checklist givers over HTTP, on both stores.

Seeds: 004 "由客户经理与新接手人共同签字"; 002 "部门负责人审核→HR确认→接收方签字" and
"逐条签字确认"; 000 "时间、地点、参与人"; the final settlement finance prepares and the leaver
acknowledges.
"""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.verify_gate import verify_gate
from tests.integration.http_fixtures import Api, departure_body
from tests.support.confirmation import sign_confirmation_over_http

LINES = [{"id": "c-1", "text": "华东集团: 续约中, 最新需求见纪要"},
         {"id": "c-2", "text": "南方物流: 应收 12 万"}]
HOW = {"mode": "meeting", "location": "3F 会议室", "attendees": ["li.qiang", "张三"]}


async def approved_departure(api: Api) -> str:
    started = await api.post("/v1/departures", "hr.sun", json=departure_body())
    departure_id: str = started.json()["result"]["departure_id"]
    await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun")
    approved = await api.post(f"/v1/departures/{departure_id}/approvals/0/approve", "li.qiang")
    assert approved.status == 200, approved.body
    return departure_id


async def item_signed_by(api: Api, departure_id: str, signers: list[str],
                         in_order: bool = False) -> str:
    added = await api.post(f"/v1/departures/{departure_id}/items", "hr.sun", json={
        "category": "clients", "title": "重点客户", "receiver": "zhao.min",
        "signers": signers, "signers_in_order": in_order})
    assert added.status == 201, added.body
    item_id: str = added.json()["result"]["item_id"]
    return item_id


async def submit(api: Api, item_id: str, **extra: Any) -> None:
    reply = await api.post(f"/v1/items/{item_id}/submit", "wang.lei",
                           json={"note": "见清单", "lines": LINES, **extra})
    assert reply.status == 200, reply.body


async def view(api: Api, item_id: str, who: str = "hr.sun") -> dict[str, Any]:
    reply = await api.get(f"/v1/items/{item_id}", who)
    assert reply.status == 200, reply.body
    document: dict[str, Any] = reply.json()
    return document


async def test_two_signers_each_sign_and_only_then_is_the_item_confirmed_and_the_case_closable(
        api: Api) -> None:
    departure_id = await approved_departure(api)
    item_id = await item_signed_by(api, departure_id, ["li.qiang", "zhao.min"])
    await submit(api, item_id, urgent=True, **HOW)

    missing = await api.post(f"/v1/items/{item_id}/confirm", "zhao.min",
                             json={"acknowledged": ["c-1"]})
    assert "c-2" in missing.problem(422)["detail"]
    first = await api.post(f"/v1/items/{item_id}/confirm", "zhao.min",
                           json={"acknowledged": ["c-1", "c-2"], "mode": "remote"})
    assert first.status == 200, first.body
    assert first.json()["result"] == {"item_id": item_id, "state": "submitted",
                                      "signed": False, "pending_signers": ["li.qiang"]}
    refused = await api.post(f"/v1/departures/{departure_id}/close", "hr.sun")
    assert item_id in str(refused.problem(409))

    shown = await view(api, item_id, "li.qiang")  # a signer reads the item
    assert (shown["signers"], shown["pending_signers"], shown["submission_urgent"]) == (
        ["li.qiang", "zhao.min"], ["li.qiang"], True)
    assert shown["submission_how"] == HOW
    assert [(s["signer"], s["signed"], s["by"]) for s in shown["signoffs"]] == [
        ("li.qiang", False, None), ("zhao.min", True, "zhao.min")]
    assert [(ln["id"], ln["acknowledged_by"]) for ln in shown["lines"]] == [
        ("c-1", ["zhao.min"]), ("c-2", ["zhao.min"])]

    # The manager signs with their own Ed25519 key over a statement that lists the lines.
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    registered = await api.post("/v1/principals/li.qiang/keys", "li.qiang",
                                json={"public_key": base64.b64encode(public).decode()})
    assert registered.status == 201, registered.body
    statement = (await api.get(f"/v1/items/{item_id}/confirmation-statement",
                               "li.qiang")).json()["statement"]
    assert "条目 / Line: c-2 南方物流: 应收 12 万\n签字人 / Signer: li.qiang\n" in statement
    signature = {"key_id": registered.json()["key_id"], "statement": statement,
                 "signature": base64.b64encode(key.sign(statement.encode())).decode()}
    last = await api.post(f"/v1/items/{item_id}/confirm", "li.qiang",
                          json={"acknowledged": ["c-2", "c-1"], "signature": signature})
    assert last.status == 200, last.body
    assert (last.json()["result"]["state"], last.json()["result"]["signed"]) == (
        "confirmed", True)
    done = await view(api, item_id)
    assert [(s["by"], s["strong"]) for s in done["signoffs"]] == [
        ("li.qiang", True), ("zhao.min", False)]
    board = (await api.read_model(f"/v1/boards/departures/{departure_id}", "hr.sun")).json()
    shown_on_board = board["categories"]["clients"][0]
    assert (shown_on_board["signed"], shown_on_board["lines_acknowledged"],
            shown_on_board["pending_signers"]) == (True, ["c-1", "c-2"], [])

    await sign_confirmation_over_http(api, departure_id)
    closed = await api.post(f"/v1/departures/{departure_id}/close", "hr.sun")
    assert closed.status == 200, closed.body
    assert closed.json()["result"]["closure"]["confirmed"] == 1
    events = (await api.get(f"/v1/streams/{item_id}/events", "hr.sun")).json()
    types = [e["type"] for e in events.get("events", events.get("items", []))]
    assert types.count("ItemSignedOff") == 1 and types.count("ItemConfirmed") == 1
    await api.sequence()
    assert await verify_gate(api.runtime.store) == []


async def test_in_order_a_rejection_names_lines_and_a_resubmission_starts_afresh(
        api: Api) -> None:
    departure_id = await approved_departure(api)
    item_id = await item_signed_by(api, departure_id, ["hr.sun", "zhao.min"], in_order=True)
    await submit(api, item_id)

    early = await api.post(f"/v1/items/{item_id}/confirm", "zhao.min",
                           json={"acknowledged": ["c-1", "c-2"]})
    assert "signed in order" in early.problem(409)["detail"]
    stranger = await api.post(f"/v1/items/{item_id}/confirm", "stranger",
                              json={"acknowledged": ["c-1", "c-2"]})
    stranger.problem(404)
    rejected = await api.post(f"/v1/items/{item_id}/reject", "zhao.min", json={
        "reason": "客户最新需求没有写", "acknowledged": ["c-2"],
        "rejected_lines": [{"id": "c-1", "reason": "缺少最新需求"}]})
    assert rejected.status == 200, rejected.body
    shown = await view(api, item_id)
    assert shown["state"] == "rejected"
    assert shown["lines"][0]["rejected"] == [
        {"id": "c-1", "reason": "缺少最新需求", "by": "zhao.min"}]

    await submit(api, item_id)
    again = await view(api, item_id)
    assert (again["state"], again["pending_signers"]) == ("submitted", ["hr.sun", "zhao.min"])
    assert all(not s["signed"] for s in again["signoffs"])
    unknown = await api.post(f"/v1/items/{item_id}/reject", "zhao.min", json={
        "reason": "?", "rejected_lines": [{"id": "c-9", "reason": "?"}]})
    assert "c-9" in unknown.problem(422)["detail"]


async def test_a_plain_item_is_confirmed_by_its_receiver_alone_as_before(api: Api) -> None:
    departure_id = await approved_departure(api)
    item_id = await item_signed_by(api, departure_id, [])
    submitted = await api.post(f"/v1/items/{item_id}/submit", "wang.lei", json={})
    assert submitted.status == 200

    confirmed = await api.post(f"/v1/items/{item_id}/confirm", "zhao.min", json={})

    assert confirmed.json()["result"] == {"item_id": item_id, "state": "confirmed",
                                          "signed": False}
    shown = await view(api, item_id)
    assert (shown["signers"], shown["lines"], shown["submission_urgent"]) == (
        ["zhao.min"], [], False)


async def test_finance_gives_the_final_settlement_that_the_leaver_acknowledges(
        api: Api) -> None:
    template = {"key": "settlement-signers", "role_family": "finance", "name": "Settlement",
                "label": "结算", "items": [
                    {"key": "final-settlement", "category": "finance", "title": "Final pay",
                     "label": "离职结算单", "acceptance_criteria": "the leaver acknowledges",
                     "giver": "dept:finance", "receiver": "leaver", "mandatory": True,
                     "priority": "high", "due_offset_days": 0},
                    {"key": "risk-register", "category": "management", "title": "Risks",
                     "label": "风险清单", "acceptance_criteria": "逐条签字确认",
                     "receiver": "successor", "signers": ["manager", "hr", "receiver"],
                     "signers_in_order": True, "mandatory": True, "priority": "high",
                     "due_offset_days": 0},
                    {"key": "confidentiality", "category": "documents", "title": "NDA notice",
                     "label": "保密义务告知书", "acceptance_criteria": "the leaver signs for it",
                     "giver": "hr", "receiver": "leaver", "mandatory": True,
                     "priority": "high", "due_offset_days": 0}]}
    defined = await api.post("/v1/templates", "hr.sun", json=template)
    assert defined.status == 200, defined.body
    departure_id = await approved_departure(api)
    applied = await api.post(f"/v1/departures/{departure_id}/templates", "hr.sun",
                             json={"template_key": "settlement-signers",
                                   "successor_id": "zhao.min"})
    assert applied.status == 200, applied.body
    settlement, risks, notice = applied.json()["result"]["item_ids"]

    shown = await view(api, settlement)
    assert (shown["giver_id"], shown["receiver"], shown["signers"]) == (
        "dept:finance", "wang.lei", ["wang.lei"])
    assert (await view(api, risks))["signers"] == ["li.qiang", "hr.sun", "zhao.min"]
    by_leaver = await api.post(f"/v1/items/{settlement}/submit", "wang.lei", json={})
    by_leaver.problem(403)
    form = aiohttp.FormData()
    form.add_field("file", b"final pay: 20000", filename="settlement.pdf",
                   content_type="application/pdf")
    uploaded = await api.post(f"/v1/items/{settlement}/evidence", "fin.zhou", data=form)
    assert uploaded.status == 201, uploaded.body
    by_finance = await api.post(f"/v1/items/{settlement}/submit", "fin.zhou",
                                json={"lines": [{"id": "pay", "text": "工资 20000"}],
                                      "evidence": [uploaded.json()]})
    assert by_finance.status == 200, by_finance.body
    acknowledged = await api.post(f"/v1/items/{settlement}/confirm", "wang.lei",
                                  json={"acknowledged": ["pay"]})
    assert acknowledged.json()["result"]["state"] == "confirmed"

    # HR gives the confidentiality notice the leaver signs for.
    assert (await view(api, notice))["giver_id"] == "hr.sun"
    given = await api.post(f"/v1/items/{notice}/submit", "hr.sun", json={"mode": "on_site"})
    assert given.status == 200, given.body
    signed = await api.post(f"/v1/items/{notice}/confirm", "wang.lei", json={})
    assert signed.json()["result"]["state"] == "confirmed"
