"""The board: a case's board and the HR dashboard, read from the board projection
(``ledger.projections.board_queries``). Each answer names the log ``position`` it reflects;
``min_position`` (a log position) or ``after_event`` (an event id from a command's response)
waits (up to 5 s, else 503 with Retry-After) until the board has reached it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from aiohttp import web

from api.auth import actor_of
from api.body import path_uuid
from api.endpoint import EndpointTable
from api.query_routes import MAX_PAGE, _date, _int, min_position, moments
from api.runtime_key import RUNTIME
from api.views import View, ok
from ledger.aggregates.departure import DEPARTURE_STATES
from ledger.errors import InvalidInputError
from ledger.projections import board_queries as bq
from ledger.projections import inbox_queries as iq
from ledger.projections import report_queries as rq
from ledger.service.timeline import timeline

table = EndpointTable()
WAIT = (("min_position", "position"), ("after_event", "uuid"))
PAGE = (("limit", "integer"), ("offset", "offset"))
DEPARTMENT = re.compile(r"[a-z][a-z0-9-]{0,40}")


class DepartureBoard(View):
    """A case's board: summary with risk, items by category, blocking, overdue, disputes."""

    position: int
    departure: dict[str, Any]
    categories: dict[str, list[dict[str, Any]]]
    blocking: list[dict[str, Any]]
    overdue: list[dict[str, Any]]
    disputes: list[dict[str, Any]]


class HrDashboard(View):
    """Open departures, riskiest first."""

    position: int
    total: int
    limit: int
    offset: int
    items: list[dict[str, Any]]


def _choice(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query.get(name) or None
    if value is not None and value not in allowed:
        raise InvalidInputError(f"{name} must be one of {', '.join(allowed)}", field=name)
    return value


def _text(request: web.Request, name: str) -> str | None:
    value = request.query.get(name) or None
    if value is not None and len(value) > 200:
        raise InvalidInputError(f"{name} is at most 200 characters", field=name)
    return value


@table.route("GET", "/v1/boards/departures/{departure_id}", "A departure's board",
             response=DepartureBoard, query=WAIT)
async def departure_board(request: web.Request) -> web.Response:
    """Whoever may read the case reads its board."""
    runtime = request.app[RUNTIME]
    board = await bq.departure_board(runtime.ledger, runtime.projections, actor_of(request),
                                     path_uuid(request, "departure_id"), moments(request),
                                     await min_position(request), runtime.principals)
    return ok(DepartureBoard(**board))


@table.route("GET", "/v1/boards/hr", "The HR dashboard (HR, legal, auditors)",
             response=HrDashboard, query=(
                 ("state", "departure_state"), ("department", "string"),
                 ("hr_owner_id", "string"), ("last_day_from", "date"),
                 ("last_day_to", "date"), ("overdue", "boolean"), ("risk", "risk"),
                 ("include_closed", "boolean"), ("limit", "integer"), ("offset", "offset"),
                 *WAIT))
async def hr_dashboard(request: web.Request) -> web.Response:
    """Open departures sorted by risk, with each alert's reason; filtered and paged."""
    flags = {name: _choice(request, name, ("true", "false")) == "true"
             for name in ("overdue", "include_closed")}
    wanted = bq.DashboardFilter(
        state=_choice(request, "state", DEPARTURE_STATES),
        department=_text(request, "department"), hr_owner_id=_text(request, "hr_owner_id"),
        last_day_from=_date(request, "last_day_from"), last_day_to=_date(request, "last_day_to"),
        risk=_choice(request, "risk", ("medium", "high")), **flags)
    runtime = request.app[RUNTIME]
    board = await bq.hr_dashboard(runtime.projections, actor_of(request), wanted,
                                  moments(request), _int(request, "limit", 50, MAX_PAGE),
                                  _int(request, "offset", 0, 10**9), await min_position(request),
                                  runtime.principals)
    return ok(HrDashboard(**board))


class Inbox(View):
    """What the reader must do now, oldest first: ``action`` is submit, resubmit, confirm,
    answer_question, approve, sign_confirmation, close, apply_checklist (the case's HR
    owner: a checklist the approval left to them, ``template_key`` and ``reason``), waive,
    accept_or_decline or state_in_dispute (a queue also lists awaiting_giver); a page of
    ``total``."""

    position: int
    items: list[dict[str, Any]]
    total: int = 0
    limit: int = 0
    offset: int = 0


class DepartmentQueue(Inbox):
    """A department queue's open items."""

    department: str


@table.route("GET", "/v1/inbox", "What I must do now", response=Inbox,
             query=(*WAIT, *PAGE))
async def inbox(request: web.Request) -> web.Response:
    """The reader's own inbox (as the role they act in, with their department queue)."""
    runtime = request.app[RUNTIME]
    limit, offset = _int(request, "limit", 50, MAX_PAGE), _int(request, "offset", 0, 10**9)
    found = await iq.inbox(runtime.projections, runtime.principals, actor_of(request),
                           await min_position(request), limit=limit,
                           offset=offset)  # entries on items paged in SQL
    return ok(Inbox(**found, limit=limit, offset=offset))


@table.route("GET", "/v1/queues/{department}", "A department queue (its role, HR)",
             response=DepartmentQueue, query=(*WAIT, *PAGE))
async def department_queue(request: web.Request) -> web.Response:
    """Open items the queue ``dept:{department}`` gives, receives or must sign; the path
    names it bare (``it``) or as items and the README name it (``dept:it``)."""
    department = request.match_info["department"].removeprefix("dept:")
    if not DEPARTMENT.fullmatch(department):
        raise InvalidInputError("department must be a queue name such as it, finance, admin",
                                field="department")
    runtime = request.app[RUNTIME]
    limit, offset = _int(request, "limit", 50, MAX_PAGE), _int(request, "offset", 0, 10**9)
    found = await iq.department_queue(runtime.projections, actor_of(request), department,
                                      await min_position(request), limit=limit,
                                      offset=offset)  # paged in SQL
    return ok(DepartmentQueue(**found, limit=limit, offset=offset))


class Timeline(View):
    """A case's timeline: ``at``, ``actor``, the event, and a line in Chinese and English; a
    page of ``total`` lines, oldest first."""

    items: list[dict[str, Any]]
    total: int = 0
    limit: int = 0
    offset: int = 0


def _paged(request: web.Request, found: dict[str, Any]) -> dict[str, Any]:
    """``found`` with its ``items`` cut to the page ``limit``/``offset`` ask for."""
    limit, offset = _int(request, "limit", 50, MAX_PAGE), _int(request, "offset", 0, 10**9)
    items = found["items"]
    return {**found, "items": items[offset:offset + limit], "total": len(items),
            "limit": limit, "offset": offset}


@table.route("GET", "/v1/departures/{departure_id}/timeline",
             "A departure's timeline (who did what and when)", response=Timeline, tag="boards",
             query=PAGE)
async def departure_timeline(request: web.Request) -> web.Response:
    """Oldest first; each reader sees the streams they may read."""
    lines = await timeline(request.app[RUNTIME].ledger, actor_of(request),
                           path_uuid(request, "departure_id"))
    return ok(Timeline(**_paged(request, {"items": lines})))


class HandoverReport(View):
    """Per department, for cases closed in the period."""

    position: int
    period: dict[str, str]  # from, to (inclusive)
    departments: list[dict[str, Any]]


@table.route("GET", "/v1/reports/handover", "The handover report (HR, legal, auditors)",
             response=HandoverReport, produces=(("text/csv", {"type": "string"}),),
             query=(("from", "date"), ("to", "date"),
                                             ("department", "string"), ("format", "report_format")))
async def handover_report(request: web.Request) -> web.StreamResponse:
    """Cases closed from ``from`` to ``to`` (default: the 30 days up to today), by
    department; ``format=csv`` for CSV."""
    runtime = request.app[RUNTIME]
    today = moments(request).today
    end = _date(request, "to") or today
    start = _date(request, "from") or end - dt.timedelta(days=29)
    kind = _choice(request, "format", ("json", "csv")) or "json"
    report = await rq.handover_report(runtime.projections, actor_of(request), start, end,
                                      _text(request, "department"))
    if kind == "csv":
        return web.Response(text=rq.as_csv(report), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition":
                                     'attachment; filename="handover-report.csv"'})
    return ok(HandoverReport(**report))
