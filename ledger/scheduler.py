"""The scheduler: turns time into events. Each turn it reads the board for what its rules
(``ledger.aggregates.reminder_rules``; from the seeds) say is due today, on the
organisation's calendar and the ledger's clock, and records a ``DepartureReminderSent``
naming the items, the recipient, the rule and the channel (an escalation is one with
``escalation: true``). Delivery is the webhooks' work.

Idempotent and deterministic: each reminder is a command with the key
``scheduler:{rule}:{target}:{period}`` and a message that depends on nothing but the rule and
the items, so a second scheduler, a restart or a second turn the same day records nothing
more. Items and cases found long past a rule's day (a first start on old data) are left
alone: due dates within a week, overdue items within 30 days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ledger.aggregates.item import DONE_STATES, HandoverItem
from ledger.errors import LedgerError
from ledger.projections.board import tables
from ledger.projections.board_queries import board_position
from ledger.service import commands as c
from ledger.service.context import RequestContext
from ledger.service.ledger import SYSTEM_ACTOR, Ledger
from ledger.service.queries import organisation_today
from ledger.store.projection_port import ProjectionStore
from ledger.workers import LoopWorker

ACCEPTED = "('approved', 'handing_over')"
WORDS = {
    "due_today": ("「{title}」今天到期，请提交", "“{title}” is due today: please hand it over"),
    "overdue_manager": ("「{title}」已逾期 2 天", "“{title}” is 2 days overdue"),
    "overdue_hr": ("「{title}」已逾期 3 天", "“{title}” is 3 days overdue"),
    "accounts_not_revoked": ("「{title}」：最后工作日已过 24 小时，账号仍未回收",
                             "“{title}”: accounts still open 24 hours after the last day"),
    "last_day_under_half": ("距最后工作日 3 天，完成不足一半",
                            "3 days to the last working day and under half is done"),
}


@dataclass(frozen=True)
class Due:
    """One reminder a rule says is due."""

    rule: str
    departure_id: str
    item_ids: tuple[str, ...]
    to: str
    escalation: bool
    period: str
    title: str

    @property
    def key(self) -> str:
        target = self.item_ids[0] if len(self.item_ids) == 1 else self.departure_id
        return f"scheduler:{self.rule}:{target}:{self.period}"

    def message(self) -> str:
        zh, en = WORDS[self.rule]
        return f"{zh.format(title=self.title)} / {en.format(title=self.title)}"


def _days(today: dt.date, n: int) -> str:
    return (today + dt.timedelta(days=n)).isoformat()


class Scheduler:
    """Records the reminders and escalations the rules say are due."""

    def __init__(self, ledger: Ledger, projections: ProjectionStore, channel: str = "webhook",
                 idle_seconds: float = 60.0) -> None:
        self.ledger = ledger
        self.projections = projections
        self.channel = channel
        self.worker = LoopWorker("scheduler", self.step, idle_seconds)
        self.worker.log_idle = True  # one line per run, every idle_seconds

    async def due(self, today: dt.date) -> list[Due]:
        """Everything the rules say is due on ``today``.

        Only the items a rule could fire on today are read (a due date in the last 30 days,
        or accounts of a case whose last day was 2 to 30 days ago), and then each of the few
        cases near its last day for its open mandatory items: a turn runs on the serving
        process's event loop, so reading every open item into Python each minute stalled
        every request in flight for longer as open items grew (tens of milliseconds per
        ten thousand items, every ``idle_seconds``)."""
        t = tables((await board_position(self.projections)).generation)
        items = await self.projections.fetch(
            "SELECT i.item_id, i.departure_id, i.title, i.state, i.giver_id, i.receiver, "
            "i.category, i.due_date, d.manager_id, d.hr_owner_id, "
            f"d.last_working_day FROM {t['items']} i JOIN {t['departures']} d "
            "ON d.departure_id = i.departure_id "
            f"WHERE i.open = 1 AND d.open = 1 AND d.state IN {ACCEPTED} AND ("
            "i.due_date BETWEEN $1 AND $2 OR (i.category = 'accounts_permissions' "
            "AND d.last_working_day >= $1 AND d.last_working_day < $3))",
            _days(today, -30), today.isoformat(), _days(today, -1))
        found = [d for row in items for d in self._item_rules(row, today)]
        cases = await self.projections.fetch(
            f"SELECT departure_id, hr_owner_id, last_working_day FROM {t['departures']} "
            f"WHERE open = 1 AND state IN {ACCEPTED} AND last_working_day BETWEEN $1 AND $2 "
            "AND mandatory_done * 2 < mandatory_total", today.isoformat(), _days(today, 3))
        for case in cases:
            mandatory = await self.projections.fetch(
                f"SELECT item_id FROM {t['items']} WHERE departure_id = $1 AND open = 1 "
                "AND mandatory = 1", case["departure_id"])
            open_ids = tuple(sorted(r["item_id"] for r in mandatory))
            found.append(Due("last_day_under_half", case["departure_id"], open_ids,
                             case["hr_owner_id"], True, case["last_working_day"], ""))
        return found

    def _item_rules(self, row: dict[str, Any], today: dt.date) -> list[Due]:
        due, found = row["due_date"], []

        def add(rule: str, to: str, escalation: bool, period: str) -> None:
            found.append(Due(rule, row["departure_id"], (row["item_id"],), to, escalation,
                             period, row["title"]))

        if due and row["state"] in ("open", "rejected") and _days(today, -7) <= due <= (
                today.isoformat()):
            add("due_today", row["giver_id"], False, due)
        if due and _days(today, -30) <= due <= _days(today, -2):
            add("overdue_manager", row["manager_id"], True, due)
        if due and _days(today, -30) <= due <= _days(today, -3):
            add("overdue_hr", row["hr_owner_id"], True, due)
        last_day = row["last_working_day"]
        if row["category"] == "accounts_permissions" and (
                _days(today, -30) <= last_day < _days(today, -1)):
            add("accounts_not_revoked", row["receiver"], True, last_day)
        return found

    async def step(self) -> int:
        """One turn: the number of reminders newly recorded."""
        today = organisation_today(self.ledger)
        sent = 0
        for due in await self.due(today):
            if not await self._still_open(due):
                continue
            command = c.SendReminder(
                departure_id=UUID(due.departure_id), to=due.to,
                item_ids=[UUID(i) for i in due.item_ids], channel=self.channel,
                escalation=due.escalation, message=due.message(), rule=due.rule)
            outcome = await self.ledger.execute(command, SYSTEM_ACTOR,
                                                RequestContext(auth="system"), due.key)
            sent += 0 if outcome.replayed else 1
        return sent

    async def _still_open(self, due: Due) -> bool:
        """The board may lag: send only while an item-level rule's item is still open."""
        if due.rule == "last_day_under_half":
            return bool(due.item_ids)
        try:
            item = await self.ledger.load(HandoverItem, due.item_ids[0])
        except LedgerError:
            return False
        return item.state not in DONE_STATES
