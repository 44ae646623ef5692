"""A webhook receiver down for an hour of simulated time, on both stores (issue 13's fault
tests; the longer run is scripts/webhook_outage.py): connections refused for 45 minutes,
then 503 with Retry-After for 15, while three cases are worked on. With the clock moved
through the dispatcher's back-off, nothing is lost, nothing is dead-lettered, and once the
receiver is back each departure's events arrive in log order, once each
(tests/support/webhook_outage.py has the steps)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ledger.entry import parse_time
from ledger.webhooks.settings import WebhookSettings
from tests.integration.http_fixtures import departure_body, serve
from tests.support.webhook_outage import (
    SimulatedClock,
    dispatcher_of,
    receiving,
    run_outage,
    settle,
)


async def test_an_hour_down_loses_nothing_and_delivers_in_order_once_back(
        database_url: str, tmp_path: Path) -> None:
    clock = SimulatedClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    async with serve(database_url, tmp_path, clock=clock, scheduler=False,
                     webhooks=WebhookSettings(allow=("127.0.0.1",))) as api:
        assert dispatcher_of(api).clock is clock  # the composition root passed it on
        found = await run_outage(api, clock, down=2700, busy=900, tick=60)
    print(found.summary())
    assert found.problems == [], (found.problems, found.summary())
    assert found.expected == len(found.outbox) >= 15  # 3 cases x 5 steps, some of 2 events
    # the first case's queue alone: its head retried at least 9 times in 45 minutes (the 503s
    # come only if a head's back-off ends within the last 15: a figure, not a promise)
    assert found.failures_while_down >= 9
    assert max(found.attempts()) < WebhookSettings().max_attempts  # never near a dead letter


async def test_the_first_delivery_taken_after_an_outage_makes_the_others_due_at_once(
        database_url: str, tmp_path: Path) -> None:
    clock = SimulatedClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    async with serve(database_url, tmp_path, clock=clock, scheduler=False,
                     webhooks=WebhookSettings(allow=("127.0.0.1",))) as api, \
            receiving(api, clock) as (receiver, _):
        await settle(api, clock)  # the templates installed at start, delivered
        await receiver.stop()
        for leaver in ("wang.lei", "zhao.min"):  # two departures: two queues
            reply = await api.post("/v1/departures", "hr.sun", json=departure_body(
                leaver=leaver))
            assert reply.status == 201, reply.body
        for _ in range(8):  # eight minutes down: each queue's head backs off on its own
            await settle(api, clock)
            clock.advance(60)
        await settle(api, clock)
        heads = await api.runtime.webhooks.fetch(
            "SELECT next_attempt_at FROM webhook_outbox WHERE status = 'pending' "
            "AND failures > 0 ORDER BY next_attempt_at")
        assert len(heads) == 2 and heads[0]["next_attempt_at"] < heads[1]["next_attempt_at"], heads
        await receiver.start()
        clock.now = parse_time(heads[0]["next_attempt_at"])  # the first head's turn only
        await settle(api, clock)
        pending = await api.runtime.webhooks.fetch(
            "SELECT count(*) AS n FROM webhook_outbox WHERE status = 'pending'")
        assert int(pending[0]["n"]) == 0  # the other queue did not wait out its back-off
        assert len(receiver.taken) >= 2


async def test_a_rate_limited_delivery_keeps_its_wait_when_the_receiver_takes_another(
        database_url: str, tmp_path: Path) -> None:
    clock = SimulatedClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    async with serve(database_url, tmp_path, clock=clock, scheduler=False,
                     webhooks=WebhookSettings(allow=("127.0.0.1",))) as api, \
            receiving(api, clock) as (receiver, _):
        await settle(api, clock)  # the templates installed at start, delivered
        receiver.mode = "busy"  # 503 for all, and 429 for the first case below
        started = []
        for leaver in ("wang.lei", "zhao.min"):
            reply = await api.post("/v1/departures", "hr.sun", json=departure_body(
                leaver=leaver))
            assert reply.status == 201, reply.body
            started.append(reply.json()["result"]["departure_id"])
        receiver.limited.add(started[0])
        for _ in range(3):
            await settle(api, clock)
            clock.advance(60)
        receiver.mode = "up"
        heads = await api.runtime.webhooks.fetch(
            "SELECT ordering_key, next_attempt_at, last_status FROM webhook_outbox "
            "WHERE status = 'pending' AND failures > 0 ORDER BY next_attempt_at")
        assert [(h["ordering_key"], h["last_status"]) for h in heads] == [
            (started[1], 503), (started[0], 429)]
        clock.now = parse_time(heads[0]["next_attempt_at"])
        await settle(api, clock)
        pending = await api.runtime.webhooks.fetch(
            "SELECT DISTINCT ordering_key, next_attempt_at FROM webhook_outbox "
            "WHERE status = 'pending' AND failures > 0")
        # the second case went through; the rate-limited one still waits out its hour
        assert [(p["ordering_key"], p["next_attempt_at"]) for p in pending] == [
            (started[0], heads[1]["next_attempt_at"])]
