"""Department queues (IT, finance, admin, any ``dept:<name>`` queue): the read model
``GET /v1/queues/{department}`` serves, with the same refusals (a 404 here: a refusal reveals
nothing), each item with the external evidence systems reported on it (the item read with the
rule of ``GET /v1/items/{id}``, then its verified entries), due dates and overdue marks; and the
actions the queue's own role may take, as forms running the same commands as the API (confirm,
reject, record the department's own report). The use cases decide; the forms are only offered where
the read model or the item says the action is open.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from api.board_routes import DEPARTMENT
from api.query_routes import moments
from api.runtime_key import RUNTIME
from ledger.aggregates.item import DONE_STATES, HandoverItem
from ledger.errors import ForbiddenError, LedgerError, NotFoundError
from ledger.projections import board_queries as bq
from ledger.projections import inbox_queries as iq
from ledger.service import commands as c
from ledger.service import queries as q
from ledger.service.context import Actor
from ledger.service.policy import EVIDENCE_SOURCES
from web.i18n import N_
from web.keys import context_of
from web.labels import ITEM_STATE_LABELS, QUEUE_ACTION_LABELS, ROLE_LABELS
from web.render import flash, problem_text, render, translate
from web.session import require_role, see_other

routes = web.RouteTableDef()
PAGE = 25  # items a page shows (each one's entries are read for its reports)
READERS = ("hr", *iq.QUEUE_ROLES.values())
DONE = {"confirm": N_("Item confirmed."), "reject": N_("Item rejected."),
        "evidence": N_("Report recorded.")}


def _department(request: web.Request) -> str:
    department = request.match_info["department"]
    if not DEPARTMENT.fullmatch(department):
        raise web.HTTPNotFound()
    return department


async def _read_queue(request: web.Request, actor: Actor, department: str,
                      wait: bq.Wait | None) -> dict[str, Any]:
    try:
        return await iq.department_queue(request.app[RUNTIME].projections, actor, department,
                                         wait)
    except ForbiddenError:
        raise web.HTTPNotFound() from None  # another department's queue: as if absent


def _reports(entries: list[Any]) -> list[dict[str, Any]]:
    """What systems (or the department) reported on the item: who, what, when."""
    return [{"by": e.actor.get("id"), "source": e.payload.get("source"),
             "kind": e.payload.get("kind"), "reference": e.payload.get("reference"),
             "details": e.payload.get("details") or {}, "at": e.recorded_at}
            for e in entries if e.event_type == "ItemExternalEvidenceRecorded"]


def _offers(item: HandoverItem, entry: dict[str, Any], actor: Actor, queue: str) -> set[str]:
    """The forms to show: the queue's own role only, where the action is open."""
    if actor.role != iq.QUEUE_ROLES.get(queue.removeprefix("dept:")) or item.state in (
            DONE_STATES):
        return set()
    found = set()
    direct = (item.state in ("open", "rejected") and item.department_may_confirm_directly
              and not item.signers and item.receiver == queue)
    if entry["action"] == "confirm" or direct:
        found.add("confirm")
    if entry["action"] == "confirm":
        found.add("reject")
    if actor.role in EVIDENCE_SOURCES and item.accepts_evidence_from(actor.role, actor.id, ""):
        found.add("evidence")
    return found


async def _rows(request: web.Request, actor: Actor, queue: dict[str, Any],
                shown: list[dict[str, Any]]) -> list[Any]:
    ledger, today = request.app[RUNTIME].ledger, moments(request).today
    rows = []
    for entry in shown:
        due = entry.get("due_date")
        row = {**entry, "overdue": bool(due) and str(due)[:10] < today.isoformat(),
               "reports": [], "offers": set(), "item": None}
        try:  # read as GET /v1/items/{id} reads it (the same rule), then its entries
            item = await q.get_item(ledger, actor, uuid.UUID(entry["item_id"]))
        except NotFoundError:
            rows.append(row)
            continue
        row.update(item=item, reports=_reports(await ledger.entries(item.id)),
                   offers=_offers(item, entry, actor, f"dept:{queue['department']}"))
        rows.append(row)
    return rows


async def _page(request: web.Request, actor: Actor, department: str, *,
                wait: bq.Wait | None = None, status: int = 200,
                error: dict[str, Any] | None = None) -> web.Response:
    queue = await _read_queue(request, actor, department, wait)
    raw = str(request.query.get("page", "1"))
    pages = max(1, -(-len(queue["items"]) // PAGE))
    page = max(1, min(int(raw), pages)) if raw.isdigit() else 1
    shown = queue["items"][(page - 1) * PAGE:page * PAGE]
    today = moments(request).today.isoformat()
    return render(request, "queues/queue.html", status=status, department=department,
                  rows=await _rows(request, actor, queue, shown), actions=QUEUE_ACTION_LABELS,
                  total=len(queue["items"]), page=page, pages=pages,
                  overdue=sum(1 for e in queue["items"] if e.get("due_date")
                              and str(e["due_date"])[:10] < today),
                  item_states=ITEM_STATE_LABELS,
                  queue_name=translate(request, ROLE_LABELS[department])
                  if department in ROLE_LABELS else department, error=error,
                  today=moments(request).today, own=actor.role == iq.QUEUE_ROLES.get(
                      department))


async def _after(request: web.Request, actor: Actor) -> bq.Wait | None:
    """Wait for the event a form's command appended (``?after=``), if its reader may read it
    (as the API's ``after_event``); anything else is not waited for."""
    try:
        event_id = uuid.UUID(request.query["after"])
        await q.get_event(request.app[RUNTIME].ledger, actor, event_id)
    except (KeyError, ValueError, NotFoundError):
        return None
    return bq.Wait(event=event_id)


@routes.get("/queues/{department}")
async def department_queue(request: web.Request) -> web.Response:
    """A department's queue: its role and HR read it; anyone else finds nothing here."""
    actor = require_role(request, *READERS)
    return await _page(request, actor, _department(request),
                       wait=await _after(request, actor))


def _command(kind: str, item_id: str, form: Any) -> c.Model:
    text = {name: str(form.get(name, "")).strip() for name in (
        "note", "reason", "source", "kind", "reference")}
    if kind == "confirm":
        return c.ConfirmItem(item_id=item_id, note=text["note"])
    if kind == "reject":
        return c.RejectItem(item_id=item_id, reason=text["reason"])
    return c.RecordExternalEvidence(item_id=item_id, source=text["source"], kind=text["kind"],
                                    reference=text["reference"])


@routes.post(r"/queues/{department}/items/{item_id}/{kind:confirm|reject|evidence}")
async def act_on_item(request: web.Request) -> web.Response:
    """Confirm, reject or report on a queue's item as the API does; errors re-render the
    queue with the form kept."""
    actor = require_role(request, *iq.QUEUE_ROLES.values())
    department, kind = _department(request), request.match_info["kind"]
    item_id = request.match_info["item_id"]
    form = await request.post()
    runtime = request.app[RUNTIME]
    try:
        command = _command(kind, item_id, form)
        outcome = await runtime.ledger.execute(command, actor, context_of(request))
    except (LedgerError, ValidationError) as e:
        if isinstance(e, NotFoundError):
            raise web.HTTPNotFound() from None
        problem = problem_text(request, e)
        status = problem["status"]
        kept = {k: str(v) for k, v in form.items() if k != "csrf"}
        return await _page(request, actor, department,
                           status=status if isinstance(status, int) else 500,
                           error={**problem, "item_id": item_id, "kind": kind, "form": kept})
    events = outcome.body.get("events")
    last = events[-1].get("id") if isinstance(events, list) and events and isinstance(
        events[-1], dict) else None
    response = see_other(f"/console/queues/{department}" + (f"?after={last}" if last else ""))
    flash(request, response, DONE[kind])
    return response

