"""Reports (HR, legal, auditors): the handover report ``GET /v1/reports/handover`` serves,
as tables and server-drawn SVG charts (web.charts over web.report_series: cases closed over
time, days from notice to close by department, rejections and reminders by department), a
period and department filter, and the same CSV as the API's ``?format=csv``. Numbers and
dates are written for the reader's locale."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from babel.dates import format_skeleton
from babel.numbers import format_decimal
from markupsafe import Markup

from api.query_routes import moments
from api.runtime_key import RUNTIME
from ledger.errors import InvalidInputError
from ledger.projections import report_queries as rq
from ledger.service.relation import OVERSEERS
from web import charts
from web import report_series as series
from web.i18n import N_, babel_locale, local_date
from web.keys import LOCALE
from web.render import render, translate
from web.session import require_role

routes = web.RouteTableDef()
CSV_NAME = 'attachment; filename="handover-report.csv"'  # as the API names it
COLUMNS = {
    "closed": N_("Cases closed"),
    "median_days_notice_to_close": N_("Median days, notice to close"),
    "min_days_notice_to_close": N_("Fewest days"), "max_days_notice_to_close": N_("Most days"),
    "items": N_("Items"), "items_rejected_at_least_once": N_("Items rejected at least once"),
    "items_overdue": N_("Items done late"), "reminders_per_case": N_("Reminders per case"),
    "escalations_per_case": N_("Escalations per case"),
}
GROUPED = ("items_rejected_at_least_once", "reminders_per_case")


def _period(request: web.Request, today: dt.date) -> tuple[dt.date, dt.date, str | None]:
    """The period and department asked for, read as the API reads them (default: the 30
    days up to today)."""
    def day(name: str) -> dt.date | None:
        text = request.query.get(name, "").strip()
        try:
            return dt.date.fromisoformat(text) if text else None
        except ValueError:
            raise InvalidInputError(f"{name} must be a date (YYYY-MM-DD)", field=name) from None

    end = day("to") or today
    start = day("from") or end - dt.timedelta(days=29)
    department = request.query.get("department") or None
    if department is not None and len(department) > 200:
        raise InvalidInputError("department is at most 200 characters", field="department")
    return start, end, department


def _label(part: series.Part, lang: str) -> str:
    """A part of the period as the locale names it."""
    locale = babel_locale(lang)
    if part.unit == "day":
        return local_date(part.start, lang, "short")
    if part.unit == "week":
        return format_skeleton("MMMd", part.start, locale=locale)
    if part.unit == "month":
        return format_skeleton("yMMM", part.start, locale=locale)
    return str(part.start.year)


def _charts(request: web.Request, report: dict[str, Any],
            by_part: list[tuple[series.Part, dict[str, Any]]]) -> list[tuple[str, Markup]]:
    """Each chart with its title (shown above it; the SVG carries it for screen readers)."""
    lang = request[LOCALE]

    def number(value: float) -> str:
        return format_decimal(value, locale=babel_locale(lang))

    def text(title: str, description: str) -> charts.ChartText:
        return charts.ChartText(translate(request, title), translate(request, description),
                                translate(request, N_("No case was closed in this period.")))

    completion = text(N_("Cases closed over time"),
                      N_("How many cases were closed in each part of the period."))
    days = text(N_("Days from notice to close, by department"),
                N_("The median number of days from notice to close, with the fewest and the "
                   "most."))
    rejections = text(N_("Rejections and reminders, by department"),
                      N_("Items rejected at least once, and reminders sent per case, in each "
                         "department."))
    labelled = series.completion(by_part, lambda p: _label(p, lang))
    return [
        (completion.title, charts.completion_chart("chart-completion", labelled, completion,
                                                   number=number)),
        (days.title, charts.days_to_close_chart(
            "chart-days", series.days_to_close(report), days,
            median=translate(request, N_("Median")),
            spread=translate(request, N_("Fewest to most")), number=number)),
        (rejections.title, charts.grouped_bars_chart(
            "chart-rejections", series.by_department(report, GROUPED),
            [translate(request, COLUMNS[c]) for c in GROUPED], rejections, number=number)),
    ]


@routes.get("/reports")
async def reports(request: web.Request) -> web.Response:
    """The report's tables and charts for a period and, optionally, one department."""
    actor = require_role(request, *OVERSEERS)
    start, end, department = _period(request, moments(request).today)
    store = request.app[RUNTIME].projections
    report = await rq.handover_report(store, actor, start, end, department)
    by_part = await series.reports_by_part(store, actor, start, end, department)
    lang = request[LOCALE]
    rows = [{"department": r["department"],
             "cells": [format_decimal(r[c], locale=babel_locale(lang)) for c in COLUMNS]}
            for r in report["departments"]]
    query = {"from": start.isoformat(), "to": end.isoformat(), "department": department or ""}
    return render(request, "reports/reports.html", rows=rows,
                  columns=list(COLUMNS.values()), charts=_charts(request, report, by_part),
                  start=start, end=end, department=department or "",
                  csv_qs=urlencode({k: v for k, v in query.items() if v}))


@routes.get("/reports/handover.csv")
async def report_csv(request: web.Request) -> web.Response:
    """The same CSV as ``GET /v1/reports/handover?format=csv``."""
    actor = require_role(request, *OVERSEERS)
    start, end, department = _period(request, moments(request).today)
    report = await rq.handover_report(request.app[RUNTIME].projections, actor, start, end,
                                      department)
    return web.Response(text=rq.as_csv(report), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": CSV_NAME})
