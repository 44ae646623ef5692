"""The console's session cookie: start a session for a principal, find it on each request,
end it; and what a page requires of the session (web.keys holds what was found)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from aiohttp import web

from api.access_log import PRINCIPAL_ID
from api.header import escaped_header
from api.problem import REQUEST_ID
from api.runtime_key import RUNTIME
from ledger.principals import Principal
from ledger.service.context import Actor, RequestContext
from ledger.sessions import hash_session_secret, new_session_secret
from ledger.sign_in_link import privileged_roles
from web.keys import ACTOR, CONTEXT, SECRET, SESSION, SESSIONS

SESSION_COOKIE = "hl_session"
COOKIE_PATH = "/console"
SIGN_IN = "/console/sign-in"
HOME = "/console/"
MAX_SECRET_LENGTH = 100


def over_tls(request: web.Request) -> bool:
    """Whether the browser reaches us over TLS: the request came so, or the service's public
    address (LEDGER_PUBLIC_URL) is https (a TLS proxy in front speaks plain HTTP to us)."""
    runtime = request.app.get(RUNTIME)
    public = runtime.settings.public_url if runtime is not None else None
    return request.secure or (isinstance(public, str)
                              and public.lower().startswith("https://"))


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str,
               max_age: int | None = None) -> None:
    """A console cookie: HttpOnly, SameSite=Strict, Path=/console, Secure over TLS
    (``over_tls``)."""
    response.set_cookie(name, value, path=COOKIE_PATH, httponly=True, samesite="Strict",
                        secure=over_tls(request), max_age=max_age)


def is_live_feed(path: str) -> bool:
    """Whether ``path`` is a live feed (SSE): an open tab's feed never keeps its session
    alive (only what the person does does), so it reads the session without marking it seen."""
    return path == "/console/live/hr" or (path.startswith("/console/departures/")
                                          and path.endswith("/events"))


async def load_session(request: web.Request) -> None:
    """Find the live session the cookie names (marking it seen) and build its actor exactly
    as the API does (principal.act_as(role)) and its request context."""
    secret = request.cookies.get(SESSION_COOKIE, "")
    if not secret or len(secret) > MAX_SECRET_LENGTH or not secret.isascii():
        return
    runtime = request.app[RUNTIME]
    found = await request.app[SESSIONS].touch_session(
        hash_session_secret(secret), runtime.ledger.clock(), runtime.settings.console_idle_timeout,
        touch=not is_live_feed(request.path))
    if found is None or (found.method != "token" and privileged_roles((found.role,))):
        return  # a link's session never acts in a privileged role, however it came to
    request[SESSION] = found
    request[SECRET] = secret
    request[ACTOR] = found.principal.act_as(found.role)
    request[PRINCIPAL_ID] = found.principal.id
    request[CONTEXT] = RequestContext(
        request_id=request.get(REQUEST_ID), ip=request.remote,
        user_agent=escaped_header(request.headers.get("User-Agent", ""), 300) or None,
        auth="session" if found.method == "token" else found.method)


async def start_session(request: web.Request, principal: Principal, role: str | None = None,
                        method: str = "link", next_path: str = HOME,
                        token_hash: bytes | None = None) -> web.Response:
    """Sign ``principal`` in (acting as ``role``, by default its first; ``method`` is how it
    proved who it is: "token", with the ``token_hash`` the session then depends on, or
    "link") and return the redirect that carries the new session's cookie: to
    ``next_path``, or first to the role choice when it has several roles and none was asked.
    A session this browser already had ends. A one-time link's redemption calls
    ``start_session(request, principal, role, method="link")`` once the link is spent."""
    chosen = principal.act_as(role).role  # ForbiddenError for a role it does not hold
    runtime = request.app[RUNTIME]
    now = runtime.ledger.clock()
    if SECRET in request:
        await request.app[SESSIONS].delete_session(hash_session_secret(request[SECRET]))
    secret, stored = new_session_secret()
    await request.app[SESSIONS].add_session(
        stored, principal.id, chosen, method, now,
        now + runtime.settings.console_session_lifetime, token_hash)
    target = safe_next(next_path)
    if role is None and len(principal.roles) > 1:
        target = f"/console/role?next={quote(target)}"
    response = see_other(target)
    set_cookie(request, response, SESSION_COOKIE, secret)
    response.del_cookie("hl_pre", path=COOKIE_PATH)
    return response


async def end_session(request: web.Request, response: web.StreamResponse) -> None:
    """Sign out: delete the session's row and its cookie."""
    secret = request.get(SECRET)
    if secret is not None:
        await request.app[SESSIONS].delete_session(hash_session_secret(secret))
    response.del_cookie(SESSION_COOKIE, path=COOKIE_PATH)


def see_other(location: str) -> web.Response:
    """A 303 to ``location`` (POST-redirect-GET), returned so cookies can be set on it."""
    return web.Response(status=303, headers={"Location": location})


def signed_in(request: web.Request) -> Actor:
    """The actor of a page that needs a session; without one a GET goes to the sign-in page
    (and comes back), anything else is refused."""
    if ACTOR not in request:
        if request.method == "GET":
            raise web.HTTPSeeOther(f"{SIGN_IN}?next={quote(request.path_qs)}")
        raise web.HTTPForbidden()
    return request[ACTOR]


def require_role(request: web.Request, *roles: str) -> Actor:
    """The actor, when it acts in one of ``roles``; otherwise 404 like a page that does not
    exist (a refusal reveals nothing). The use cases still check their own rules."""
    actor = signed_in(request)
    if actor.role not in roles:
        raise web.HTTPNotFound()
    return actor


def session_expires(request: web.Request) -> dt.datetime | None:
    """When the current session ends at the latest."""
    found = request.get(SESSION)
    return found.expires_at if found is not None else None


def safe_next(path: str | None) -> str:
    """A redirect target inside the console, never another site."""
    if (not path or not path.startswith("/console/") or "//" in path or "\\" in path
            or any(ord(c) < 33 for c in path)):
        return HOME
    return path
