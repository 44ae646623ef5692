"""The console's home: the HR dashboard for HR (the read model ``GET /v1/boards/hr`` serves,
filtered by a GET form and paged), a plain landing for every other role."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from api.query_routes import moments
from api.runtime_key import RUNTIME
from ledger.aggregates.departure import DEPARTURE_STATES
from ledger.errors import InvalidInputError
from ledger.projections import board_queries as bq
from web.keys import CATALOGUES, LOCALE, SESSION
from web.labels import RISK_LABELS
from web.nav import links_for
from web.render import render
from web.risks import risk_reasons
from web.session import signed_in

routes = web.RouteTableDef()
PAGE = 25
FILTERS = ("state", "department", "risk", "overdue", "last_day_from", "last_day_to")


def _filter(query: Any) -> tuple[bq.DashboardFilter, dict[str, str]]:
    """The dashboard filter a GET form asks for (the API's rules), and the form's values."""
    kept = {name: str(query.get(name, "")).strip()[:200] for name in FILTERS}
    if kept["state"] and kept["state"] not in DEPARTURE_STATES:
        raise InvalidInputError("unknown state", field="state")
    if kept["risk"] and kept["risk"] not in ("medium", "high"):
        raise InvalidInputError("risk must be medium or high", field="risk")
    wanted = bq.DashboardFilter(state=kept["state"] or None,
                                department=kept["department"] or None,
                                risk=kept["risk"] or None, overdue=kept["overdue"] == "true",
                                last_day_from=_day(kept, "last_day_from"),
                                last_day_to=_day(kept, "last_day_to"))
    return wanted, kept


def _day(kept: dict[str, str], name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(kept[name]) if kept[name] else None
    except ValueError:
        raise InvalidInputError(f"{name} must be a date", field=name) from None


def _page(query: Any) -> int:
    raw = str(query.get("page", "1"))
    return max(1, min(int(raw), 10**6)) if raw.isdigit() else 1


def _row(summary: dict[str, Any], today: dt.date, lang: str,
         zone: ZoneInfo | None = None) -> dict[str, Any]:
    last = dt.date.fromisoformat(summary["last_working_day"])
    due = summary.get("next_due")
    return {**summary, "days_left": (last - today).days,
            "overdue": bool(due) and dt.date.fromisoformat(str(due)[:10]) < today,
            "reasons": risk_reasons(summary, lang, zone)}


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    """HR's dashboard, or the landing of any other role."""
    actor = signed_in(request)
    if actor.role != "hr":
        links = [link for link in links_for(actor) if link.path != "/console/"]
        return render(request, "landing.html", links=links,
                      several_roles=len(request[SESSION].principal.roles) > 1)
    wanted, kept = _filter(request.query)
    page = _page(request.query)
    runtime, now = request.app[RUNTIME], moments(request)
    board = await bq.hr_dashboard(runtime.projections, actor, wanted, now, PAGE,
                                  (page - 1) * PAGE, None, runtime.principals,
                                  count_overdue=True)
    pages = max(1, -(-board["total"] // PAGE))
    query = {k: v for k, v in kept.items() if v}
    zone = request.app[CATALOGUES].zone
    rows = [_row(s, now.today, request[LOCALE], zone) for s in board["items"]]
    return render(request, "dashboard.html", rows=rows,
                  total=board["total"], overdue_cases=board["overdue_total"], filters=kept,
                  states=DEPARTURE_STATES, risks=RISK_LABELS, page=page, pages=pages,
                  prev_qs=urlencode({**query, "page": page - 1}),
                  next_qs=urlencode({**query, "page": page + 1}), today=now.today)
