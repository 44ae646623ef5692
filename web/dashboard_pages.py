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
from web.i18n import N_, local_date
from web.keys import CATALOGUES, LOCALE, SESSION
from web.nav import links_for
from web.render import render
from web.session import signed_in

routes = web.RouteTableDef()
PAGE = 25
RISK_RULES = {
    "last_day_near": N_("Last day near, mandatory items open"),
    "item_overdue": N_("An item is overdue"),
    "accounts_not_revoked": N_("Accounts not revoked after the last day"),
    "rejection_not_resubmitted": N_("A rejection was not resubmitted"),
    "receiver_inactive": N_("A receiver is no longer active"),
}
RISKS = {"high": N_("High risk"), "medium": N_("Medium risk"), "none": N_("No risk")}
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


def _why(rule: dict[str, Any], summary: dict[str, Any], lang: str,
         zone: ZoneInfo | None = None) -> tuple[str, dict[str, Any]]:
    """A reason in the reader's words from the figures the board's rule compared (its
    ``figures``), dates as the locale writes them (a moment's day in ``zone``, UTC
    without); the board's own sentence for a rule this console does not know."""
    figures = rule.get("figures") or {}
    kind = rule["rule"]
    if kind == "last_day_near":
        return N_("the last day, %(day)s, is within 3 days and %(done)s of %(total)s "
                  "mandatory items are done"), {
            "day": local_date(summary["last_working_day"], lang),
            "done": summary["mandatory_done"], "total": summary["mandatory_total"]}
    if kind == "item_overdue" and (figures.get("due") or summary.get("next_due")):
        return N_("an item was due on %(day)s, more than 2 days ago"), {
            "day": local_date(figures.get("due") or summary["next_due"], lang)}
    if kind == "accounts_not_revoked" and "accounts_open" in figures:
        return N_("account items still open more than 24 hours after the last working day "
                  "(%(day)s): %(count)s"), {
            "day": local_date(figures["last_working_day"], lang),
            "count": figures["accounts_open"]}
    if kind == "rejection_not_resubmitted" and figures.get("rejected_at"):
        return N_("an item rejected on %(day)s has not been resubmitted within 2 days"), {
            "day": local_date(_local_day(figures["rejected_at"], zone), lang)}
    if kind == "receiver_inactive" and "item" in figures:
        return N_("mandatory item “%(item)s” has no active receiver (%(receiver)s)"), {
            "item": figures["item"], "receiver": figures["receiver"]}
    return "%(why)s", {"why": rule["why"]}


def _local_day(moment: str, zone: ZoneInfo | None) -> dt.date:
    """The day of a stored moment (UTC ISO text) on the organisation's clock."""
    at = dt.datetime.fromisoformat(moment)
    at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return at.astimezone(zone or dt.UTC).date()


def _row(summary: dict[str, Any], today: dt.date, lang: str,
         zone: ZoneInfo | None = None) -> dict[str, Any]:
    last = dt.date.fromisoformat(summary["last_working_day"])
    due = summary.get("next_due")
    reasons = []
    for rule in summary["risk_reasons"]:
        why, values = _why(rule, summary, lang, zone)
        reasons.append({"label": RISK_RULES.get(rule["rule"], rule["rule"]), "why": why,
                        "figures": values})
    return {**summary, "days_left": (last - today).days,
            "overdue": bool(due) and dt.date.fromisoformat(str(due)[:10]) < today,
            "reasons": reasons}


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
                  states=DEPARTURE_STATES, risks=RISKS, page=page, pages=pages,
                  prev_qs=urlencode({**query, "page": page - 1}),
                  next_qs=urlencode({**query, "page": page + 1}), today=now.today)
