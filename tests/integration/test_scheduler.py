"""The scheduler over weeks of simulated time (an injected clock), on both stores: each rule
fires once on its day, naming rule, recipient and items; a second turn, a second scheduler
and a restart record nothing more; HR cannot send a reminder by rule."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ledger.scheduler import Scheduler
from tests.integration.http_fixtures import Api
from tests.integration.test_http_api import add_item, approved, entries_of


async def test_each_rule_fires_once_on_its_day_across_weeks(api: Api) -> None:
    departure_id = await approved(api)  # last working day 2026-11-30, manager li.qiang
    await add_item(api, departure_id, title="客户资料", due_date="2026-11-20")
    await add_item(api, departure_id, receiver="dept:it", category="accounts_permissions",
                   title="邮箱账号")
    first = Scheduler(api.runtime.ledger, api.runtime.projections)
    second = Scheduler(api.runtime.ledger, api.runtime.projections)
    fired: dict[str, int] = {}
    day = dt.date(2026, 11, 15)
    while day <= dt.date(2026, 12, 10):
        moment = dt.datetime(day.year, day.month, day.day, 1, 0, tzinfo=dt.UTC)
        api.runtime.ledger.clock = lambda moment=moment: moment  # type: ignore[misc]
        await api.read_model("/v1/inbox", "hr.sun")  # the board has everything so far
        sent = await first.step()
        assert await first.step() == 0 and await second.step() == 0  # once a day, at most
        if sent:
            fired[day.isoformat()] = sent
        day += dt.timedelta(days=1)
    restarted = Scheduler(api.runtime.ledger, api.runtime.projections)
    assert await restarted.step() == 0
    assert fired == {"2026-11-20": 1, "2026-11-22": 1, "2026-11-23": 1, "2026-11-27": 1,
                     "2026-12-02": 1}
    reminders = [json.loads(e["entry"]) for e in await entries_of(api, departure_id)
                 if e["type"] == "DepartureReminderSent"]
    assert [(r["payload"]["rule"], r["payload"]["to"], r["payload"]["escalation"])
            for r in reminders] == [
        ("due_today", "wang.lei", False), ("overdue_manager", "li.qiang", True),
        ("overdue_hr", "hr.sun", True), ("last_day_under_half", "hr.sun", True),
        ("accounts_not_revoked", "dept:it", True)]
    assert all(r["actor"]["id"] == "system:ledger" and r["payload"]["channel"] == "webhook"
               for r in reminders)
    assert "今天到期" in reminders[0]["payload"]["message"]


async def test_only_the_scheduler_names_a_rule(api: Api) -> None:
    departure_id = await approved(api)
    item_id = await add_item(api, departure_id)
    reply = await api.post(f"/v1/departures/{departure_id}/reminders", "hr.sun", json={
        "to": "wang.lei", "item_ids": [item_id], "channel": "wecom", "rule": "due_today"})
    assert "scheduler" in reply.problem(403)["detail"]
    plain = await api.post(f"/v1/departures/{departure_id}/reminders", "hr.sun", json={
        "to": "wang.lei", "item_ids": [item_id], "channel": "feishu"})
    assert plain.status in (200, 201), plain.body
    payload = json.loads((await entries_of(api, departure_id))[-1]["entry"])["payload"]
    assert "rule" not in payload  # HR's own reminders are recorded as before


class _CountingProjections:
    """The projection store, counting the item rows its ``fetch`` hands back."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.item_rows = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = await self.store.fetch(sql, *args)
        self.item_rows += sum(1 for row in rows if "item_id" in row)
        return rows


async def test_a_turn_reads_only_the_items_a_rule_could_fire_on(api: Api) -> None:
    departure_id = await approved(api)  # last working day 2026-11-30
    due = await add_item(api, departure_id, title="客户资料", due_date="2026-11-20")
    for n in range(4):  # due well after the day: no rule fires on them yet
        await add_item(api, departure_id, title=f"合同 {n}", due_date="2026-11-28")
    moment = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)
    api.runtime.ledger.clock = lambda: moment  # type: ignore[method-assign]
    await api.read_model("/v1/inbox", "hr.sun")  # the board has every item
    counting = _CountingProjections(api.runtime.projections)
    found = await Scheduler(api.runtime.ledger, counting).due(dt.date(2026, 11, 20))  # type: ignore[arg-type]
    assert [(d.rule, d.item_ids) for d in found] == [("due_today", (due,))]
    assert counting.item_rows == 1  # a turn runs on the event loop: not every open item
