"""The handover report over time, for the Reports page's charts: the period cut into days,
weeks, months or years (at most ~25 parts), the same read model (ledger.projections.
report_queries.handover_report) asked once per part, and the reports turned into the charts'
inputs (web.charts). No rule or query of its own: what the API's report says, per part.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.projections.report_queries import MAX_PERIOD_DAYS, handover_report
from ledger.service.context import Actor
from ledger.store.projection_port import ProjectionStore
from web.charts import DaysToClose, Group, PeriodCount

Report = dict[str, Any]
_ONE = dt.timedelta(days=1)


@dataclass(frozen=True)
class Part:
    """One part of the period, ``start`` to ``end`` inclusive; ``unit`` is ``day``, ``week``
    (Monday to Sunday), ``month`` or ``year``, cut at the period's ends."""

    start: dt.date
    end: dt.date
    unit: str


def unit_for(start: dt.date, end: dt.date) -> str:
    """The unit that cuts ``start``..``end`` into at most ~25 parts."""
    days = (end - start).days + 1
    return ("day" if days <= 14 else "week" if days <= 7 * 15 else "month" if days <= 731
            else "year")


def _next_start(day: dt.date, unit: str) -> dt.date:
    if unit == "day":
        return day + _ONE
    if unit == "week":
        return day + dt.timedelta(days=7 - day.weekday())
    if unit == "month":
        return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return dt.date(day.year + 1, 1, 1)


def split_period(start: dt.date, end: dt.date) -> list[Part]:
    """``start``..``end`` (``start <= end``) cut into calendar parts of ``unit_for``'s unit."""
    unit, parts, day = unit_for(start, end), [], start
    while day <= end:
        following = _next_start(day, unit)
        parts.append(Part(day, min(following - _ONE, end), unit))
        day = following
    return parts


async def reports_by_part(store: ProjectionStore, actor: Actor, start: dt.date, end: dt.date,
                          department: str | None = None) -> list[tuple[Part, Report]]:
    """The handover report of each part of the period, in order (the read model's own checks:
    the actor must oversee, the period must run forwards and span at most ten years)."""
    if end < start or (end - start).days > MAX_PERIOD_DAYS:  # the read model says why
        await handover_report(store, actor, start, end, department)
    return [(part, await handover_report(store, actor, part.start, part.end, department))
            for part in split_period(start, end)]


def completion(series: Sequence[tuple[Part, Report]], label: Callable[[Part], str]
               ) -> list[PeriodCount]:
    """Cases closed per part (every department), each part named by ``label``."""
    return [PeriodCount(label(part), sum(int(r["closed"]) for r in report["departments"]))
            for part, report in series]


def days_to_close(report: Report) -> list[DaysToClose]:
    """Each department's median days from notice to close, with the fewest and the most."""
    return [DaysToClose(r["department"], float(r["median_days_notice_to_close"]),
                        _number(r.get("min_days_notice_to_close")),
                        _number(r.get("max_days_notice_to_close")))
            for r in report["departments"]]


def by_department(report: Report, columns: Sequence[str]) -> list[Group]:
    """One group per department: its values of the report's ``columns`` (such as
    ``items_rejected_at_least_once``, ``reminders_per_case``), in that order."""
    return [Group(r["department"], tuple(float(r[c]) for c in columns))
            for r in report["departments"]]


def by_part(series: Sequence[tuple[Part, Report]], columns: Sequence[str],
            label: Callable[[Part], str]) -> list[Group]:
    """One group per part, every department together: counts are added up, ``*_per_case``
    columns are averaged over the cases closed (weighted by each department's ``closed``)."""
    return [Group(label(part), tuple(_all_departments(report, c) for c in columns))
            for part, report in series]


def _all_departments(report: Report, column: str) -> float:
    rows = report["departments"]
    if not column.endswith("_per_case"):
        return float(sum(r[column] for r in rows))
    closed = sum(r["closed"] for r in rows)
    return round(sum(r[column] * r["closed"] for r in rows) / closed, 2) if closed else 0.0


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
