"""A webhook receiver down for an hour of simulated time (issue 13's fault tests), shared by
tests/integration/test_webhook_outage.py (CI) and scripts/webhook_outage.py.

The ledger runs as ``ledger serve`` runs it: the composition root's workers (the outbox
projection, the dispatcher, the board; only the sequencer is driven by the test, so it knows
what is logged), with the runtime's clock (bootstrap's ``clock``) simulated. A real aiohttp
receiver on 127.0.0.1 takes the first events, then is stopped (connections refused), then
answers 503 with Retry-After, while cases go on being started and worked on over HTTP; the
clock moves ``tick`` seconds at a time and each time the test waits until the dispatcher
has attempted everything due. Once the receiver is back the clock jumps from one due
attempt to the next until the outbox is empty. Expected: every event logged after the
subscription delivered, none dead-lettered, each departure's events first received in log
order, nothing received twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ledger.entry import format_time, parse_time
from ledger.webhooks.dispatcher import Dispatcher
from tests.integration.http_fixtures import Api, departure_body

LEAVERS = ("wang.lei", "zhao.min", "stranger")
# Deliveries in flight (leased) or due (a queue's head whose time has come), counted in one
# statement: two queries could miss a head that became due as the one before it was recorded.
_BUSY = """
SELECT count(*) AS n FROM webhook_outbox o
WHERE o.status = 'pending' AND (o.leased_until IS NOT NULL OR (o.next_attempt_at <= $1
  AND NOT EXISTS (SELECT 1 FROM webhook_outbox e WHERE e.subscription_id = o.subscription_id
                  AND e.ordering_key = o.ordering_key AND e.status = 'pending'
                  AND e.log_index < o.log_index)))
"""


class SimulatedClock:
    """The runtime's time, moved only by the test."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@dataclass
class Receiver:
    """A webhook receiver on a fixed loopback port: ``up`` (204), ``busy`` (503 with
    Retry-After) or ``down`` (stopped: connections refused); the events of ``limited``
    streams are answered 429 with an hour's Retry-After. Records what it took."""

    clock: SimulatedClock
    retry_after: int = 300
    mode: str = "up"
    limited: set[str] = field(default_factory=set)  # streams answered 429 (rate-limited)
    port: int = 0
    taken: list[tuple[str, dict[str, Any], dt.datetime]] = field(default_factory=list)
    refused_busy: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        if json.loads(body)["data"]["stream"]["id"] in self.limited:
            return web.Response(status=429, headers={"Retry-After": "3600"})
        if self.mode == "busy":
            self.refused_busy += 1
            return web.Response(status=503, headers={"Retry-After": str(self.retry_after)})
        self.taken.append((request.headers["webhook-id"], json.loads(body), self.clock()))
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.port = self._runner.addresses[0][1]
        self.mode = "up"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.mode = "down"


@dataclass
class Findings:
    """What the run saw, and the expectations it broke."""

    outbox: list[dict[str, Any]] = field(default_factory=list)
    expected: int = 0  # events logged after the subscription
    failures_while_down: int = 0  # attempts recorded as failed
    refused_busy: int = 0
    dead: int = 0
    undelivered: int = 0
    duplicates: int = 0
    out_of_order: list[str] = field(default_factory=list)
    back_after: float = 0.0  # simulated seconds from the receiver's return to the last delivery
    real_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def attempts(self) -> list[int]:
        return [int(r["attempts"]) for r in self.outbox]

    def summary(self) -> str:
        attempts = self.attempts()
        return (f"{self.expected} events, {len(self.outbox)} deliveries; "
                f"{self.failures_while_down} failed attempts while down, "
                f"{self.refused_busy} answered 503; attempts per delivery median "
                f"{statistics.median(attempts) if attempts else 0}, max "
                f"{max(attempts, default=0)}; dead {self.dead}, undelivered "
                f"{self.undelivered}, duplicates {self.duplicates}, out of order "
                f"{len(self.out_of_order)}; all delivered {self.back_after / 60:.1f} "
                f"simulated min after the receiver returned; {self.real_seconds:.1f}s real")


def dispatcher_of(api: Api) -> Dispatcher:
    """The dispatcher the composition root built for this runtime."""
    return next(w for w in api.runtime.workers.workers if isinstance(w, Dispatcher))


async def settle(api: Api, clock: SimulatedClock, within: float = 20.0) -> None:
    """Sequence what was written, then wait until the outbox has queued it and the
    dispatcher has attempted (and recorded) everything due at the clock's time."""
    await api.sequence()
    size = await api.runtime.projections.log_size()
    dispatcher_of(api).worker.poke()
    deadline = time.monotonic() + within
    while True:
        states = {s.name: s for s in await api.runtime.projections.states()}
        queued = "webhooks" in states and states["webhooks"].position >= size
        busy = await api.runtime.webhooks.fetch(_BUSY, format_time(clock()))
        if queued and not int(busy[0]["n"]):
            return
        if time.monotonic() > deadline:
            health = [h for h in api.runtime.workers.health() if not h.ok]
            raise AssertionError(f"not settled: queued {queued}, due or in flight "
                                 f"{busy[0]['n']}, workers {health}")
        await asyncio.sleep(0.01)


def case_actions(api: Api) -> list[Callable[[], Awaitable[None]]]:
    """Steps of three cases, interleaved: start, submit, approve, add an item, comment."""
    cases: dict[str, str] = {}
    items: dict[str, str] = {}

    async def ok(status: int, path: str, who: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = await api.post(path, who, json=body)
        assert reply.status == status, (path, reply.status, reply.body[:300])
        result: dict[str, Any] = reply.json()
        return result

    def steps(leaver: str) -> list[Callable[[], Awaitable[None]]]:
        async def start() -> None:
            done = await ok(201, "/v1/departures", "hr.sun", departure_body(leaver=leaver))
            cases[leaver] = done["result"]["departure_id"]

        async def submit() -> None:
            await ok(200, f"/v1/departures/{cases[leaver]}/submit", "hr.sun", {})

        async def approve() -> None:
            await ok(200, f"/v1/departures/{cases[leaver]}/approvals/0/approve", "li.qiang",
                     {})

        async def add_item() -> None:
            done = await ok(201, f"/v1/departures/{cases[leaver]}/items", "hr.sun", {
                "category": "documents", "title": f"{leaver} 的项目文档",
                "receiver": "li.qiang", "mandatory": False})
            items[leaver] = done["result"]["item_id"]

        async def comment() -> None:
            await ok(201, f"/v1/items/{items[leaver]}/comments", "hr.sun",
                     {"text": "交接进行中"})

        return [start, submit, approve, add_item, comment]

    per_case = [steps(leaver) for leaver in LEAVERS]
    return [step for round_ in zip(*per_case, strict=True) for step in round_]


@contextlib.asynccontextmanager
async def receiving(api: Api, clock: SimulatedClock) -> AsyncIterator[tuple[Receiver, str]]:
    """The runtime's workers running (all but the sequencer, which ``settle`` drives) and a
    receiver subscribed to every event; (the receiver, the subscription's id)."""
    group = [w for w in api.runtime.workers.workers if w.name != "sequencer"]
    for worker in group:
        await worker.start()
    receiver = Receiver(clock)
    await receiver.start()
    try:
        subscribed = await api.post("/v1/webhooks", "admin", json={
            "url": receiver.url, "event_types": ["*"]})
        assert subscribed.status == 201, subscribed.body
        yield receiver, str(subscribed.json()["id"])
    finally:
        await receiver.stop()
        for worker in reversed(group):
            await worker.stop()


async def run_outage(api: Api, clock: SimulatedClock, *, down: float = 2700.0,
                     busy: float = 900.0, tick: float = 30.0, limit: float = 12 * 3600.0,
                     ) -> Findings:
    """The outage on ``api``'s runtime (built with ``clock``; its workers not started):
    ``down`` simulated seconds refused, then ``busy`` answered 503, then back; ``limit``
    bounds the simulated time allowed for the backlog to drain."""
    started = time.monotonic()
    async with receiving(api, clock) as (receiver, subscription):
        actions = case_actions(api)
        await actions.pop(0)()  # the first case starts while the receiver is up
        await settle(api, clock)
        assert receiver.taken, "nothing delivered while the receiver was up"
        found = await _outage(api, clock, receiver, actions, down, busy, tick, limit)
        await _examine(api, subscription, receiver, found)
    found.real_seconds = time.monotonic() - started
    return found


async def _outage(api: Api, clock: SimulatedClock, receiver: Receiver,
                  actions: list[Callable[[], Awaitable[None]]], down: float, busy: float,
                  tick: float, limit: float) -> Findings:
    found = Findings()
    await receiver.stop()
    every = max(tick, (down + busy) / (len(actions) + 1))
    elapsed, next_action = 0.0, every
    while elapsed < down + busy:
        if elapsed >= down and receiver.mode == "down":
            await receiver.start()  # the same port; it answers 503 for a while
            receiver.mode = "busy"
        if elapsed >= next_action and actions:
            await actions.pop(0)()
            next_action += every
        clock.advance(tick)
        elapsed += tick
        await settle(api, clock)
    while actions:
        await actions.pop(0)()
    receiver.mode = "up"
    back_at = clock()
    while True:
        await settle(api, clock)
        # the next attempt due: a queue's head backing off (those behind it wait on it)
        pending = await api.runtime.webhooks.fetch(
            "SELECT count(*) AS n, min(CASE WHEN next_attempt_at > $1 THEN next_attempt_at "
            "END) AS due FROM webhook_outbox WHERE status = 'pending'", format_time(clock()))
        if not int(pending[0]["n"]):
            break
        if pending[0]["due"] is None:
            rows = await api.runtime.webhooks.fetch(
                "SELECT ordering_key, log_index, status, next_attempt_at, leased_until, "
                "failures FROM webhook_outbox WHERE status = 'pending' ORDER BY log_index")
            found.problems.append(f"{pending[0]['n']} deliveries pending, none due "
                                  f"at {format_time(clock())}: {rows}")
            break
        due = parse_time(pending[0]["due"])
        if (due - back_at).total_seconds() > limit:
            found.problems.append(f"{pending[0]['n']} deliveries still pending after "
                                  f"{limit / 3600:.0f} simulated hours")
            break
        clock.now = due
    last = max((at for _, _, at in receiver.taken), default=back_at)
    found.back_after = (last - back_at).total_seconds()
    found.refused_busy = receiver.refused_busy
    return found


async def _examine(api: Api, subscription: str, receiver: Receiver, found: Findings) -> None:
    db = api.runtime.webhooks
    found.outbox = await db.fetch(
        "SELECT id, event_id, log_index, ordering_key, status, attempts, failures "
        "FROM webhook_outbox WHERE subscription_id = $1 ORDER BY log_index", subscription)
    rows = await db.fetch("SELECT from_index FROM webhook_subscriptions WHERE id = $1",
                          subscription)
    found.expected = await api.runtime.projections.log_size() - int(rows[0]["from_index"])
    failed = await db.fetch("SELECT count(*) AS n FROM webhook_attempts WHERE outcome = "
                            "'failed'")
    found.failures_while_down = int(failed[0]["n"])
    found.dead = sum(1 for r in found.outbox if r["status"] == "dead")
    found.undelivered = sum(1 for r in found.outbox if r["status"] != "delivered")
    ids = [webhook_id for webhook_id, _, _ in receiver.taken]
    found.duplicates = len(ids) - len(set(ids))
    first: dict[str, int] = {}
    for position, webhook_id in enumerate(ids):
        first.setdefault(webhook_id, position)
    by_key: dict[str, list[dict[str, Any]]] = {}
    for row in found.outbox:
        by_key.setdefault(row["ordering_key"], []).append(row)
    for key, rows_of_key in by_key.items():
        order = [first.get(r["id"], -1) for r in rows_of_key]  # in log order
        if order != sorted(order) or -1 in order:
            found.out_of_order.append(key)
    expect = found.problems.append
    if len(found.outbox) != found.expected:
        expect(f"{len(found.outbox)} deliveries queued for {found.expected} events")
    if set(first) != {r["id"] for r in found.outbox}:
        expect("the receiver did not get every queued delivery")
    for what in ("dead", "undelivered", "duplicates"):
        if getattr(found, what):
            expect(f"{what}: {getattr(found, what)}")
    if found.out_of_order:
        expect(f"out of order for {found.out_of_order}")
