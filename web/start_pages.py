"""HR starts a departure in the console: a form with what the API's ``StartDeparture``
needs (the leaver, the dates, the reason, the HR owner and manager, and whether the manager
approves it), running the same command through ``Ledger.execute``; then the new case's page.
A refusal re-renders the form, kept filled in, with the API's problem."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from api.runtime_key import RUNTIME
from ledger.errors import LedgerError
from ledger.service import commands as c
from web.i18n import N_
from web.keys import context_of
from web.labels import ROLE_FAMILY_LABELS
from web.render import flash, problem_text, render, status_of
from web.session import require_role, see_other

routes = web.RouteTableDef()
FIELDS = ("leaver_id", "leaver_name", "department", "position", "role_family", "notice_date",
          "last_working_day", "reason", "hr_owner_id", "manager_id", "successor_id",
          "manager_approves")


def _command(v: dict[str, str]) -> c.Model:
    """The ``StartDeparture`` the form asks for (the chain: the manager's one step when
    ticked, else none)."""
    manager = v["manager_id"].strip()
    return c.StartDeparture.model_validate({
        "leaver": {"id": v["leaver_id"], "name": v["leaver_name"],
                   "department": v["department"], "position": v["position"],
                   "role_family": v["role_family"]},
        "manager_id": manager, "hr_owner_id": v["hr_owner_id"],
        "notice_date": v["notice_date"], "last_working_day": v["last_working_day"],
        "reason": v["reason"], "successor_id": v["successor_id"].strip() or None,
        "approval_chain": [{"name": "manager", "approver_id": manager}]
        if v["manager_approves"] == "yes" and manager else []})


def _form(request: web.Request, values: dict[str, str], status: int = 200,
          problem: Any = None) -> web.Response:
    return render(request, "start_departure.html", status=status, values=values,
                  families=ROLE_FAMILY_LABELS, problem=problem)


@routes.get("/departures/new")
async def new_departure(request: web.Request) -> web.Response:
    """The empty form (HR; the HR owner is the reader, the manager approves)."""
    actor = require_role(request, "hr")
    values = dict.fromkeys(FIELDS, "")
    values.update(hr_owner_id=actor.id, role_family="general", manager_approves="yes")
    return _form(request, values)


@routes.post("/departures/new")
async def start_departure(request: web.Request) -> web.StreamResponse:
    """Run ``StartDeparture`` as the session's actor; the new case's page, or the form
    again with the problem."""
    actor = require_role(request, "hr")
    posted = await request.post()
    values = {name: str(posted.get(name, ""))[:2000] for name in FIELDS}
    try:
        outcome = await request.app[RUNTIME].ledger.execute(_command(values), actor,
                                                           context_of(request))
    except (LedgerError, ValidationError) as error:
        problem = problem_text(request, error)
        return _form(request, values, status_of(problem), problem)
    result: Any = outcome.body["result"]
    departure_id = str(result["departure_id"])
    events: Any = outcome.body.get("events") or []
    after = f"?after={events[-1]['id']}" if events else ""  # the page waits for the board
    response = see_other(f"/console/departures/{departure_id}{after}")
    flash(request, response, N_("The departure was started."))
    return response
