"""GET endpoints: departures, items, events, templates, health. Authorization is the read use
cases' (ledger.service.queries)."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from api.auth import actor_of
from api.body import natural, path_uuid
from api.endpoint import EndpointTable
from api.runtime_key import RUNTIME
from api.views import (
    DeparturePage,
    DepartureView,
    EventList,
    EventView,
    Health,
    ItemView,
    Statement,
    TemplateList,
    TemplateView,
    ok,
)
from ledger.aggregates.departure import DEPARTURE_STATES
from ledger.aggregates.template import template_id_for
from ledger.entry import Entry
from ledger.errors import InvalidInputError, NotFoundError
from ledger.service import queries as q

table = EndpointTable()
MAX_PAGE = 200


def _date(request: web.Request, name: str) -> dt.date | None:
    text = request.query.get(name)
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        raise InvalidInputError(f"{name} must be a date (YYYY-MM-DD)", field=name) from None


def _int(request: web.Request, name: str, default: int, top: int) -> int:
    text = request.query.get(name, str(default))
    return natural(text, name, top, f"{name} must be an integer from 0 to {top}")


@table.route("GET", "/v1/departures", "List departures (HR, legal, auditors)",
             response=DeparturePage, query=(
                 ("state", "departure_state"), ("department", "string"),
                 ("overdue", "boolean"),
                 ("last_day_from", "date"), ("last_day_to", "date"), ("limit", "integer"),
                 ("offset", "offset")))
async def list_departures(request: web.Request) -> web.Response:
    """Filtered, paginated board."""
    overdue = request.query.get("overdue", "false")
    if overdue not in ("true", "false"):
        raise InvalidInputError("overdue must be true or false", field="overdue")
    state = request.query.get("state") or None
    if state is not None and state not in DEPARTURE_STATES:
        raise InvalidInputError(f"state must be one of {', '.join(DEPARTURE_STATES)}",
                                field="state")
    department = request.query.get("department") or None
    if department is not None and len(department) > 200:
        raise InvalidInputError("department is at most 200 characters", field="department")
    wanted = q.DepartureFilter(
        state=state, department=department,
        overdue_on=q.organisation_today(request.app[RUNTIME].ledger) if overdue == "true" else None,
        last_day_from=_date(request, "last_day_from"), last_day_to=_date(request, "last_day_to"))
    limit = _int(request, "limit", 50, MAX_PAGE)
    offset = _int(request, "offset", 0, 10**9)
    found, total = await q.list_departures(request.app[RUNTIME].ledger, actor_of(request),
                                           wanted, limit, offset)
    return ok(DeparturePage(total=total, limit=limit, offset=offset,
                            items=[DepartureView.of(d, actor_of(request)) for d in found]))


@table.route("GET", "/v1/departures/{departure_id}", "Get a departure", response=DepartureView)
async def get_departure(request: web.Request) -> web.Response:
    """One departure, with an ETag of its version (use it in If-Match)."""
    departure = await q.get_departure(request.app[RUNTIME].ledger, actor_of(request),
                                      path_uuid(request, "departure_id"))
    response = ok(DepartureView.of(departure, actor_of(request)))
    response.headers["ETag"] = f'"{departure.version}"'
    return response


@table.route("GET", "/v1/items/{item_id}", "Get a handover item", response=ItemView)
async def get_item(request: web.Request) -> web.Response:
    """One item, with an ETag of its version."""
    ledger = request.app[RUNTIME].ledger
    item = await q.get_item(ledger, actor_of(request), path_uuid(request, "item_id"))
    response = ok(ItemView.of(item, today=q.organisation_today(ledger).isoformat()))
    response.headers["ETag"] = f'"{item.version}"'
    return response


@table.route("GET", "/v1/items/{item_id}/confirmation-statement",
             "The statement the receiver signs (Ed25519) for a strong confirmation",
             response=Statement)
async def get_confirmation_statement(request: web.Request) -> web.Response:
    """Sign its ``statement`` bytes with your registered key, then POST confirm with it."""
    statement = await q.statement_to_sign(request.app[RUNTIME].ledger, actor_of(request),
                                          path_uuid(request, "item_id"), dt.datetime.now(dt.UTC))
    return ok(Statement(statement=statement))


async def _views(request: web.Request, entries: list[Entry]) -> list[EventView]:
    log = request.app[RUNTIME].log
    return [EventView.of(e, await log.find_index(e.event_hash)) for e in entries]


@table.route("GET", "/v1/streams/{stream_id}/events", "A stream's entries with hashes",
             response=EventList)
async def list_stream_events(request: web.Request) -> web.Response:
    """Every entry of a departure, item or template stream."""
    entries = await q.stream_entries(request.app[RUNTIME].ledger, actor_of(request),
                                     path_uuid(request, "stream_id"))
    return ok(EventList(items=await _views(request, entries)))


@table.route("GET", "/v1/events/{event_id}", "One event", response=EventView)
async def get_event(request: web.Request) -> web.Response:
    """One entry by event id (its reader must be entitled to the stream)."""
    entry = await q.get_event(request.app[RUNTIME].ledger, actor_of(request),
                              path_uuid(request, "event_id"))
    return ok((await _views(request, [entry]))[0])


@table.route("GET", "/v1/events/{event_id}/proof", "Inclusion proof of one event (C2SP tlog-proof)",
             produces=(("text/x.tlog.proof", {"type": "string"}),))
async def get_event_proof(request: web.Request) -> web.Response:
    """The event's C2SP tlog-proof against the latest checkpoint."""
    runtime = request.app[RUNTIME]
    entry = await q.get_event(runtime.ledger, actor_of(request), path_uuid(request, "event_id"))
    proof = await runtime.reader.tlog_proof(entry.event_hash)
    return web.Response(body=proof, content_type="text/x.tlog.proof", charset="utf-8")


@table.route("GET", "/v1/templates", "List checklists", response=TemplateList)
async def list_templates(request: web.Request) -> web.Response:
    """Every checklist at its current revision."""
    ledger = request.app[RUNTIME].ledger
    ids = await ledger.store.stream_ids("template")
    return ok(TemplateList(items=[TemplateView.of(await q.get_template(ledger, i))
                                  for i in ids]))


@table.route("GET", "/v1/templates/{key}", "Get a checklist by key", response=TemplateView)
async def get_template(request: web.Request) -> web.Response:
    """One checklist."""
    key = request.match_info["key"]
    if len(key) > 64:
        raise NotFoundError("no such template")
    template = await q.get_template(request.app[RUNTIME].ledger, template_id_for(key))
    return ok(TemplateView.of(template))


@table.route("GET", "/healthz", "Liveness", response=Health, public=True)
async def check_liveness(request: web.Request) -> web.Response:
    """The process is up."""
    return ok(Health(status="ok"))


@table.route("GET", "/readyz", "Readiness: the database answers", response=Health,
             public=True)
async def check_readiness(request: web.Request) -> web.Response:
    """The database answers and a checkpoint exists."""
    latest = await request.app[RUNTIME].log.latest_checkpoint()
    return ok(Health(status="ready", log_size=latest.size if latest else 0))


__all__ = ["table"]
