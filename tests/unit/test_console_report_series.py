"""The handover report over time for the Reports page's charts: the period cut into calendar
parts, and reports turned into the charts' inputs."""

from __future__ import annotations

import datetime as dt
import itertools

from web.charts import DaysToClose, Group, PeriodCount
from web.report_series import (
    Part,
    by_department,
    by_part,
    completion,
    days_to_close,
    split_period,
    unit_for,
)

D = dt.date


def _report(*rows: dict[str, object]) -> dict[str, object]:
    return {"position": 9, "period": {"from": "2026-11-01", "to": "2026-11-30"},
            "departments": list(rows)}


SALES = {"department": "Sales", "closed": 3, "median_days_notice_to_close": 20,
         "min_days_notice_to_close": 12, "max_days_notice_to_close": 41, "items": 9,
         "items_rejected_at_least_once": 2, "items_overdue": 1, "reminders_per_case": 1.0,
         "escalations_per_case": 0.33}
IT = {"department": "IT", "closed": 1, "median_days_notice_to_close": 7.5,
      "min_days_notice_to_close": 7.5, "max_days_notice_to_close": 7.5, "items": 2,
      "items_rejected_at_least_once": 0, "items_overdue": 0, "reminders_per_case": 3.0,
      "escalations_per_case": 1.0}


def test_a_fortnight_is_cut_into_days() -> None:
    parts = split_period(D(2026, 11, 1), D(2026, 11, 14))
    assert len(parts) == 14 and {p.unit for p in parts} == {"day"}
    assert parts[0] == Part(D(2026, 11, 1), D(2026, 11, 1), "day")


def test_weeks_run_monday_to_sunday_cut_at_the_periods_ends() -> None:
    parts = split_period(D(2026, 11, 4), D(2026, 12, 2))  # a Wednesday to a Wednesday
    assert parts[0] == Part(D(2026, 11, 4), D(2026, 11, 8), "week")
    assert parts[1] == Part(D(2026, 11, 9), D(2026, 11, 15), "week")
    assert parts[-1] == Part(D(2026, 11, 30), D(2026, 12, 2), "week")


def test_months_cross_the_year_end() -> None:
    parts = split_period(D(2026, 10, 15), D(2027, 2, 10))
    assert [(p.start, p.end) for p in parts] == [
        (D(2026, 10, 15), D(2026, 10, 31)), (D(2026, 11, 1), D(2026, 11, 30)),
        (D(2026, 12, 1), D(2026, 12, 31)),
        (D(2027, 1, 1), D(2027, 1, 31)), (D(2027, 2, 1), D(2027, 2, 10))]


def test_parts_cover_the_period_without_gap_or_overlap_and_stay_few() -> None:
    start = D(2024, 2, 29)
    for days in (0, 1, 13, 14, 15, 104, 105, 106, 400, 730, 731, 732, 3660):
        end = start + dt.timedelta(days=days)
        parts = split_period(start, end)
        assert parts[0].start == start and parts[-1].end == end
        assert all(a.end + dt.timedelta(days=1) == b.start for a, b in itertools.pairwise(parts))
        assert all(p.start <= p.end for p in parts)
        assert len(parts) <= 26, (days, unit_for(start, end))


def test_cases_closed_per_part_add_up_every_department() -> None:
    parts = split_period(D(2026, 11, 1), D(2026, 11, 2))
    series = [(parts[0], _report(SALES, IT)), (parts[1], _report())]
    assert completion(series, lambda p: p.start.isoformat()) == [
        PeriodCount("2026-11-01", 4), PeriodCount("2026-11-02", 0)]


def test_days_to_close_carries_the_median_and_the_range() -> None:
    assert days_to_close(_report(SALES, IT)) == [DaysToClose("Sales", 20, 12, 41),
                                                 DaysToClose("IT", 7.5, 7.5, 7.5)]
    without_range = {k: v for k, v in SALES.items() if not k.startswith(("min", "max"))}
    assert days_to_close(_report(without_range)) == [DaysToClose("Sales", 20)]


def test_groups_by_department_take_the_columns_in_order() -> None:
    assert by_department(_report(SALES, IT), ["items_rejected_at_least_once",
                                              "reminders_per_case"]) == [
        Group("Sales", (2.0, 1.0)), Group("IT", (0.0, 3.0))]


def test_groups_by_part_add_counts_and_weigh_rates_by_cases_closed() -> None:
    (part,) = split_period(D(2026, 11, 1), D(2026, 11, 1))
    columns = ["items_rejected_at_least_once", "reminders_per_case"]
    assert by_part([(part, _report(SALES, IT))], columns, lambda p: "1 Nov") == [
        Group("1 Nov", (2.0, 1.5))]  # (3 × 1.0 + 1 × 3.0) / 4
    assert by_part([(part, _report())], columns, lambda p: "1 Nov") == [
        Group("1 Nov", (0.0, 0.0))]
