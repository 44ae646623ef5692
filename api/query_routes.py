"""GET endpoints: departures, items, events, templates, health. Authorization is the read use
cases' (ledger.service.queries)."""

from __future__ import annotations

import datetime as dt
import logging

from aiohttp import web

from api.auth import actor_of
from api.body import natural, path_uuid, query_flag
from api.endpoint import EndpointTable
from api.problem import problem
from api.runtime_key import RUNTIME
from api.views import (
    DeparturePage,
    DepartureView,
    EventList,
    EventView,
    Health,
    ItemView,
    ProjectionReadiness,
    Ready,
    Statement,
    TemplateList,
    TemplateView,
    WorkerState,
    ok,
)
from ledger.aggregates.departure import DEPARTURE_STATES
from ledger.aggregates.template import template_id_for
from ledger.entry import Entry
from ledger.errors import InvalidInputError, NotFoundError
from ledger.projections import board_queries as bq
from ledger.readiness import problems, read_state
from ledger.service import queries as q
from ledger.service.commands import canonical_uuid
from ledger.timestamp.freshness import freshness_problems, read_freshness

log = logging.getLogger("ledger.api")

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
                 ("offset", "offset"), ("min_position", "position"),
                 ("after_event", "uuid")))
async def list_departures(request: web.Request) -> web.Response:
    """Filtered, paginated, oldest first: read from the board projection, each departure
    whole as of its log position (``position`` says which; ``min_position`` or
    ``after_event`` waits for one)."""
    overdue = query_flag(request, "overdue")
    state = request.query.get("state") or None
    if state is not None and state not in DEPARTURE_STATES:
        raise InvalidInputError(f"state must be one of {', '.join(DEPARTURE_STATES)}",
                                field="state")
    department = request.query.get("department") or None
    if department is not None and len(department) > 200:
        raise InvalidInputError("department is at most 200 characters", field="department")
    wanted = bq.DashboardFilter(
        state=state, department=department, overdue=overdue, include_closed=True,
        last_day_from=_date(request, "last_day_from"), last_day_to=_date(request, "last_day_to"))
    limit = _int(request, "limit", 50, MAX_PAGE)
    offset = _int(request, "offset", 0, 10**9)
    runtime = request.app[RUNTIME]
    found, total, position = await bq.list_departures(
        runtime.projections, actor_of(request), wanted, moments(request), limit, offset,
        await min_position(request))
    return ok(DeparturePage(total=total, limit=limit, offset=offset, position=position,
                            items=[DepartureView.of(d, actor_of(request)) for d in found]))


def moments(request: web.Request) -> bq.Moments:
    """The organisation's today and now, as the board's rules compare them."""
    ledger = request.app[RUNTIME].ledger
    return bq.Moments(today=q.organisation_today(ledger), now=ledger.clock())


async def min_position(request: web.Request) -> bq.Wait:
    """What a read of a read model waits for: ``min_position`` (a log position) and
    ``after_event`` (an event id a command's response named) — up to 5 s, else 503. An
    event its reader may not read is absent, as on ``GET /v1/events/{id}``."""
    position = natural(request.query.get("min_position", "0"), "min_position", 2**62,
                       "min_position must be a log position (an integer from 0)")
    event = request.query.get("after_event")
    try:
        event_id = canonical_uuid(event) if event is not None else None
    except ValueError:
        raise InvalidInputError("after_event must be an event id (a hyphenated UUID)",
                                field="after_event") from None
    if event_id is not None:
        await q.get_event(request.app[RUNTIME].ledger, actor_of(request), event_id)
    return bq.Wait(position, event_id)


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
    indexes = await request.app[RUNTIME].log.find_indexes([e.event_hash for e in entries])
    return [EventView.of(e, indexes.get(e.event_hash)) for e in entries]


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
    proof = await runtime.reader.tlog_proof(entry.event_hash, runtime.cosignatures)
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


@table.route("GET", "/readyz", "Readiness: the database answers, every worker runs, the "
             "sequencer and each projection keep up", response=Ready, public=True)
async def check_readiness(request: web.Request) -> web.Response:
    """The database answers, no worker stopped on an error, and neither the sequencer nor a
    projection is stopped or more than LEDGER_READY_MAX_LAG entries behind, and (with
    LEDGER_TSA_URLS) the newest checkpoint has not waited longer than
    LEDGER_TSA_READY_MAX_AGE_SECONDS for a timestamp; else 503 with
    ``problems`` naming each (why is in the server log, not on this public endpoint)."""
    services = request.app[RUNTIME]
    health = services.workers.health()
    workers = [WorkerState(name=h.name, ok=h.ok, detail=h.detail if h.ok else
                           "retrying (see the log)" if h.retrying else
                           "stopped on an error (see the log)")
               for h in health]
    try:
        latest = await services.log.latest_checkpoint()
        state = await read_state(services.log, services.projections, services.webhooks,
                                 services.clock)
        stamping, freshness = services.settings.timestamps, None
        if stamping.enabled and services.timestamps is not None:
            freshness = await read_freshness(services.log, services.timestamps,
                                             services.clock)
    except Exception as e:  # whatever the driver says: the database is not answering
        log.warning("readiness: the database does not answer: %r", e)
        return problem(503, "Not ready", "the database does not answer",
                       problems=["the database does not answer"],
                       workers=[w.model_dump() for w in workers])
    ready = Ready(
        status="ready", log_size=latest.size if latest else 0, workers=workers,
        sequencer_lag=state.queued, webhook_backlog=state.webhook_backlog,
        webhook_dead_letters=state.webhook_dead_letters,
        projections=[ProjectionReadiness(name=p.name, position=p.position, lag=p.lag,
                                         ok=p.error is None) for p in state.projections],
        timestamp_age_seconds=freshness.age_seconds if freshness else None,
        timestamp_pending_seconds=freshness.pending_seconds if freshness else None)
    found = problems(state, health, services.settings.ready_max_lag)
    if freshness is not None:
        found += freshness_problems(freshness, stamping.ready_max_age_seconds)
    if found:
        body = ready.model_dump(exclude={"status"})
        return problem(503, "Not ready", "; ".join(found), problems=found, **body)
    return ok(ready)


__all__ = ["table"]
