"""HTTP steps for starting and changing a case (a leaver's request, forms with a file), each
one call checked for its status."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from tests.integration.http_fixtures import Api, Reply, departure_body

LETTER = "辞职信: 因家庭原因申请离职。老张".encode()
# The organisation's date (LEDGER_TIME_ZONE's default), as the service dates requests and
# frozen access: from 16:00 UTC the UTC date is a day behind it.
TODAY = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


def request_form(letter: bytes | None = LETTER, **fields: str) -> aiohttp.FormData:
    """A request form: the fields, then the letter (left out with ``letter=None``)."""
    form = aiohttp.FormData()
    values = {"department": "项目点", "position": "技术员", "reason": "家庭原因",
              "intended_last_working_day": (TODAY + dt.timedelta(days=14)).isoformat(),
              **fields}
    for name, value in values.items():
        form.add_field(name, value)
    if letter is not None:
        form.add_field("letter", letter, filename="辞职信.pdf", content_type="application/pdf")
    return form


async def request_departure(api: Api, who: str = "wang.lei", **headers: str) -> str:
    """The leaver requests their departure; the new case's id."""
    reply = await api.post("/v1/departures/requests", who, data=request_form(), headers=headers)
    assert reply.status == 201, reply.body
    departure_id: str = reply.json()["result"]["departure_id"]
    return departure_id


def acceptance(chain: bool = True, **fields: Any) -> dict[str, Any]:
    """An accept body: li.qiang manages (and approves), hr.sun owns, zhao.min succeeds."""
    return {"role_family": "technical", "manager_id": "li.qiang", "hr_owner_id": "hr.sun",
            "approval_chain": [{"name": "manager", "approver_id": "li.qiang"}] if chain else [],
            "successor_id": "zhao.min", **fields}


async def accept(api: Api, departure_id: str, **fields: Any) -> Reply:
    """HR accepts the request; the reply (checked 200)."""
    reply = await api.post(f"/v1/departures/requests/{departure_id}/accept", "hr.sun",
                           json=acceptance(**fields))
    assert reply.status == 200, reply.body
    return reply


async def started(api: Api, **kwargs: Any) -> str:
    """A case HR started (li.qiang approves its one step), submitted for approval."""
    reply = await api.post("/v1/departures", "hr.sun", json=departure_body(**kwargs))
    assert reply.status == 201, reply.body
    departure_id: str = reply.json()["result"]["departure_id"]
    assert (await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun")).status == 200
    return departure_id


async def approve(api: Api, departure_id: str) -> Reply:
    """The manager approves the one step."""
    reply = await api.post(f"/v1/departures/{departure_id}/approvals/0/approve", "li.qiang")
    assert reply.status == 200, reply.body
    return reply


async def approved(api: Api, **kwargs: Any) -> str:
    """A case HR started and li.qiang approved: handing over."""
    departure_id = await started(api, **kwargs)
    await approve(api, departure_id)
    return departure_id


async def add_item(api: Api, departure_id: str, receiver: str = "zhao.min",
                   **fields: Any) -> str:
    """HR adds a handover item (clients, 客户资料, for ``receiver`` unless ``fields`` say)."""
    reply = await api.post(f"/v1/departures/{departure_id}/items", "hr.sun", json={
        "category": "clients", "title": "客户资料", "receiver": receiver, **fields})
    assert reply.status == 201, reply.body
    item_id: str = reply.json()["result"]["item_id"]
    return item_id


async def apply(api: Api, departure_id: str, key: str) -> list[str]:
    """HR applies checklist ``key`` (zhao.min succeeds); the new item ids."""
    reply = await api.post(f"/v1/departures/{departure_id}/templates", "hr.sun",
                           json={"template_key": key, "successor_id": "zhao.min"})
    assert reply.status == 200, reply.body
    item_ids: list[str] = reply.json()["result"]["item_ids"]
    return item_ids


async def view(api: Api, path: str, who: str = "hr.sun") -> dict[str, Any]:
    """GET ``path`` (checked 200) as JSON."""
    reply = await api.get(path, who)
    assert reply.status == 200, reply.body
    document: dict[str, Any] = reply.json()
    return document


async def entries(api: Api, stream_id: str) -> list[dict[str, Any]]:
    """A stream's entries, parsed."""
    items = (await view(api, f"/v1/streams/{stream_id}/events"))["items"]
    return [json.loads(e["entry"]) for e in items]


def document_form(content: bytes = b"%PDF-1.7 termination", **fields: str) -> aiohttp.FormData:
    """A contract-terminated form: the date and note, then the document."""
    form = aiohttp.FormData()
    for name, value in {"terminated_on": TODAY.isoformat(), "note": "证明已出具",
                        **fields}.items():
        form.add_field(name, value)
    form.add_field("document", content, filename="解除劳动合同证明.pdf",
                   content_type="application/pdf")
    return form
