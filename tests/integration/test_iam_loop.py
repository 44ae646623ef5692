"""The loop through the API, with every worker of ``ledger serve`` running: the approval
that completes a case's chain applies the clearance checklist; the webhook of that event
reaches an IAM system (a real receiving server on loopback), which checks the Standard
Webhooks signature, disables the account and reports it back as external evidence; the IT
clearance items it satisfies are then submitted on the system's word. Both stores."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks.webhooks import Webhook

from ledger.webhooks.settings import WebhookSettings
from tests.integration.http_fixtures import Api, departure_body, serve

SETTINGS = WebhookSettings(allow=("127.0.0.1",), max_attempts=3, retry_base_seconds=1,
                           rotation_grace_seconds=3600)


class Iam:
    """The IAM system: on a clearance checklist applied, reports each account disabled."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.secret = ""
        self.reports: list[tuple[str, int]] = []
        self.done = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        Webhook(self.secret).verify(body, dict(request.headers))  # raises if forged
        event = json.loads(body)["data"]
        if event["type"] == "DepartureTemplateApplied" and (
                event["payload"]["template"]["key"] == "clearance"):
            async with aiohttp.ClientSession() as session:
                for item_id in event["payload"]["item_ids"]:
                    async with session.post(
                            self.api.url(f"/v1/items/{item_id}/external-evidence"),
                            headers=self.api.auth("system.iam"),
                            json={"source": "IAM", "kind": "account_disabled",
                                  "reference": event["stream"]["id"]}) as reply:
                        self.reports.append((item_id, reply.status))
            self.done.set()
        return web.json_response({"ok": True})


@contextlib.asynccontextmanager
async def iam_server(iam: Iam) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/iam", iam.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/iam"))
    finally:
        await server.close()


async def test_an_approval_reaches_iam_and_its_report_moves_the_it_clearance_item(
        database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path, webhooks=SETTINGS,
                     auto_apply_checklists=True) as api:
        iam = Iam(api)
        async with iam_server(iam) as url:
            created = await api.post("/v1/webhooks", "admin", json={
                "url": url, "event_types": ["DepartureTemplateApplied"]})
            assert created.status == 201, created.body
            iam.secret = created.json()["secret"]
            await api.runtime.workers.start()  # as ``ledger serve``
            try:
                started = await api.post("/v1/departures", "hr.sun",
                                         json=departure_body(department="Sales"))
                departure_id = started.json()["result"]["departure_id"]
                assert (await api.post(f"/v1/departures/{departure_id}/submit",
                                       "hr.sun")).status == 200
                approved = await api.post(f"/v1/departures/{departure_id}/approvals/0/approve",
                                          "li.qiang")
                assert approved.status == 200, approved.body
                await asyncio.wait_for(iam.done.wait(), 30)
            finally:
                await api.runtime.workers.stop()
        items: list[dict[str, Any]] = [(await api.get(f"/v1/items/{item_id}", "hr.sun")).json()
                                       for item_id, _ in iam.reports]
        moved = [i for i in items if i["state"] == "submitted"]
        # the report is recorded where a system may report; it submits only what it satisfies
        assert sorted((i["template_item_key"], i["submitted_by"]) for i in moved) == [
            ("it-revoke-business-systems", "system.iam"), ("it-revoke-email", "system.iam"),
            ("it-revoke-vpn-sso", "system.iam")]
        assert all(status in (201, 403, 404, 409) for _, status in iam.reports)
