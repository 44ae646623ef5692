"""A case for the evidence report, made over real HTTP: a checklist line waived, a client file
rejected, resubmitted and confirmed with the receiver's own Ed25519 signature (from a phone's
browser), a reminder, the handover confirmation signed, the close; and the ``ReportSource`` of
its entries as they are stored, against the log's latest checkpoint."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.bundle.layout import CHECKPOINT, entry_path, report_source_sha256
from ledger.bundle.source import ReportSource
from ledger.service import commands as c
from ledger.service.context import Actor, RequestContext
from tests.integration.http_fixtures import Api, departure_body
from tests.support.confirmation import sign_confirmation_over_http

PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")
DESKTOP = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/120.0.0.0 Safari/537.36")
CLIENTS = b"86 clients\n"
REQUIREMENTS = "三期最新需求\n".encode()
REJECTION = "缺少三期最新需求 / the phase-3 requirements are missing"


@dataclass(frozen=True)
class ReportCase:
    """The case's ids and the source its report is rendered from."""

    departure_id: str
    item_id: str
    checklist_item_id: str
    source: ReportSource


async def _ok(reply: Any, status: int = 200) -> Any:
    assert reply.status == status, reply.body[:400]
    return reply.json()


async def _upload(api: Api, item_id: str, name: str, content: bytes) -> dict[str, Any]:
    form = aiohttp.FormData()
    form.add_field("file", content, filename=name, content_type="text/plain")
    evidence: dict[str, Any] = await _ok(await api.post(
        f"/v1/items/{item_id}/evidence", "wang.lei", data=form,
        headers={"User-Agent": DESKTOP}), 201)
    return evidence


async def _signed_confirmation(api: Api, item_id: str) -> dict[str, str]:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    registered = await _ok(await api.post("/v1/principals/zhao.min/keys", "zhao.min", json={
        "public_key": base64.b64encode(public).decode()}), 201)
    statement: str = (await _ok(await api.get(
        f"/v1/items/{item_id}/confirmation-statement", "zhao.min")))["statement"]
    signature = base64.b64encode(key.sign(statement.encode("utf-8"))).decode()
    return {"key_id": registered["key_id"], "statement": statement, "signature": signature}


async def make_report_case(api: Api, time_zone: str = "Asia/Shanghai",
                           status: str = "final") -> ReportCase:
    """Build the case and read its source back from the store (see the module docstring)."""
    key = f"report-{uuid.uuid4().hex[:8]}"
    await _ok(await api.post("/v1/templates", "hr.sun", json={
        "key": key, "role_family": "sales", "name": "销售交接 Sales handover", "label": "",
        "items": [{"key": "crm", "category": "accounts_permissions", "title": "CRM 账号",
                   "label": "", "acceptance_criteria": "账号移交", "receiver": "successor",
                   "mandatory": True, "priority": "normal", "due_offset_days": 0}]}))
    started = await _ok(await api.post("/v1/departures", "hr.sun", json=departure_body()), 201)
    departure_id: str = started["result"]["departure_id"]
    await _ok(await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun"))
    await _ok(await api.post(f"/v1/departures/{departure_id}/approvals/0/approve", "li.qiang",
                             json={"comment": "同意 approved"}))
    applied = await _ok(await api.post(f"/v1/departures/{departure_id}/templates", "hr.sun",
                                       json={"template_key": key, "successor_id": "zhao.min"}))
    checklist_item: str = applied["result"]["item_ids"][0]
    added = await _ok(await api.post(f"/v1/departures/{departure_id}/items", "hr.sun", json={
        "category": "clients", "title": "客户资料", "receiver": "zhao.min"}), 201)
    item_id: str = added["result"]["item_id"]
    first = await _upload(api, item_id, "clients.xlsx", CLIENTS)
    await _ok(await api.post(f"/v1/items/{item_id}/submit", "wang.lei", json={
        "note": "86 家客户 all 86 clients", "evidence": [first]}))
    await _ok(await api.post(f"/v1/items/{item_id}/reject", "zhao.min",
                             json={"reason": REJECTION}, headers={"User-Agent": PHONE}))
    await _ok(await api.post(f"/v1/departures/{departure_id}/reminders", "hr.sun", json={
        "to": "wang.lei", "item_ids": [item_id], "channel": "wecom"}), 201)
    second = await _upload(api, item_id, "需求.docx", REQUIREMENTS)
    await _ok(await api.post(f"/v1/items/{item_id}/submit", "wang.lei", json={
        "note": "补充三期需求 added the requirements", "evidence": [first, second]}))
    signed = await _signed_confirmation(api, item_id)
    await _ok(await api.post(f"/v1/items/{item_id}/confirm", "zhao.min",
                             json={"signature": signed}, headers={"User-Agent": PHONE}))
    await _ok(await api.post(f"/v1/items/{checklist_item}/waive", "hr.sun",
                             json={"reason": "账号已由 IT 停用 / disabled by IT"}))
    await sign_confirmation_over_http(api, departure_id)
    await _ok(await api.post(f"/v1/departures/{departure_id}/close", "hr.sun",
                             json={"note": "交接完成 handover complete"}))
    return ReportCase(departure_id, item_id, checklist_item,
                      await read_source(api, departure_id, time_zone, status))


async def read_source(api: Api, departure_id: str, time_zone: str,
                      status: str) -> ReportSource:
    """The report source of ``departure_id``: its streams' stored entries (the departure, its
    items, the template revisions it applied), the latest checkpoint and the log's keys."""
    await api.sequence()
    checkpoint = (await api.get("/log/checkpoint")).body
    keys = (await api.get("/log/key")).body.decode().splitlines()
    ledger = api.runtime.ledger
    departure = await ledger.entries(uuid.UUID(departure_id))
    streams = [e.payload.get("item_ids", []) for e in departure]
    item_ids = [i for ids in streams if isinstance(ids, list) for i in ids]
    item_ids += [e.payload["item_id"] for e in departure if e.event_type == "DepartureItemAdded"]
    entries = {entry_path(e.stream_type, str(e.stream_id), e.version): e.raw for e in departure}
    for item_id in item_ids:
        for e in await ledger.entries(uuid.UUID(str(item_id))):
            entries[entry_path("item", str(e.stream_id), e.version)] = e.raw
    for e in departure:
        template = e.payload.get("template")
        if isinstance(template, dict):
            for t in await ledger.entries(uuid.UUID(str(template["id"]))):
                if t.version <= int(str(template["revision"])):
                    entries[entry_path("template", str(t.stream_id), t.version)] = t.raw
    generated_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return ReportSource(departure_id=departure_id, generated_at=generated_at, status=status,
                        time_zone=time_zone, checkpoint=checkpoint, keys=keys, entries=entries,
                        report_source_sha256=report_source_sha256(
                            {CHECKPOINT: checkpoint, **entries}))


async def make_large_case(api: Api, items: int = 60) -> ReportSource:
    """A case of ``items`` items, each added, submitted, rejected, resubmitted, confirmed and
    commented on four times, through the ledger's use cases with a browser's request context:
    ten events an item (600 for 60), the size the issue's benchmark names."""
    ledger = api.runtime.ledger
    hr, leaver, receiver = (Actor("hr.sun", "hr"), Actor("wang.lei", "employee"),
                            Actor("zhao.min", "employee"))
    web = RequestContext(request_id="bench", ip="203.0.113.7", user_agent=DESKTOP,
                         auth="bearer")
    phone = RequestContext(request_id="bench", ip="198.51.100.4", user_agent=PHONE,
                           auth="bearer")
    body = departure_body()
    started = await ledger.execute(c.StartDeparture.model_validate(body), hr, web)
    departure_id = uuid.UUID(str(started.result["departure_id"]))
    await ledger.execute(c.SubmitForApproval(departure_id=departure_id), hr, web)
    await ledger.execute(c.ApproveStep(departure_id=departure_id, step=0),
                         Actor("li.qiang", "employee"), web)
    for n in range(items):
        added = await ledger.execute(c.AddItem(
            departure_id=departure_id, category="clients", title=f"客户 {n:02d} 资料",
            receiver="zhao.min"), hr, web)
        item_id = uuid.UUID(str(added.result["item_id"]))
        await ledger.execute(c.SubmitItem(item_id=item_id, note="第一次 first"), leaver, web)
        await ledger.execute(c.RejectItem(item_id=item_id, reason=REJECTION), receiver, phone)
        await ledger.execute(c.SubmitItem(item_id=item_id, note="补充 again"), leaver, web)
        await ledger.execute(c.ConfirmItem(item_id=item_id, note="收到 received"), receiver,
                             phone)
        for k in range(4):
            await ledger.execute(c.CommentItem(item_id=item_id, text=f"备注 note {k}"), hr, web)
    return await read_source(api, str(departure_id), "Asia/Shanghai", "interim")
