"""The HTTP API end to end against a real aiohttp server on 127.0.0.1, on SQLite and PostgreSQL:
every endpoint at least once, the happy path and the main errors, idempotency, If-Match, and
the request context recorded in every event."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from typing import Any

import aiohttp

from api.app import endpoints
from ledger.tlog.proof_text import verify_tlog_proof
from tests.conftest import TEST_ORIGIN
from tests.integration.http_fixtures import PROBLEM_JSON, Api, departure_body
from tests.support.case_steps import add_item
from tests.support.confirmation import sign_confirmation_over_http

MISSING = "00000000-0000-4000-8000-000000000000"
# Every declared endpoint, each exercised by at least one test below or in the module named.
EXERCISED = {
    # the public transparency log: in test_log_http.py
    "GET /log/checkpoint", "GET /log/key", "GET /log/tile/{path:.+}",
    # a checkpoint by size with its cosignatures: in test_witness_log.py; its RFC 3161
    # timestamps: in test_timestamper.py
    "GET /log/checkpoint/{size}", "GET /log/checkpoint/{size}/timestamps",
    # the bundle verifier, public: in test_bundle_export.py
    "GET /log/verify.py",
    "GET /v1/log/proof/inclusion", "GET /v1/log/proof/consistency",
    # outbound webhooks: in test_webhooks.py
    "POST /v1/webhooks", "GET /v1/webhooks", "GET /v1/webhooks/dead-letters",
    "GET /v1/webhooks/{webhook_id}", "POST /v1/webhooks/{webhook_id}/rotate",
    "POST /v1/webhooks/{webhook_id}/disable", "GET /v1/webhooks/{webhook_id}/deliveries",
    "GET /v1/webhooks/deliveries/{delivery_id}",
    "POST /v1/webhooks/deliveries/{delivery_id}/redeliver",
    "POST /v1/departures", "POST /v1/departures/{departure_id}/submit",
    "POST /v1/departures/{departure_id}/approvals/{step}/approve",
    "POST /v1/departures/{departure_id}/approvals/{step}/reject",
    "POST /v1/departures/{departure_id}/withdraw", "POST /v1/departures/{departure_id}/templates",
    "POST /v1/departures/{departure_id}/items", "POST /v1/departures/{departure_id}/reminders",
    "POST /v1/departures/{departure_id}/close", "POST /v1/items/{item_id}/submit",
    "POST /v1/items/{item_id}/confirm", "POST /v1/items/{item_id}/reject",
    "POST /v1/items/{item_id}/waive", "POST /v1/items/{item_id}/reassign",
    "POST /v1/items/{item_id}/comments", "POST /v1/items/{item_id}/external-evidence",
    "POST /v1/templates", "POST /v1/commands", "GET /v1/departures",
    "GET /v1/departures/{departure_id}", "GET /v1/items/{item_id}",
    "GET /v1/items/{item_id}/confirmation-statement", "GET /v1/streams/{stream_id}/events",
    "GET /v1/events/{event_id}", "GET /v1/events/{event_id}/proof", "GET /v1/templates",
    "GET /v1/templates/{key}", "GET /healthz", "GET /readyz", "POST /v1/principals",
    "GET /metrics",  # who may read it, and what it says: in test_operations.py
    "POST /v1/principals/{principal_id}/tokens", "POST /v1/principals/{principal_id}/keys",
    "POST /v1/items/{item_id}/evidence", "GET /v1/items/{item_id}/evidence/{sha256}",
    # access that ends: exercised in test_http_access.py
    "GET /v1/principals/{principal_id}/tokens",
    "DELETE /v1/principals/{principal_id}/tokens/{token_id}",
    "POST /v1/principals/{principal_id}/deactivate", "GET /v1/principals/{principal_id}/keys",
    "DELETE /v1/principals/{principal_id}/keys/{key_id}",
    "GET /v1/principals/{principal_id}/history",
    # one-time sign-in links: exercised in test_http_sign_in_links.py
    "POST /v1/principals/{principal_id}/sign-in-links",
    "GET /v1/principals/{principal_id}/sign-in-links",
    "DELETE /v1/principals/{principal_id}/sign-in-links/{link_id}",
    "POST /v1/departures/{departure_id}/hand-over",  # in test_http_who_may_write.py
    "POST /v1/items/{item_id}/signers/replace",  # in test_http_signer_replace.py
    # issue 9's questions and escalations: in test_flow_http.py
    "POST /v1/items/{item_id}/questions/{question_id}/answer",
    "POST /v1/items/{item_id}/escalations",
    # the handover confirmation and disputes: in test_handover_confirmation.py, test_disputes.py
    "GET /v1/departures/{departure_id}/confirmation",
    "POST /v1/departures/{departure_id}/confirmation/signatures",
    "POST /v1/disputes", "GET /v1/disputes/{dispute_id}",
    "POST /v1/disputes/{dispute_id}/statements", "POST /v1/disputes/{dispute_id}/finding",
    "POST /v1/disputes/{dispute_id}/evidence", "GET /v1/disputes/{dispute_id}/evidence/{sha256}",
    # starting and changing a case: exercised in test_http_case_start.py, test_http_case_dates.py
    "POST /v1/departures/requests", "GET /v1/departures/requests",
    "GET /v1/departures/{departure_id}/files/{sha256}",
    "POST /v1/departures/requests/{departure_id}/accept",
    "POST /v1/departures/requests/{departure_id}/decline",
    "POST /v1/departures/{departure_id}/last-working-day",
    "POST /v1/departures/{departure_id}/left",
    "POST /v1/departures/{departure_id}/contract-terminated",
    "POST /v1/departures/{departure_id}/freeze-access",
    # the fixes: exercised in test_case_fixes.py
    "POST /v1/departures/{departure_id}/confirmation/exemptions",
    "POST /v1/departures/requests/{departure_id}/withdraw",
    # read models: exercised in test_boards.py
    "GET /v1/boards/departures/{departure_id}", "GET /v1/boards/hr", "GET /v1/inbox",
    "GET /v1/queues/{department}", "GET /v1/departures/{departure_id}/timeline",
    "GET /v1/reports/handover", "GET /v1/boards/departures/{departure_id}/events",
    "GET /v1/boards/hr/events",
    # evidence bundles: exercised in test_bundle_export.py
    "GET /v1/departures/{departure_id}/bundle",
}


# --- steps shared by the tests, each one HTTP call checked for its status ---------------------

async def start(api: Api, **kwargs: Any) -> str:
    reply = await api.post("/v1/departures", "hr.sun", json=departure_body(**kwargs))
    assert reply.status == 201, reply.body
    departure_id: str = reply.json()["result"]["departure_id"]
    return departure_id


async def approved(api: Api, **kwargs: Any) -> str:
    departure_id = await start(api, **kwargs)
    assert (await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun")).status == 200
    approve = await api.post(f"/v1/departures/{departure_id}/approvals/0/approve", "li.qiang")
    assert approve.json()["result"]["state"] == "approved"
    return departure_id


async def entries_of(api: Api, stream_id: str) -> list[dict[str, Any]]:
    reply = await api.get(f"/v1/streams/{stream_id}/events", "hr.sun")
    assert reply.status == 200, reply.body
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


def decoded(event: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(event["entry"])
    return entry


# --- the full flow ------------------------------------------------------------------------------

async def test_a_departure_goes_from_start_to_close_over_http(api: Api) -> None:
    departure_id = await _start_and_approve(api)
    sales, clearance = await _apply_checklists(api, departure_id)
    handed_over = sales[0]  # client-list, received by the successor
    await _hand_over_with_evidence(api, handed_over)
    blocking = await _close_is_refused_while_items_are_open(api, departure_id, sales, clearance)
    assert handed_over not in blocking
    for item_id in blocking:
        waived = await api.post(f"/v1/items/{item_id}/waive", "hr.sun",
                                json={"reason": "handled outside the ledger"})
        assert waived.json()["result"]["state"] == "waived"
    await sign_confirmation_over_http(api, departure_id)
    closed = await api.post(f"/v1/departures/{departure_id}/close", "hr.sun",
                            json={"note": "all clear"})
    assert closed.status == 200, closed.body
    closure = closed.json()["result"]["closure"]
    closed_event = json.loads((await api.get(
        f"/v1/events/{closed.json()['events'][0]['id']}", "hr.sun")).json()["entry"])
    assert closure == {"by": "hr.sun", "confirmed": 1, "waived": len(blocking),
                       "severance_releasable": True,
                       "recorded_at": closed_event["recorded_at"]}  # the close's own moment
    view = (await api.get(f"/v1/departures/{departure_id}", "hr.sun")).json()
    assert view["closure"] == closure  # the same, replayed from the stored entries
    await _audit_trail_is_hashed_logged_and_provable(api, departure_id)


async def _start_and_approve(api: Api) -> str:
    departure_id = await start(api)
    submitted = await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun")
    assert submitted.json()["result"]["state"] == "pending_approval"
    approve = await api.post(f"/v1/departures/{departure_id}/approvals/0/approve", "li.qiang",
                             json={"comment": "ok"})
    assert approve.status == 200
    assert approve.json()["result"] == {"departure_id": departure_id, "state": "approved"}
    return departure_id


async def _apply_checklists(api: Api, departure_id: str) -> tuple[list[str], list[str]]:
    applied = []
    for body in ({"template_key": "sales", "successor_id": "zhao.min"},
                 {"template_key": "clearance"}):
        reply = await api.post(f"/v1/departures/{departure_id}/templates", "hr.sun", json=body)
        assert reply.status == 200, reply.body
        assert reply.json()["result"]["template"]["key"] == body["template_key"]
        applied.append(reply.json()["result"]["item_ids"])
    departure = await api.get(f"/v1/departures/{departure_id}", "hr.sun")
    view = departure.json()
    assert departure.headers["ETag"] == f'"{view["version"]}"'
    assert view["state"] == "handing_over"
    assert view["item_ids"] == applied[0] + applied[1]
    assert [t["key"] for t in view["templates"]] == ["sales", "clearance"]
    return applied[0], applied[1]


async def _hand_over_with_evidence(api: Api, item_id: str) -> None:
    content = "客户 86 家，附最新需求\n".encode() * 50
    form = aiohttp.FormData()
    form.add_field("file", content, filename="clients.xlsx",
                   content_type="application/vnd.ms-excel")
    uploaded = await api.post(f"/v1/items/{item_id}/evidence", "wang.lei", data=form)
    assert uploaded.status == 201, uploaded.body
    evidence = uploaded.json()
    assert evidence == {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content),
                        "name": "clients.xlsx", "media_type": "application/vnd.ms-excel"}
    submit = {"note": "all 86 clients", "evidence": [evidence]}
    first = await api.post(f"/v1/items/{item_id}/submit", "wang.lei", json=submit)
    assert first.json()["result"]["state"] == "submitted"
    rejected = await api.post(f"/v1/items/{item_id}/reject", "zhao.min",
                              json={"reason": "the latest needs of 3 key clients are missing"})
    assert rejected.json()["result"] == {"item_id": item_id, "state": "rejected"}
    again = await api.post(f"/v1/items/{item_id}/submit", "wang.lei", json=submit)
    assert again.json()["result"]["state"] == "submitted"
    confirmed = await api.post(f"/v1/items/{item_id}/confirm", "zhao.min",
                               json={"note": "received"})
    assert confirmed.json()["result"]["state"] == "confirmed"
    item = (await api.get(f"/v1/items/{item_id}", "zhao.min")).json()
    assert (item["state"], item["submissions"], item["confirmed_by"]) == (
        "confirmed", 2, "zhao.min")
    assert item["evidence"] == [evidence]
    download = await api.get(f"/v1/items/{item_id}/evidence/{evidence['sha256']}", "zhao.min")
    assert download.status == 200
    assert download.body == content
    assert download.headers["Content-Type"] == "application/vnd.ms-excel"
    assert 'filename="clients.xlsx"' in download.headers["Content-Disposition"]
    stranger = await api.get(f"/v1/items/{item_id}/evidence/{evidence['sha256']}", "stranger")
    assert stranger.problem(404)
    uncited = await api.get(f"/v1/items/{item_id}/evidence/{'0' * 64}", "zhao.min")
    assert uncited.problem(404)


async def _close_is_refused_while_items_are_open(api: Api, departure_id: str, sales: list[str],
                                                 clearance: list[str]) -> list[str]:
    mandatory = []
    for key, item_ids in (("sales", sales), ("clearance", clearance)):
        template = (await api.get(f"/v1/templates/{key}", "hr.sun")).json()
        mandatory += [i for i, spec in zip(item_ids, template["items"], strict=True)
                      if spec["mandatory"]]
    refused = await api.post(f"/v1/departures/{departure_id}/close", "hr.sun")
    problem = refused.problem(409)
    assert sorted(problem["blocking_items"]) == sorted(mandatory[1:])
    assert (await api.get(f"/v1/departures/{departure_id}", "hr.sun")).json()["state"] == (
        "handing_over")
    blocking: list[str] = problem["blocking_items"]
    return blocking


async def _audit_trail_is_hashed_logged_and_provable(api: Api, departure_id: str) -> None:
    events = await entries_of(api, departure_id)
    assert [e["type"] for e in events] == [
        "DepartureStarted", "DepartureSubmittedForApproval", "DepartureStepApproved",
        "DepartureTemplateApplied", "DepartureTemplateApplied",
        *["DepartureConfirmationSigned"] * 3, "DepartureClosed"]
    assert [e["version"] for e in events] == list(range(1, 10))
    for event in events:
        assert event["hash"] == hashlib.sha256(event["entry"].encode()).hexdigest()
        assert event["log_index"] is None
    assert decoded(events[1])["prev"] == events[0]["hash"]
    await api.sequence()
    logged = await entries_of(api, departure_id)
    assert all(isinstance(e["log_index"], int) for e in logged)
    last = logged[-1]
    one = await api.get(f"/v1/events/{last['id']}", "legal.x")
    assert one.status == 200
    assert one.json() == last
    proof = await api.get(f"/v1/events/{last['id']}/proof", "audit.x")
    assert proof.status == 200
    assert proof.content_type == "text/x.tlog.proof"
    verified = verify_tlog_proof(proof.body, bytes.fromhex(last["hash"]),
                                 api.runtime.verifiers, TEST_ORIGIN)
    assert verified.index == last["log_index"]


def test_this_module_exercises_every_declared_endpoint() -> None:
    assert {f"{e.method} {e.path}" for e in endpoints()} == EXERCISED


async def test_evidence_streams_past_the_body_limit_and_needs_a_file_part(api: Api) -> None:
    item_id = await add_item(api, await approved(api))
    scan = os.urandom(3 << 20)
    form = aiohttp.FormData()
    form.add_field("file", scan, filename="signed-handover.pdf")
    uploaded = await api.post(f"/v1/items/{item_id}/evidence", "hr.sun", data=form)
    assert uploaded.status == 201, uploaded.body
    assert uploaded.json()["sha256"] == hashlib.sha256(scan).hexdigest()
    assert uploaded.json()["media_type"] == "application/octet-stream"
    stored = [chunk async for chunk in api.runtime.blobs.read(uploaded.json()["sha256"])]
    assert b"".join(stored) == scan
    not_multipart = await api.post(f"/v1/items/{item_id}/evidence", "wang.lei", json={})
    assert not_multipart.problem(422)["field"] == "file"
    form = aiohttp.FormData()
    form.add_field("attachment", b"minutes", filename="minutes.txt")
    wrong_field = await api.post(f"/v1/items/{item_id}/evidence", "wang.lei", data=form)
    assert wrong_field.problem(422)["field"] == "file"


# --- reads --------------------------------------------------------------------------------------

async def test_templates_are_listed_and_read_by_key(api: Api) -> None:
    listed = await api.get("/v1/templates", "zhao.min")
    assert listed.status == 200
    assert sorted(t["key"] for t in listed.json()["items"]) == [
        "admin", "clearance", "finance", "general", "management", "sales", "technical"]
    sales = await api.get("/v1/templates/sales", "it.qian")
    assert sales.status == 200
    view = sales.json()
    assert (view["key"], view["role_family"], view["revision"]) == ("sales", "sales", 1)
    assert len(view["items"]) == 15
    assert len(view["content_hash"]) == 64
    (await api.get("/v1/templates/no-such-checklist", "hr.sun")).problem(404)


async def test_the_departure_board_filters_and_pages(api: Api) -> None:
    late = await approved(api, department="Sales", notice="2020-01-02", last_day="2020-01-31")
    await add_item(api, late, due_date="2020-01-25")
    closed = await approved(api, department="Sales", notice="2026-03-01",
                            last_day="2026-03-31")
    await add_item(api, closed, mandatory=False)
    await sign_confirmation_over_http(api, closed)
    assert (await api.post(f"/v1/departures/{closed}/close", "hr.sun")).status == 200
    other = await start(api, department="R&D", notice="2026-06-01", last_day="2026-06-30")

    async def board(query: str) -> list[str]:
        reply = await api.read_model(f"/v1/departures?{query}", "audit.x")
        assert reply.status == 200, reply.body
        return [d["id"] for d in reply.json()["items"]]

    assert await board("") == [late, closed, other]
    assert await board("state=closed") == [closed]
    assert await board("department=R%26D") == [other]
    assert await board("department=Sales&state=handing_over") == [late]
    assert await board("last_day_from=2026-01-01&last_day_to=2026-04-30") == [closed]
    assert await board("last_day_to=2025-12-31") == [late]
    assert await board("overdue=true") == [late]
    page = (await api.get("/v1/departures?limit=1&offset=1", "legal.x")).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1)
    assert [d["id"] for d in page["items"]] == [closed]
    for query, field in (("overdue=maybe", "overdue"), ("limit=201", "limit"),
                         ("offset=-1", "offset"), ("last_day_from=31.01.2020", "last_day_from")):
        bad = await api.get(f"/v1/departures?{query}", "hr.sun")
        assert bad.problem(422)["field"] == field


async def test_health_readiness_and_openapi_need_no_token(api: Api) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok", "log_size": None}
    await start(api)
    await api.sequence()
    ready = (await api.get("/readyz")).json()
    assert ready["status"] == "ready"
    assert ready["log_size"] == await api.runtime.store.count_events()
    document = await api.get("/openapi.json")
    assert document.status == 200
    assert "/v1/departures/{departure_id}/close" in document.json()["paths"]


# --- the remaining commands ---------------------------------------------------------------------

async def test_an_approver_rejects_a_step_and_hr_withdraws_the_departure(api: Api) -> None:
    departure_id = await start(api)
    await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun")
    rejected = await api.post(f"/v1/departures/{departure_id}/approvals/0/reject", "li.qiang",
                              json={"reason": "last day is wrong"})
    assert rejected.json()["result"]["state"] == "draft"
    withdrawn = await api.post(f"/v1/departures/{departure_id}/withdraw", "hr.sun",
                               json={"reason": "the employee stays"})
    assert withdrawn.json()["result"]["state"] == "withdrawn"
    again = await api.post(f"/v1/departures/{departure_id}/withdraw", "hr.sun",
                           json={"reason": "twice"})
    again.problem(409)


async def test_items_are_reassigned_commented_reported_on_and_chased(api: Api) -> None:
    departure_id = await approved(api)
    item_id = await add_item(api, departure_id, category="accounts_permissions",
                             title="VPN account", receiver="zhao.min", priority="high",
                             due_date="2026-11-29")
    reassigned = await api.post(f"/v1/items/{item_id}/reassign", "li.qiang",
                                json={"receiver": "dept:it", "reason": "IT revokes accounts"})
    assert reassigned.json()["result"] == {"item_id": item_id, "state": "open",
                                           "receiver": "dept:it"}
    comment = await api.post(f"/v1/items/{item_id}/comments", "it.qian",
                             json={"text": "will disable on the last day"})
    assert comment.status == 201
    report = await api.post(f"/v1/items/{item_id}/external-evidence", "it.qian", json={
        "source": "IAM", "kind": "account_disabled", "reference": "IAM-4711",
        "details": {"account": "wang.lei"}})
    assert report.status == 201
    assert report.json()["events"][0]["type"] == "ItemExternalEvidenceRecorded"
    reminder = await api.post(f"/v1/departures/{departure_id}/reminders", "hr.sun", json={
        "to": "wang.lei", "item_ids": [item_id], "channel": "wecom", "escalation": True,
        "message": "please hand over the VPN token"})
    assert reminder.status == 201
    assert reminder.json()["result"]["reminders"] == 1
    types = [e["type"] for e in await entries_of(api, item_id)]
    assert types == ["ItemCreated", "ItemReassigned", "ItemCommented",
                     "ItemExternalEvidenceRecorded"]


async def test_hr_defines_and_revises_a_checklist(api: Api) -> None:
    key = f"onsite-{uuid.uuid4().hex[:8]}"
    body = {"key": key, "role_family": "technical", "name": "On-site technician",
            "label": "现场技术", "items": [{
                "key": "site-tools", "category": "assets", "title": "Return the site tools",
                "label": "工具", "acceptance_criteria": "every tool on the list returned",
                "receiver": "dept:admin", "mandatory": True, "priority": "normal",
                "due_offset_days": 0}]}
    created = await api.post("/v1/templates", "hr.sun", json=body)
    assert created.status == 200, created.body
    assert (created.json()["result"]["revision"], created.json()["result"]["changed"]) == (
        1, True)
    unchanged = await api.post("/v1/templates", "hr.sun", json=body)
    assert unchanged.json()["result"]["changed"] is False
    assert unchanged.json()["events"] == []
    revised = await api.post("/v1/templates", "hr.zhou", json={**body, "name": "Technician"})
    assert revised.json()["result"]["revision"] == 2
    assert (await api.get(f"/v1/templates/{key}", "hr.sun")).json()["name"] == "Technician"


async def test_operators_manage_principals_tokens_and_keys_over_http(api: Api) -> None:
    new_id = f"qian.{uuid.uuid4().hex[:8]}"
    created = await api.post("/v1/principals", "admin",
                             json={"id": new_id, "name": "钱新", "roles": ["employee", "it"]})
    assert created.status == 201
    assert created.json() == {"id": new_id, "name": "钱新", "roles": ["employee", "it"],
                              "active": True}
    (await api.post("/v1/principals", "admin",
                    json={"id": new_id, "name": "again", "roles": ["hr"]})).problem(409)
    bad_role = await api.post("/v1/principals", "admin",
                              json={"id": f"x.{new_id}", "name": "x", "roles": ["root"]})
    assert bad_role.problem(422)["field"] == "roles"
    issued = await api.post(f"/v1/principals/{new_id}/tokens", "admin", json={"label": "cli"})
    assert issued.status == 201
    assert issued.headers["Cache-Control"] == "no-store"
    token = issued.json()["token"]
    api.tokens[new_id] = token
    as_it = await api.get("/v1/templates", new_id, role="it")
    assert as_it.status == 200
    public_key = base64.b64encode(os.urandom(32)).decode()
    key = await api.post(f"/v1/principals/{new_id}/keys", new_id,
                         json={"public_key": public_key})
    assert key.status == 201
    owned = new_id.encode() + b"\n" + base64.b64decode(public_key)
    assert key.json()["key_id"] == hashlib.sha256(owned).hexdigest()[:16]
    short = await api.post(f"/v1/principals/{new_id}/keys", new_id,
                           json={"public_key": base64.b64encode(b"short").decode()})
    assert short.problem(422)["field"] == "public_key"
    (await api.post("/v1/principals/nobody/tokens", "admin", json={})).problem(404)


async def test_a_receiver_reads_the_statement_to_sign_for_a_strong_confirmation(
        api: Api) -> None:
    departure_id = await approved(api)
    item_id = await add_item(api, departure_id)
    (await api.get(f"/v1/items/{item_id}/confirmation-statement", "zhao.min")).problem(409)
    await api.post(f"/v1/items/{item_id}/submit", "wang.lei", json={"note": "done"})
    reply = await api.get(f"/v1/items/{item_id}/confirmation-statement", "zhao.min")
    assert reply.status == 200, reply.body
    lines = reply.json()["statement"].split("\n")
    assert lines[:2] == ["交接确认 / Handover confirmation",
                         f"事项 / Item: 客户资料 ({item_id}, version 2)"]
    assert lines[3] == "接收人 / Receiver: zhao.min"
    (await api.get(f"/v1/items/{item_id}/confirmation-statement", "li.qiang")).problem(403)


async def test_a_batch_runs_each_command_with_its_own_result(api: Api) -> None:
    departure_id = await approved(api)
    waived, kept = await add_item(api, departure_id), await add_item(api, departure_id)
    waive = {"type": "waive_item", "item_id": waived, "reason": "the client left too"}
    reply = await api.post("/v1/commands", "hr.sun", json={"commands": [
        {"idempotency_key": "batch-1", "command": waive},
        {"command": {"type": "submit_item", "item_id": kept, "note": "not on behalf"}},
        {"command": {"type": "no_such_command"}},
        {"idempotency_key": "batch-1", "command": waive}]})
    assert reply.status == 200, reply.body
    results = reply.json()["results"]
    assert [r["status"] for r in results] == [200, 403, 422, 200]
    assert [r.get("replayed") for r in results] == [False, None, None, True]
    assert results[3]["body"] == results[0]["body"]
    assert results[1]["problem"]["title"] == "Forbidden"
    items = {i: (await api.get(f"/v1/items/{i}", "hr.sun")).json()["state"]
             for i in (waived, kept)}
    assert items == {waived: "waived", kept: "open"}


async def test_a_batch_reports_the_status_each_command_has_on_its_own_endpoint(
        api: Api) -> None:
    alone = await api.post("/v1/departures", "hr.sun", json=departure_body())
    batch = await api.post("/v1/commands", "hr.sun", json={"commands": [
        {"command": {"type": "start_departure", **departure_body()}}]})
    assert batch.json()["results"][0]["status"] == alone.status


# --- idempotency and conditional requests ---------------------------------------------------------

async def test_a_replayed_idempotency_key_returns_the_first_response_and_appends_nothing(
        api: Api) -> None:
    key = {"Idempotency-Key": f"start-{uuid.uuid4()}"}
    body = departure_body()
    first = await api.post("/v1/departures", "hr.sun", json=body, headers=key)
    assert first.status == 201
    assert "Idempotent-Replayed" not in first.headers
    count = await api.runtime.store.count_events()
    replay = await api.post("/v1/departures", "hr.sun", json=body, headers=key)
    assert replay.status == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert await api.runtime.store.count_events() == count
    changed = await api.post("/v1/departures", "hr.sun", json={**body, "reason": "dismissed"},
                             headers=key)
    changed.problem(422)
    assert await api.runtime.store.count_events() == count
    listed = (await api.read_model("/v1/departures", "hr.sun")).json()
    assert listed["total"] == 1


async def test_a_replay_returns_the_first_response_byte_for_byte(api: Api) -> None:
    key = {"Idempotency-Key": f"start-{uuid.uuid4()}"}
    first = await api.post("/v1/departures", "hr.sun", json=departure_body(), headers=key)
    replay = await api.post("/v1/departures", "hr.sun", json=departure_body(), headers=key)
    assert replay.body == first.body


async def test_if_match_refuses_a_stale_version_and_accepts_the_current_one(api: Api) -> None:
    departure_id = await start(api)
    etag = (await api.get(f"/v1/departures/{departure_id}", "hr.sun")).headers["ETag"]
    assert etag == '"1"'
    count = await api.runtime.store.count_events()
    stale = await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun",
                           headers={"If-Match": '"0"'})
    assert "version 1" in stale.problem(412)["detail"]
    assert await api.runtime.store.count_events() == count
    current = await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun",
                             headers={"If-Match": etag})
    assert current.status == 200, current.body
    after = await api.get(f"/v1/departures/{departure_id}", "hr.sun")
    assert after.headers["ETag"] == '"2"'
    replayed_etag = await api.post(f"/v1/departures/{departure_id}/approvals/0/approve",
                                   "li.qiang", headers={"If-Match": etag})
    replayed_etag.problem(412)
    not_a_version = await api.post(f"/v1/departures/{departure_id}/withdraw", "hr.sun",
                                   json={"reason": "x"}, headers={"If-Match": "*"})
    assert not_a_version.problem(422)["field"] == "If-Match"
    unversioned = await api.post("/v1/departures", "hr.sun", json=departure_body(),
                                 headers={"If-Match": '"1"'})
    assert unversioned.problem(422)["field"] == "If-Match"


# --- errors -------------------------------------------------------------------------------------

async def test_requests_without_a_valid_token_are_refused_with_a_challenge(api: Api) -> None:
    departure_id = await start(api)
    for headers in ({}, {"Authorization": "Bearer hl_not-a-real-token"},
                    {"Authorization": f"Basic {api.tokens['hr.sun']}"},
                    {"Authorization": "Bearer " + "x" * 201}):
        for method, path in (("GET", f"/v1/departures/{departure_id}"),
                             ("POST", f"/v1/departures/{departure_id}/submit")):
            reply = await api.call(method, path, headers=headers)
            reply.problem(401)
            assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await api.get(f"/v1/departures/{departure_id}", "hr.sun")).json()["state"] == "draft"


async def test_a_role_the_principal_lacks_is_forbidden(api: Api) -> None:
    reply = await api.post("/v1/departures", "wang.lei", role="hr", json=departure_body())
    assert "hr" in reply.problem(403)["detail"]
    (await api.get("/v1/templates", "hr.sun", role="operator")).problem(403)
    (await api.get("/v1/templates", "hr.sun", role="superuser")).problem(403)
    assert (await api.get("/v1/templates", "hr.sun", role="hr")).status == 200


async def test_malformed_bodies_are_refused_naming_the_field(api: Api) -> None:
    departure_id = await start(api)
    unknown = await api.post("/v1/departures", "hr.sun",
                             json={**departure_body(), "salary": 100000})
    assert unknown.problem(422)["field"] == "salary"
    nested = await api.post("/v1/departures", "hr.sun", json={
        **departure_body(), "leaver": {**departure_body()["leaver"], "role_family": "pirate"}})
    assert nested.problem(422)["field"] == "leaver.role_family"
    broken = await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun",
                            data=b'{"note": ', headers={"Content-Type": "application/json"})
    assert "JSON" in broken.problem(422)["detail"]
    array = await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun", json=[1, 2])
    array.problem(422)
    clash = await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun",
                           json={"departure_id": MISSING})
    assert clash.problem(422)["field"] == "departure_id"
    dates = await api.post("/v1/departures", "hr.sun",
                           json=departure_body(notice="2026-12-01", last_day="2026-11-30"))
    assert dates.problem(422)["field"] == "last_working_day"
    step = await api.post(f"/v1/departures/{departure_id}/approvals/x/approve", "li.qiang")
    assert step.problem(422)["field"] == "step"


async def test_a_body_over_one_mebibyte_is_refused(api: Api) -> None:
    departure_id = await start(api)
    count = await api.runtime.store.count_events()
    huge = json.dumps({"reason": "x" * (1 << 20)}).encode()
    reply = await api.post(f"/v1/departures/{departure_id}/withdraw", "hr.sun", data=huge,
                           headers={"Content-Type": "application/json"})
    reply.problem(413)
    assert await api.runtime.store.count_events() == count


async def test_unknown_ids_are_not_found(api: Api) -> None:
    for path in (f"/v1/departures/{MISSING}", f"/v1/items/{MISSING}", "/v1/items/not-a-uuid",
                 f"/v1/streams/{MISSING}/events", f"/v1/events/{MISSING}",
                 f"/v1/events/{MISSING}/proof"):
        (await api.get(path, "hr.sun")).problem(404)
    (await api.post(f"/v1/departures/{MISSING}/submit", "hr.sun")).problem(404)
    (await api.post(f"/v1/items/{MISSING}/waive", "hr.sun", json={"reason": "x"})).problem(404)
    (await api.post(f"/v1/departures/{MISSING}/templates", "hr.sun",
                    json={"template_key": "sales", "successor_id": "zhao.min"})).problem(404)


async def test_an_event_has_no_proof_before_it_is_sequenced(api: Api) -> None:
    departure_id = await start(api)
    event = (await entries_of(api, departure_id))[0]
    (await api.get(f"/v1/events/{event['id']}/proof", "hr.sun")).problem(404)


async def test_invalid_transitions_conflict(api: Api) -> None:
    departure_id = await start(api)
    early = await api.post(f"/v1/departures/{departure_id}/approvals/0/approve", "li.qiang")
    assert "draft" in early.problem(409)["detail"]
    (await api.post(f"/v1/departures/{departure_id}/close", "hr.sun")).problem(409)
    (await api.post(f"/v1/departures/{departure_id}/templates", "hr.sun",
                    json={"template_key": "clearance"})).problem(409)
    departure_id = await approved(api)
    item_id = await add_item(api, departure_id)
    (await api.post(f"/v1/items/{item_id}/confirm", "zhao.min")).problem(409)
    await api.post(f"/v1/items/{item_id}/waive", "hr.sun", json={"reason": "n/a"})
    (await api.post(f"/v1/items/{item_id}/submit", "wang.lei")).problem(409)
    applied = await api.post(f"/v1/departures/{departure_id}/templates", "hr.sun",
                             json={"template_key": "clearance"})
    assert applied.status == 200
    (await api.post(f"/v1/departures/{departure_id}/templates", "hr.sun",
                    json={"template_key": "clearance"})).problem(409)


# --- the request context ------------------------------------------------------------------------

async def test_every_event_records_who_sent_the_request_and_from_where(api: Api) -> None:
    request_id = f"req-{uuid.uuid4()}"
    headers = {"X-Request-Id": request_id, "User-Agent": "hr-portal/2.3 (test)"}
    started = await api.post("/v1/departures", "hr.sun", json=departure_body(), headers=headers)
    assert started.headers["X-Request-Id"] == request_id
    departure_id = started.json()["result"]["departure_id"]
    approve_id = f"req-{uuid.uuid4()}"
    await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun", headers=headers)
    await api.post(f"/v1/departures/{departure_id}/approvals/0/approve", "li.qiang",
                   headers={"X-Request-Id": approve_id, "User-Agent": "mobile/1.0"})
    events = [decoded(e) for e in await entries_of(api, departure_id)]
    assert events[0]["context"] == {"request_id": request_id, "ip": "127.0.0.1",
                                    "user_agent": "hr-portal/2.3 (test)", "auth": "bearer"}
    assert events[0]["actor"] == {"id": "hr.sun", "role": "hr", "name": "孙 HR"}
    assert events[1]["context"]["request_id"] == request_id
    assert events[2]["context"] == {"request_id": approve_id, "ip": "127.0.0.1",
                                    "user_agent": "mobile/1.0", "auth": "bearer"}
    assert events[2]["actor"] == {"id": "li.qiang", "role": "employee", "name": "李强"}


async def test_a_request_without_a_request_id_gets_one(api: Api) -> None:
    reply = await api.post("/v1/departures", "hr.sun", json=departure_body())
    generated = reply.headers["X-Request-Id"]
    assert len(generated) == 32
    departure_id = reply.json()["result"]["departure_id"]
    assert decoded((await entries_of(api, departure_id))[0])["context"]["request_id"] == (
        generated)


async def test_error_responses_are_problem_json_never_a_trace(api: Api) -> None:
    reply = await api.get("/v1/no-such-route", "hr.sun")
    reply.problem(404)
    (await api.call("DELETE", "/v1/templates", "hr.sun")).problem(405)
    unauthenticated = await api.get("/v1/no-such-route")
    assert unauthenticated.content_type == PROBLEM_JSON
    assert b"Traceback" not in unauthenticated.body


async def test_principal_endpoints_honour_idempotency_keys_and_never_replay_a_token(
        api: Api) -> None:
    new_id = f"idem.{uuid.uuid4().hex[:8]}"
    body = {"id": new_id, "name": "Idem", "roles": ["employee"]}
    key = {"Idempotency-Key": f"p-{new_id}"}
    first = await api.post("/v1/principals", "admin", json=body, headers=key)
    again = await api.post("/v1/principals", "admin", json=body, headers=key)
    assert (first.status, again.status) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    other = await api.post("/v1/principals", "admin", json={**body, "name": "Other"},
                           headers=key)
    other.problem(422)
    token_key = {"Idempotency-Key": f"t-{new_id}"}
    issued = await api.post(f"/v1/principals/{new_id}/tokens", "admin", json={},
                            headers=token_key)
    replayed = await api.post(f"/v1/principals/{new_id}/tokens", "admin", json={},
                              headers=token_key)
    assert issued.json()["token"].startswith("hl_")
    assert replayed.json()["token"] is None  # shown once: a replay never carries the secret
