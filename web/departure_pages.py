"""The departure page: a case as its board serves it (web.departure_view), its timeline on
a page of its own, its evidence bundle (the API's own export and stream), and its board live
(the API's Server-Sent Events, authorized by the session). HR's actions are in
web.departure_actions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from aiohttp import web

from api.body import path_uuid, query_flag
from api.bundle_routes import send_bundle
from api.live_routes import stream_departure_board, stream_hr_changes
from api.query_routes import moments
from api.runtime_key import RUNTIME
from ledger.errors import LedgerError
from ledger.projections import board_queries as bq
from ledger.service import queries as q
from ledger.service.commands import canonical_uuid
from ledger.sessions import hash_session_secret
from web.departure_rows import Words, blocking_rows, item_options, item_rows
from web.departure_view import departure_view, timeline_view
from web.keys import LOCALE, SECRET, SESSIONS, context_of
from web.labels import (
    CATEGORY_LABELS,
    DECISION_LABELS,
    DISPUTE_STATE_LABELS,
    ITEM_STATE_LABELS,
    ROLE_FAMILY_LABELS,
)
from web.live_feeds import live_slot
from web.people import People
from web.render import render
from web.session import signed_in

routes = web.RouteTableDef()
CHANNELS = ("email", "sms", "dingtalk", "wecom", "feishu", "phone", "in_person", "letter")


async def _wait(request: web.Request) -> bq.Wait | None:
    """After an action the page waits (boundedly) for the board to show it: ``after`` names
    the action's first event (one its reader may read, as the API's ``after_event``)."""
    text = request.query.get("after")
    if not text:
        return None
    try:
        event_id = canonical_uuid(text)
    except ValueError:
        return None
    await q.get_event(request.app[RUNTIME].ledger, signed_in(request), event_id)
    return bq.Wait(event=event_id)


async def show(request: web.Request, departure_id: UUID, *, status: int = 200,
               problem: Mapping[str, object] | None = None, failed: str = "",
               form: Mapping[str, str] | None = None,
               wait: bq.Wait | None = None) -> web.Response:
    """Render the page; after a refused action with its ``problem`` beside the form
    ``failed`` names, kept filled in with ``form``."""
    actor = signed_in(request)
    runtime = request.app[RUNTIME]
    view = await departure_view(runtime, actor, departure_id, moments(request), wait,
                                request[LOCALE])
    words = Words.of(request)
    people = view["people"] = People.of(view.pop("names"), view.pop("queues"),
                                        words.translations.gettext)
    view["rows"] = item_rows(view["categories"], view["overdue_ids"], ITEM_STATE_LABELS,
                             DECISION_LABELS, words, people)
    view["blocking_rows"] = blocking_rows(view["blocking"], ITEM_STATE_LABELS, words, people)
    view["options"] = item_options(view["open_items"], words, people)
    view["chosen_options"] = item_options(view["open_items"], words, people,
                                          (form or {}).get("item", ""))
    return render(request, "departure/page.html", status=status, **view,
                  problem=problem, failed=failed, form=form or {},
                  # the checklist My tasks' ``apply_checklist`` entry links to, chosen
                  apply_key=request.query.get("apply", ""),
                  item_states=ITEM_STATE_LABELS, categories_labels=CATEGORY_LABELS,
                  dispute_states=DISPUTE_STATE_LABELS, channels=CHANNELS,
                  role_families=ROLE_FAMILY_LABELS,
                  category_codes=tuple(CATEGORY_LABELS))


@routes.get("/departures/{departure_id}")
async def departure_page(request: web.Request) -> web.Response:
    """The case: header, approvals, checklist, confirmation, disputes, risk."""
    signed_in(request)
    departure_id = path_uuid(request, "departure_id")
    return await show(request, departure_id, wait=await _wait(request))


@routes.get("/departures/{departure_id}/timeline")
async def departure_timeline(request: web.Request) -> web.Response:
    """The case's timeline (as ``GET /v1/departures/{id}/timeline``, to the same readers)
    and its approval decisions with their comments."""
    actor = signed_in(request)
    view = await timeline_view(request.app[RUNTIME], actor,
                               path_uuid(request, "departure_id"), request[LOCALE])
    people = People.of(view.pop("names"), (), Words.of(request).translations.gettext)
    return render(request, "departure/timeline.html", **view, people=people)


@routes.get("/departures/{departure_id}/bundle")
async def bundle(request: web.Request) -> web.StreamResponse:
    """The evidence bundle, exported and streamed exactly as ``GET .../bundle`` of the API
    (HR, legal, the leaver for their own case; absent to anyone else); ``?with_files=true``
    adds the attached files, as the API's."""
    actor = signed_in(request)
    return await send_bundle(request, actor, path_uuid(request, "departure_id"),
                             with_files=query_flag(request, "with_files"),
                             context=context_of(request))


async def _session_alive(request: web.Request) -> bool:
    """A live page follows only while its session lasts (read without marking it seen: an
    open tab does not keep it alive) and its principal is active."""
    runtime = request.app[RUNTIME]
    found = await request.app[SESSIONS].touch_session(
        hash_session_secret(request[SECRET]), runtime.ledger.clock(),
        runtime.settings.console_idle_timeout, touch=False)
    if found is None:
        return False
    try:
        return (await runtime.principals.get_principal(found.principal.id)).active
    except LedgerError:
        return False


@routes.get("/departures/{departure_id}/events")
async def departure_events(request: web.Request) -> web.StreamResponse:
    """The case's board, live, as ``GET /v1/boards/departures/{id}/events`` sends it."""
    actor = signed_in(request)
    with live_slot(request):
        return await stream_departure_board(request, actor, path_uuid(request, "departure_id"),
                                            lambda: _session_alive(request))


@routes.get("/live/hr")
async def hr_events(request: web.Request) -> web.StreamResponse:
    """The HR dashboard's changes, live, as ``GET /v1/boards/hr/events`` sends them."""
    actor = signed_in(request)
    with live_slot(request):
        return await stream_hr_changes(request, actor, bq.Wait(),
                                       lambda: _session_alive(request))


def kept(form: Mapping[str, Any], *names: str) -> dict[str, str]:
    """The posted values of ``names`` (text only, at most 4000 characters each)."""
    return {n: str(form.get(n, ""))[:4000] for n in names if isinstance(form.get(n, ""), str)}
