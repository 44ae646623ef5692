"""The whole HTTP site of a process: the API (api.app) with the web console mounted under
/console/. ``ledger serve`` and the test servers build it here, so api/ never imports web/."""

from __future__ import annotations

from aiohttp import web

from api.app import build_app
from api.auth import OWN_AUTH_PREFIXES, PUBLIC_PATHS
from api.runtime_key import RUNTIME
from ledger.runtime import Runtime
from ledger.store.factory import session_store_for
from web import (
    auth_pages,
    dashboard_pages,
    departure_actions,
    departure_links,
    departure_pages,
    link_pages,
    queue_pages,
    report_pages,
    signoff_pages,
    start_pages,
    task_pages,
    verify_pages,
)
from web.i18n import load_catalogues
from web.keys import CATALOGUES, SESSIONS
from web.render import ENVIRONMENTS, build_environments
from web.security import HEADERS, console_middleware, security_headers
from web.static import add_static

CONSOLE = "/console"
# a new area's RouteTableDef here
PAGE_AREAS = (auth_pages.routes, dashboard_pages.routes, link_pages.routes,
              queue_pages.routes, report_pages.routes, verify_pages.routes,
              task_pages.routes, signoff_pages.routes, departure_pages.routes,
              departure_actions.routes, start_pages.routes,
              departure_links.routes)


def build_console(runtime: Runtime) -> web.Application:
    """The console sub-application over an opened runtime (its sessions in the same
    database; its catalogues compiled now)."""
    console = web.Application(middlewares=[console_middleware])
    console[RUNTIME] = runtime
    console[SESSIONS] = session_store_for(runtime.store)
    catalogues = load_catalogues(runtime.settings.time_zone)
    console[CATALOGUES] = catalogues
    console[ENVIRONMENTS] = build_environments(catalogues)
    console.on_response_prepare.append(security_headers)
    for routes in PAGE_AREAS:
        console.add_routes(routes)
    add_static(console)
    return console


async def _to_console(request: web.Request) -> web.StreamResponse:
    """``/`` and ``/console``: to the console, with the headers of every console answer."""
    return web.Response(status=302, headers={**HEADERS, "Location": CONSOLE + "/",
                                             "Cache-Control": "no-store"})


def build_site(runtime: Runtime) -> web.Application:
    """The API app with the console under /console/ and ``/`` redirecting to it."""
    app = build_app(runtime)
    app[OWN_AUTH_PREFIXES] = (CONSOLE + "/",)
    app[PUBLIC_PATHS] |= {"/", CONSOLE}
    app.router.add_get("/", _to_console)
    app.router.add_get(CONSOLE, _to_console)
    app.add_subapp(CONSOLE + "/", build_console(runtime))
    return app
