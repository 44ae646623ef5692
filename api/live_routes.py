"""Live board updates as Server-Sent Events (aiohttp-sse), authorized like the reads.

Each event's id is the board's log position; a client that reconnects with ``Last-Event-ID``
gets what changed after it. A case's stream sends the case's board (``event: board``) when
it changes; the HR dashboard's stream sends the ids of the cases that changed
(``event: changed``). Access is checked again before each event: a reader whose principal is
deactivated, or who may no longer read the case, gets no further event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from uuid import UUID

import orjson
from aiohttp import web
from aiohttp_sse import EventSourceResponse

from api.auth import actor_of
from api.body import natural, path_uuid
from api.endpoint import EndpointTable, Media
from api.query_routes import min_position, moments
from api.runtime_key import RUNTIME
from ledger.errors import LedgerError
from ledger.principals import hash_token
from ledger.projections import board_queries as bq
from ledger.service.context import Actor

table = EndpointTable()
log = logging.getLogger(__name__)
# Each event as an SSE client sees it (``data`` is the JSON text described above).
EVENT_STREAM: Media = (("text/event-stream", {
    "type": "object", "required": ["data"],
    "properties": {"data": {"type": "string"}, "event": {"type": "string"},
                   "id": {"type": "string", "pattern": "^[0-9]+$"}}}),)
POLL_SECONDS = 0.2
# A stream ends after this long (an EventSource reconnects on its own, with Last-Event-ID), so
# a forgotten client holds nothing for ever and access is decided afresh.
MAX_STREAM_SECONDS = 300.0
# Access is asked again at least this often, log or no log: a revoked token, a deactivated
# principal or an ended console session closes its stream within this much.
RECHECK_SECONDS = 15.0


def _last_event_id(request: web.Request) -> int | None:
    text = request.headers.get("Last-Event-ID")
    if text is None or text == "":
        return None
    return natural(text, "Last-Event-ID", 2**62, "Last-Event-ID must be a log position")


async def _still_allowed(request: web.Request) -> bool:
    """Whether the bearer token the stream was opened with still signs its principal in
    (not revoked, not expired, the principal active)."""
    _, _, token = request.headers.get("Authorization", "").partition(" ")
    try:
        principal = await request.app[RUNTIME].principals.principal_for_token(
            hash_token(token.strip()))
    except LedgerError:
        return False
    return principal is not None and principal.id == actor_of(request).id


class _Recheck:
    """Asks ``still_allowed()`` when the log moved (``now=True``) or RECHECK_SECONDS after
    the last asking."""

    def __init__(self, still_allowed: Allowed) -> None:
        self.still_allowed = still_allowed
        self.next = asyncio.get_running_loop().time() + RECHECK_SECONDS

    async def ended(self, now: bool = False) -> bool:
        """Whether access ended (asked only when due)."""
        clock = asyncio.get_running_loop().time()
        if not now and clock < self.next:
            return False
        self.next = clock + RECHECK_SECONDS
        return not await self.still_allowed()


def _without_position(board: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in board.items() if k != "position"}


Allowed = Callable[[], Awaitable[bool]]


@contextlib.contextmanager
def _quiet_when_gone(request: web.Request) -> Iterator[None]:
    """A client that goes away (a browser leaving a live page) ends its stream quietly:
    that is how every stream ends, not an error to log."""
    try:
        yield
    except ConnectionResetError:
        log.debug("the client of %s went away", request.path)


@table.route("GET", "/v1/boards/departures/{departure_id}/events",
             "A departure's board, live (Server-Sent Events)", produces=EVENT_STREAM,
             tag="boards", headers=("Last-Event-ID",))
async def departure_board_events(request: web.Request) -> web.StreamResponse:
    """``event: board``, ``id``: the log position, ``data``: the board (as its GET)."""
    return await stream_departure_board(request, actor_of(request),
                                        path_uuid(request, "departure_id"),
                                        lambda: _still_allowed(request))


async def stream_departure_board(request: web.Request, actor: Actor, departure_id: UUID,
                                 still_allowed: Allowed) -> web.StreamResponse:
    """The case's board as ``actor`` reads it, sent whenever it changes, while
    ``still_allowed()`` (asked before each event); the console's live page too."""
    runtime = request.app[RUNTIME]

    async def read() -> dict[str, Any]:
        return await bq.departure_board(runtime.ledger, runtime.projections, actor,
                                        departure_id, moments(request),
                                        principals=runtime.principals)

    board = await read()  # refused (404) before anything streams
    last = _last_event_id(request)
    events = EventSourceResponse()
    with _quiet_when_gone(request):
        await events.prepare(request)
        async with events:
            sent: dict[str, Any] | None = None
            if last is None or last < board["position"]:
                await events.send(orjson.dumps(board).decode(), id=str(board["position"]),
                                  event="board")
                sent = _without_position(board)
            position = board["position"]
            ends = asyncio.get_running_loop().time() + MAX_STREAM_SECONDS
            access = _Recheck(still_allowed)
            while events.is_connected() and asyncio.get_running_loop().time() < ends:
                await asyncio.sleep(POLL_SECONDS)
                if (await bq.board_position(runtime.projections)).position == position:
                    if await access.ended():
                        break
                    continue
                if await access.ended(now=True):
                    break
                try:
                    board = await read()
                except LedgerError:
                    break
                position = board["position"]
                if _without_position(board) != sent:
                    await events.send(orjson.dumps(board).decode(), id=str(position),
                                      event="board")
                    sent = _without_position(board)
    return events


@table.route("GET", "/v1/boards/hr/events",
             "The HR dashboard's changes, live (Server-Sent Events)", produces=EVENT_STREAM,
             headers=("Last-Event-ID",), query=(("min_position", "position"),))
async def hr_dashboard_events(request: web.Request) -> web.StreamResponse:
    """``event: changed``, ``id``: the log position, ``data``: ``{"position", "departures"}``
    (the ids of the cases that changed since the previous event, or since
    ``Last-Event-ID``; without it the first event comes with the next change)."""
    return await stream_hr_changes(request, actor_of(request), await min_position(request),
                                   lambda: _still_allowed(request))


async def stream_hr_changes(request: web.Request, actor: Actor, wait: bq.Wait,
                            still_allowed: Allowed) -> web.StreamResponse:
    """The ids of the cases ``actor`` (an overseer) sees change, from the board's position
    (after ``wait``) on, while ``still_allowed()``; the console's live dashboard too."""
    runtime = request.app[RUNTIME]
    start = (await bq.board_position(runtime.projections, wait)).position
    position = _last_event_id(request)
    await bq.changed_cases(runtime.projections, actor, start, start)  # refuses non-overseers
    events = EventSourceResponse()
    with _quiet_when_gone(request):
        await events.prepare(request)
        async with events:
            position = start if position is None else min(position, start)
            ends = asyncio.get_running_loop().time() + MAX_STREAM_SECONDS
            access = _Recheck(still_allowed)
            while events.is_connected() and asyncio.get_running_loop().time() < ends:
                now = (await bq.board_position(runtime.projections)).position
                if await access.ended(now=now > position):
                    break
                if now > position:
                    changed = await bq.changed_cases(runtime.projections, actor, position, now)
                    if changed:
                        await events.send(orjson.dumps({"position": now,
                                                        "departures": changed}).decode(),
                                          id=str(now), event="changed")
                    position = now
                await asyncio.sleep(POLL_SECONDS)
    return events
