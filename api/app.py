"""The aiohttp application: routes, middleware and limits over the services of a process
(the background workers run beside it: ``ledger serve`` starts and stops them)."""

from __future__ import annotations

import functools
import json

from aiohttp import web
from aiohttp import web_response as aiohttp_web_response

from api import (
    access_routes,
    admin_routes,
    batch_routes,
    board_routes,
    bundle_routes,
    case_routes,
    command_routes,
    dispute_routes,
    live_routes,
    log_routes,
    metrics_routes,
    query_routes,
    sign_in_link_routes,
    timestamp_routes,
    upload_routes,
    webhook_routes,
)
from api.access_log import access_middleware, request_id_header
from api.auth import AUTH_LIMITER, PRINCIPALS, PUBLIC_PATHS, SCRAPE_TOKEN, auth_middleware
from api.endpoint import Endpoint
from api.openapi import build_openapi
from api.problem import problem_middleware
from api.ratelimit import SharedAuthFailureLimiter
from api.read_after import read_after_middleware
from api.runtime_key import RUNTIME, Services
from ledger.principals import hash_token

MAX_BODY_BYTES = 1 << 20
SERVER_HEADER = "handover-ledger"  # aiohttp's default names Python's and its own versions
TABLES = (command_routes.table, batch_routes.table, query_routes.table, admin_routes.table,
          upload_routes.table, access_routes.table, dispute_routes.table, case_routes.table,
          board_routes.table, live_routes.table, log_routes.table,
          webhook_routes.table, bundle_routes.table, sign_in_link_routes.table,
          metrics_routes.table, timestamp_routes.table)


def endpoints() -> list[Endpoint]:
    """Every declared endpoint."""
    return [e for t in TABLES for e in t.endpoints]


@functools.cache
def _openapi_body() -> bytes:
    # The endpoint tables are fixed at import: build the document (pydantic schemas for every
    # model, ~20 ms) once per process, on first request.
    return json.dumps(build_openapi(endpoints())).encode()


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document."""
    return web.Response(body=_openapi_body(), content_type="application/json")


def build_app(runtime: Services) -> web.Application:
    """The web application over an opened runtime (ledger.bootstrap)."""
    app = web.Application(middlewares=[access_middleware, problem_middleware, auth_middleware,
                                       read_after_middleware],
                          client_max_size=MAX_BODY_BYTES)
    app.on_response_prepare.append(_server_header)
    app.on_response_prepare.append(request_id_header)
    # The answers aiohttp's protocol gives before any application code runs (a malformed
    # request line, a header too long) skip the signal; they take this module default.
    setattr(aiohttp_web_response, "SERVER_SOFTWARE", SERVER_HEADER)  # noqa: B010 (not exported)
    app[RUNTIME] = runtime
    app[PRINCIPALS] = runtime.principals
    app[AUTH_LIMITER] = SharedAuthFailureLimiter(
        runtime.auth_failures, runtime.settings.auth_failure_limit,
        runtime.settings.auth_failure_window, on_failure=runtime.metrics.failed_authentication)
    scrape = runtime.settings.metrics_token
    app[SCRAPE_TOKEN] = hash_token(scrape.get_secret_value()) if scrape is not None else b""
    app[PUBLIC_PATHS] = {e.path for e in endpoints() if e.public} | {"/openapi.json"}
    app[log_routes.READER] = runtime.reader
    app[log_routes.VERIFIER_KEYS] = [v.vkey for v in runtime.verifiers]
    for table in TABLES:
        table.add_to(app)
    app.router.add_get("/openapi.json", openapi)
    return app


async def _server_header(request: web.Request, response: web.StreamResponse) -> None:
    # Runs before aiohttp adds its default Server header, which would advertise versions.
    response.headers["Server"] = SERVER_HEADER
