"""One log line and one metrics observation per HTTP request, and its request id.

The line names the route *template* (``/console/sign-in/link/{secret}``), never the path: a
path can carry a secret (a sign-in link). It never holds a header value either (tokens travel
in Authorization and cookies). A client's ``X-Request-Id`` is kept when it is a sane id
(``REQUEST_ID``: 1 to 128 characters of letters, digits and ``._:-``); anything else is
replaced by a fresh one, which the response echoes and the request's events record.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid

from aiohttp import web

from api.endpoint import Handler
from api.problem import REQUEST_ID, route_of
from api.runtime_key import RUNTIME
from ledger.log_format import fields

log = logging.getLogger("ledger.http")
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")
# Who made the request, once known: set by the API's bearer authentication and the console's
# session (a principal id, never a credential).
PRINCIPAL_ID = web.RequestKey("principal_id", str)


def request_id_for(given: str | None) -> str:
    """The client's request id when sane, else a fresh one."""
    if given is not None and REQUEST_ID_PATTERN.fullmatch(given):
        return given
    return uuid.uuid4().hex


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: give the request its id, time it, then log and count it."""
    request[REQUEST_ID] = request_id_for(request.headers.get("X-Request-Id"))
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as e:  # a redirect raised by a console page
        status = e.status
        raise
    except (asyncio.CancelledError, ConnectionResetError):
        status = 499  # the client went away first (nginx's code for it)
        raise
    finally:
        _record(request, status, time.perf_counter() - started)


async def request_id_header(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer echoes its request's id (streamed ones too: set as headers are sent)."""
    if (request_id := request.get(REQUEST_ID)) is not None:
        response.headers["X-Request-Id"] = request_id


def _record(request: web.Request, status: int, seconds: float) -> None:
    route = route_of(request)
    request.config_dict[RUNTIME].metrics.observe_request(request.method, route, status,
                                                         seconds)
    log.info("%s %s %d", request.method, route, status, extra=fields(
        method=request.method, route=route, status=status,
        duration_ms=round(seconds * 1000, 1), request_id=request[REQUEST_ID],
        principal_id=request.get(PRINCIPAL_ID)))
