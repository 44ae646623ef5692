"""A small handed-over case built through the HTTP API, for the confirmation and dispute
tests: wang.lei leaves (manager li.qiang, HR owner hr.sun); zhao.min confirmed the client file
(with one uploaded file); it.qian confirmed the account item through the dept:it queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.integration.http_fixtures import Api, departure_body


@dataclass(frozen=True)
class Case:
    """The ids a test needs."""

    departure: str
    client_item: str
    account_item: str
    client_file: str  # the SHA-256 of the file uploaded to the client item


async def _ok(reply: Any, status: int = 200) -> Any:
    assert reply.status == status, reply.body[:300]
    return reply.json()


async def handed_over_case(api: Api) -> Case:
    """Started, approved, two items submitted and confirmed (not yet signed or closed)."""
    started = await _ok(await api.post("/v1/departures", "hr.sun", json=departure_body()), 201)
    departure = started["result"]["departure_id"]
    d = f"/v1/departures/{departure}"
    await _ok(await api.post(d + "/submit", "hr.sun"))
    await _ok(await api.post(d + "/approvals/0/approve", "li.qiang"))
    client = (await _ok(await api.post(d + "/items", "hr.sun", json={
        "category": "clients", "title": "客户资料", "receiver": "zhao.min"}), 201))[
        "result"]["item_id"]
    account = (await _ok(await api.post(d + "/items", "hr.sun", json={
        "category": "accounts_permissions", "title": "CRM 账号", "receiver": "dept:it"}),
        201))["result"]["item_id"]
    form = aiohttp.FormData()
    form.add_field("file", "宏达科技 二期需求\n".encode(), filename="clients.txt",
                   content_type="text/plain")
    evidence = await _ok(await api.post(f"/v1/items/{client}/evidence", "wang.lei",
                                        data=form), 201)
    await _ok(await api.post(f"/v1/items/{client}/submit", "wang.lei",
                             json={"note": "86 家客户", "evidence": [evidence]}))
    await _ok(await api.post(f"/v1/items/{client}/confirm", "zhao.min", json={}))
    await _ok(await api.post(f"/v1/items/{account}/submit", "wang.lei", json={}))
    await _ok(await api.post(f"/v1/items/{account}/confirm", "it.qian", json={}))
    return Case(departure, client, account, evidence["sha256"])
