"""Outbound webhooks against a real receiving aiohttp server on 127.0.0.1, on both stores:
signatures verified with the ``standardwebhooks`` package, retries, dead letters, redelivery,
order per departure, a restart, the allow-list, and the group robots' formats."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks.webhooks import Webhook

from ledger.entry import format_time
from ledger.webhooks import repository as repo
from ledger.webhooks.dispatcher import Dispatcher
from ledger.webhooks.settings import WebhookSettings
from ledger.webhooks.wiring import OutboxRunner, build_webhooks
from tests.integration.http_fixtures import Api, Reply, departure_body, serve
from tests.support.captured_log import captured_log

SETTINGS = WebhookSettings(allow=("127.0.0.1", "localhost"), max_attempts=3,
                           retry_base_seconds=1, rotation_grace_seconds=3600)


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver: records every request; answers from a script per path."""

    base: str = ""
    got: list[Received] = field(default_factory=list)
    statuses: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    failing_streams: set[str] = field(default_factory=set)

    def on(self, path: str) -> list[Received]:
        return [r for r in self.got if r.path == path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        name = request.match_info["name"]
        self.got.append(Received(name, dict(request.query), dict(request.headers), body))
        if name == "redirect":
            raise web.HTTPFound(f"{self.base}/elsewhere")
        if name == "ordered" and json.loads(body)["data"]["stream"]["id"] in self.failing_streams:
            return web.Response(status=500)
        status = self.statuses[name].pop(0) if self.statuses[name] else 200
        return web.json_response(self.answers.get(name, {"ok": True}), status=status)


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    rx = Receiver()
    app = web.Application()
    app.router.add_post("/{name}", rx.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    rx.base = str(server.make_url("")).rstrip("/")
    try:
        yield rx
    finally:
        await server.close()


class Clock:
    """The dispatcher's time, moved by the test."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@dataclass
class Hooks:
    api: Api
    rx: Receiver
    runner: OutboxRunner
    dispatcher: Dispatcher
    clock: Clock

    async def queue(self) -> int:
        await self.api.sequence()
        return await self.runner.catch_up()

    async def deliver(self, rounds: int = 20, advance: float = 0) -> int:
        """Queue, then step the dispatcher until nothing is due; deliveries attempted."""
        await self.queue()
        total = 0
        for _ in range(rounds):
            self.clock.advance(advance)
            done = await self.dispatcher.step()
            total += done
            if not done and not advance:
                break
        return total

    async def subscribe(self, path: str, event_types: list[str], **body: Any) -> dict[str, Any]:
        await self.api.sequence()  # a subscription takes the events logged after it
        reply = await self.api.post("/v1/webhooks", "admin", json={
            "url": f"{self.rx.base}/{path}", "event_types": event_types, **body})
        assert reply.status == 201, reply.body
        created: dict[str, Any] = reply.json()
        return created

    async def count_outbox(self) -> int:
        rows = await self.api.runtime.projections.fetch("SELECT count(*) AS n FROM webhook_outbox")
        return int(rows[0]["n"])


@pytest.fixture
async def hooks(database_url: str, tmp_path: Path) -> AsyncIterator[Hooks]:
    async with serve(database_url, tmp_path, webhooks=SETTINGS) as api, receiver() as rx:
        clock = Clock()
        runner, dispatcher = build_webhooks(api.runtime.store, api.runtime.projections,
                                            SETTINGS, clock=clock)
        try:
            yield Hooks(api, rx, runner, dispatcher, clock)
        finally:
            await dispatcher.close()


def signed_by(secret: str, got: Received) -> str:
    """The package's signature of what was received, at its own ``webhook-timestamp`` (the
    tests' clock runs ahead of the package's replay window, so they compare, not verify)."""
    moment = dt.datetime.fromtimestamp(int(got.headers["webhook-timestamp"]), dt.UTC)
    return Webhook(secret).sign(got.headers["webhook-id"], moment, got.body)


async def start(api: Api, leaver: str = "wang.lei") -> str:
    reply = await api.post("/v1/departures", "hr.sun", json=departure_body(leaver=leaver))
    assert reply.status == 201, reply.body
    departure_id: str = reply.json()["result"]["departure_id"]
    return departure_id


async def approved(api: Api, leaver: str = "wang.lei") -> str:
    departure_id = await start(api, leaver)
    assert (await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun")).status == 200
    reply = await api.post(f"/v1/departures/{departure_id}/approvals/0/approve", "li.qiang")
    assert reply.status == 200, reply.body
    return departure_id


async def test_a_json_delivery_verifies_with_the_standard_webhooks_package(hooks: Hooks) -> None:
    created = await hooks.subscribe("ok", ["DepartureStarted"], description="HRIS")
    secret = created["secret"]
    assert secret.startswith("whsec_") and created["active"] is True
    departure_id = await start(hooks.api)
    assert await hooks.deliver() == 1
    [got] = hooks.rx.on("ok")
    payload = Webhook(secret).verify(got.body, got.headers)
    assert payload["type"] == "DepartureStarted"
    assert payload["data"]["stream"] == {"type": "departure", "id": departure_id}
    assert payload["data"]["version"] == 1 and payload["data"]["log_index"] >= 0
    assert payload["data"]["payload"]["leaver"]["id"] == "wang.lei"
    listed = (await hooks.api.get("/v1/webhooks", "admin")).json()["items"]
    assert [w["id"] for w in listed] == [created["id"]]
    assert secret not in json.dumps(listed)
    one = await hooks.api.get(f"/v1/webhooks/{created['id']}", "admin")
    assert "secret" not in one.json()
    log = (await hooks.api.get(f"/v1/webhooks/{created['id']}/deliveries", "admin")).json()
    [delivery] = log["items"]
    assert delivery["status"] == "delivered" and delivery["id"] == got.headers["webhook-id"]


async def test_a_rotated_secret_keeps_signing_beside_the_new_one(hooks: Hooks) -> None:
    created = await hooks.subscribe("ok", ["DepartureStarted"])
    rotated = await hooks.api.post(f"/v1/webhooks/{created['id']}/rotate", "admin")
    assert rotated.status == 200, rotated.body
    new = rotated.json()["secret"]
    assert new != created["secret"] and rotated.json()["previous_secret_valid_until"]
    await start(hooks.api)
    await hooks.deliver()
    [got] = hooks.rx.on("ok")
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (created["secret"], new):
        Webhook(secret).verify(got.body, got.headers)
    hooks.clock.advance(2 * 3600)  # past the grace period: only the new secret signs
    await start(hooks.api, leaver="zhao.min")
    await hooks.deliver()
    last = hooks.rx.on("ok")[-1]
    assert last.headers["webhook-signature"] == signed_by(new, last)


async def test_retries_on_500_then_dead_letter_then_manual_redelivery(hooks: Hooks) -> None:
    created = await hooks.subscribe("flaky", ["DepartureStarted"])
    hooks.rx.statuses["flaky"] = [500, 503, 500]
    await start(hooks.api)
    assert await hooks.deliver() == 1
    assert await hooks.dispatcher.step() == 0  # backing off: not due yet
    await hooks.deliver(rounds=2, advance=60)
    dead = (await hooks.api.get("/v1/webhooks/dead-letters", "admin")).json()["items"]
    assert [d["status"] for d in dead] == ["dead"] and dead[0]["attempts"] == 3
    detail = (await hooks.api.get(f"/v1/webhooks/deliveries/{dead[0]['id']}", "admin")).json()
    assert [(a["attempt"], a["status_code"], a["outcome"]) for a in detail["log"]] == [
        (1, 500, "failed"), (2, 503, "failed"), (3, 500, "failed")]
    assert await hooks.deliver(advance=3600) == 0  # a dead letter is not retried
    again = await hooks.api.post(f"/v1/webhooks/deliveries/{dead[0]['id']}/redeliver", "admin")
    assert again.status == 202 and again.json()["status"] == "pending"
    assert await hooks.deliver() == 1
    ids = {r.headers["webhook-id"] for r in hooks.rx.on("flaky")}
    assert ids == {dead[0]["id"]} and len(hooks.rx.on("flaky")) == 4
    last = hooks.rx.on("flaky")[-1]
    assert last.headers["webhook-signature"] == signed_by(created["secret"], last)
    final = (await hooks.api.get(f"/v1/webhooks/deliveries/{dead[0]['id']}", "admin")).json()
    assert final["status"] == "delivered" and final["log"][-1]["outcome"] == "delivered"


async def test_events_of_a_departure_wait_for_the_one_before_them(hooks: Hooks) -> None:
    await hooks.subscribe("ordered", ["*"])
    blocked = await approved(hooks.api)
    item = await hooks.api.post(f"/v1/departures/{blocked}/items", "hr.sun", json={
        "category": "clients", "title": "客户资料", "receiver": "zhao.min"})
    assert item.status == 201, item.body
    other = await approved(hooks.api, leaver="zhao.min")
    hooks.rx.failing_streams.add(blocked)
    await hooks.deliver(rounds=10)
    streams = [r.json()["data"]["stream"]["id"] for r in hooks.rx.on("ordered")]
    assert streams.count(blocked) == 1  # only its first event, failing; the rest wait
    assert streams.count(other) == 3  # the other departure goes on, in order
    hooks.rx.failing_streams.clear()
    await hooks.deliver(rounds=20, advance=60)
    delivered = [r.json()["data"] for r in hooks.rx.on("ordered")]
    for departure_id in (blocked, other):
        mine = [d["log_index"] for d in delivered
                if d["stream"]["id"] == departure_id or (
                    d["stream"]["type"] == "item" and departure_id == blocked)]
        assert mine == sorted(mine)
    assert [d["type"] for d in delivered if d["stream"]["type"] == "item"] == ["ItemCreated"]
    rows = await hooks.api.runtime.projections.fetch(
        "SELECT DISTINCT ordering_key FROM webhook_outbox WHERE event_type = 'ItemCreated'")
    assert [r["ordering_key"] for r in rows] == [blocked]


async def test_a_restart_loses_nothing_and_queues_nothing_twice(hooks: Hooks) -> None:
    await hooks.subscribe("ok", ["*"])
    await approved(hooks.api)
    await hooks.queue()
    queued = await hooks.count_outbox()
    assert queued == 3
    db = hooks.dispatcher.db
    async with db.transaction(serial=True) as tx:  # claimed, then the process dies
        lease = hooks.clock() + dt.timedelta(seconds=SETTINGS.timeout_seconds + 30)
        assert len(await repo.claim(tx, format_time(hooks.clock()), format_time(lease), 1)) == 1
    runner, dispatcher = build_webhooks(hooks.api.runtime.store, hooks.api.runtime.projections,
                                        SETTINGS, clock=hooks.clock)
    try:
        assert await runner.catch_up() == 0
        await runner.rebuild()  # replays the whole log: still one row per event
        assert await hooks.count_outbox() == queued
        assert await dispatcher.step() == 0  # the first is leased: nothing of it goes ahead
        hooks.clock.advance(SETTINGS.timeout_seconds + 60)  # the dead process's lease ends
        for _ in range(5):
            await dispatcher.step()
    finally:
        await dispatcher.close()
    types = [r.json()["type"] for r in hooks.rx.on("ok")]
    assert types == ["DepartureStarted", "DepartureSubmittedForApproval",
                     "DepartureStepApproved"]


async def test_the_allow_list_refuses_internal_hosts_and_redirects_are_not_followed(
        hooks: Hooks) -> None:
    for url in ("http://10.0.0.1/hook", "http://169.254.169.254/", "http://example.org/"):
        refused = await hooks.api.post("/v1/webhooks", "admin", json={
            "url": url, "event_types": ["DepartureStarted"]})
        assert refused.problem(422)["field"] == "url"
    created = await hooks.subscribe("redirect", ["DepartureStarted"])
    departure_id = await start(hooks.api)
    assert await hooks.deliver() == 1
    assert len(hooks.rx.on("redirect")) == 1 and hooks.rx.on("elsewhere") == []
    log = (await hooks.api.get(f"/v1/webhooks/{created['id']}/deliveries", "admin")).json()
    assert log["items"][0]["last_status"] == 302 and log["items"][0]["status"] == "pending"
    port = hooks.rx.base.rsplit(":", 1)[1]
    by_name = await hooks.api.post("/v1/webhooks", "admin", json={
        "url": f"http://localhost:{port}/ok", "event_types": ["DepartureSubmittedForApproval"]})
    assert by_name.status == 201
    # A dispatcher allowing the name but no private network: localhost is loopback.
    strict = Dispatcher(hooks.dispatcher.db, WebhookSettings(allow=("localhost",)),
                        hooks.dispatcher._session_factory, clock=hooks.clock)
    try:
        assert (await hooks.api.post(f"/v1/departures/{departure_id}/submit",
                                     "hr.sun")).status == 200
        await hooks.queue()
        assert await strict.step() == 1
    finally:
        await strict.close()
    assert hooks.rx.on("ok") == []
    refused = (await hooks.api.get(
        f"/v1/webhooks/{by_name.json()['id']}/deliveries?status=pending", "admin")).json()
    assert "loopback" in refused["items"][0]["last_error"]
    detail = (await hooks.api.get(
        f"/v1/webhooks/deliveries/{refused['items'][0]['id']}", "admin")).json()
    assert detail["log"][0]["outcome"] == "refused"


async def test_reminders_reach_the_group_robots_signed_as_each_documents(hooks: Hooks) -> None:
    for name, secret in (("dingtalk", "SECding"), ("feishu", "feishu-secret"), ("wecom", None)):
        body = {"format": name, **({"secret": secret} if secret else {})}
        await hooks.subscribe(name, ["DepartureReminderSent"], **body)
    hooks.rx.answers = {"dingtalk": {"errcode": 0, "errmsg": "ok"},
                        "feishu": {"code": 0, "msg": "success"},
                        "wecom": {"errcode": 93000, "errmsg": "invalid webhook url"}}
    departure_id = await approved(hooks.api)
    reminded = await hooks.api.post(f"/v1/departures/{departure_id}/reminders", "hr.sun", json={
        "to": "wang.lei", "item_ids": [], "channel": "dingtalk", "escalation": False,
        "message": "请交接客户资料"})
    assert reminded.status == 201, reminded.body
    assert await hooks.deliver() == 3
    [ding] = hooks.rx.on("dingtalk")
    stamp = ding.query["timestamp"]
    expected = base64.b64encode(hmac.new(b"SECding", f"{stamp}\nSECding".encode(),
                                         hashlib.sha256).digest()).decode()
    assert ding.query["sign"] == expected
    assert ding.json()["msgtype"] == "markdown"
    assert departure_id in ding.json()["markdown"]["text"]
    assert "请交接客户资料" in ding.json()["markdown"]["text"]
    [feishu] = hooks.rx.on("feishu")
    sent = feishu.json()
    key = f"{sent['timestamp']}\nfeishu-secret".encode()
    assert sent["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert sent["msg_type"] == "text" and departure_id in sent["content"]["text"]
    [wecom] = hooks.rx.on("wecom")
    assert wecom.json()["msgtype"] == "markdown" and "sign" not in wecom.query
    rows = await hooks.api.runtime.projections.fetch(
        "SELECT status, last_error FROM webhook_outbox WHERE last_error IS NOT NULL")
    assert [r["status"] for r in rows] == ["pending"]
    assert "93000" in rows[0]["last_error"]


async def test_only_operators_manage_webhooks_and_a_disabled_one_gets_nothing(
        hooks: Hooks) -> None:
    for who in ("hr.sun", "audit.x", "system.iam"):
        assert (await hooks.api.get("/v1/webhooks", who)).problem(403)
        assert (await hooks.api.post("/v1/webhooks", who, json={
            "url": f"{hooks.rx.base}/ok", "event_types": ["*"]})).problem(403)
    created = await hooks.subscribe("ok", ["*"])
    disabled = await hooks.api.post(f"/v1/webhooks/{created['id']}/disable", "admin")
    assert disabled.status == 200 and disabled.json()["active"] is False
    assert (await hooks.api.post(f"/v1/webhooks/{created['id']}/disable", "hr.sun")).problem(403)
    await start(hooks.api)
    assert await hooks.deliver() == 0 and hooks.rx.got == []
    unknown = await hooks.api.post("/v1/webhooks", "admin", json={
        "url": f"{hooks.rx.base}/ok", "event_types": ["NoSuchEvent"]})
    assert unknown.problem(422)["field"] == "event_types"
    robot = await hooks.api.post("/v1/webhooks", "admin", json={
        "url": f"{hooks.rx.base}/ok", "event_types": ["DepartureStarted"], "format": "wecom"})
    assert robot.problem(422)["field"] == "event_types"


def _gauge(reply: Reply, name: str) -> float:
    assert reply.status == 200, reply.body[:300]
    return next(s.value for family in text_string_to_metric_families(reply.body.decode())
                for s in family.samples if s.name == name)


async def test_each_attempt_is_one_log_line_and_backlog_and_dead_letters_are_measured(
        hooks: Hooks) -> None:
    created = await hooks.subscribe("flaky", ["DepartureStarted"])
    hooks.rx.statuses["flaky"] = [500, 502, 500]
    await start(hooks.api)
    with captured_log() as log:
        await hooks.queue()
        waiting = await hooks.api.get("/metrics", "admin")
        assert _gauge(waiting, "ledger_webhook_backlog") == 1
        assert await hooks.deliver() == 1
        await hooks.deliver(rounds=2, advance=60)
    attempts = [r for r in log.records() if r.get("action") == "delivery"]
    assert [(r["attempt"], r["status_code"], r["outcome"]) for r in attempts] == [
        (1, 500, "failed"), (2, 502, "failed"), (3, 500, "dead")]
    assert {r["subscription_id"] for r in attempts} == {created["id"]}
    assert created["secret"] not in log.text and hooks.rx.base not in log.text  # nor the URL
    measured = await hooks.api.get("/metrics", "admin")
    assert _gauge(measured, "ledger_webhook_backlog") == 0
    assert _gauge(measured, "ledger_webhook_dead_letters") == 1
