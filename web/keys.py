"""What the console keeps on its application and on each request."""

from __future__ import annotations

from aiohttp import web

from ledger.service.context import Actor, RequestContext
from ledger.sessions import ConsoleSession
from ledger.store.session_port import SessionStore
from web.i18n import Catalogues

SESSIONS = web.AppKey("console_sessions", SessionStore)
CATALOGUES = web.AppKey("console_catalogues", Catalogues)
SESSION = web.RequestKey("console_session", ConsoleSession)
SECRET = web.RequestKey("console_secret", str)  # the cookie's secret (CSRF token source)
ACTOR = web.RequestKey("console_actor", Actor)
CONTEXT = web.RequestKey("console_context", RequestContext)
LOCALE = web.RequestKey("console_locale", str)


def actor_of(request: web.Request) -> Actor:
    """The signed-in actor (precondition: the page requires a session: web.session.signed_in)."""
    return request[ACTOR]


def context_of(request: web.Request) -> RequestContext:
    """Request id, IP, user agent and how the session was started (auth="session" or the
    link's method), as the API records them."""
    return request[CONTEXT]
