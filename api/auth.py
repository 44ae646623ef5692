"""Bearer-token authentication and the request context recorded in every event."""

from __future__ import annotations

import hmac

from aiohttp import web

from api.access_log import PRINCIPAL_ID
from api.endpoint import Handler
from api.header import escaped_header
from api.problem import REQUEST_ID
from api.ratelimit import SharedAuthFailureLimiter, client_key
from ledger.errors import UnauthenticatedError
from ledger.principals import hash_token
from ledger.service.context import Actor, RequestContext
from ledger.store.principal_port import PrincipalStore

PRINCIPALS = web.AppKey("principals", PrincipalStore)
PUBLIC_PATHS = web.AppKey("public_paths", set[str])
AUTH_LIMITER = web.AppKey("auth_limiter", SharedAuthFailureLimiter)
# Path prefixes served by a part of the app that authenticates on its own (the web console,
# mounted beside the API by web.site): no bearer token is asked for there.
OWN_AUTH_PREFIXES = web.AppKey("own_auth_prefixes", tuple[str, ...])
ACTOR = web.RequestKey("actor", Actor)
CONTEXT = web.RequestKey("context", RequestContext)
# The SHA-256 of LEDGER_METRICS_TOKEN (empty: none): it authenticates GET /metrics only.
SCRAPE_TOKEN = web.AppKey("scrape_token", bytes)
SCRAPE_PATH = "/metrics"
SCRAPING = web.RequestKey("scraping", bool)
ROLE_HEADER = "X-Ledger-Role"
MAX_TOKEN_LENGTH = 200


def _is_scrape_token(app: web.Application, token: str) -> bool:
    expected = app.get(SCRAPE_TOKEN, b"")
    return bool(expected) and hmac.compare_digest(hash_token(token), expected)


def actor_of(request: web.Request) -> Actor:
    """The authenticated actor (precondition: the route is not public)."""
    return request[ACTOR]


def context_of(request: web.Request) -> RequestContext:
    """Request id, client IP, user agent and authentication method of this request."""
    return request[CONTEXT]


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve the bearer token to a principal acting in one of its roles."""
    request_id = request[REQUEST_ID]
    resource = request.match_info.route.resource
    canonical = resource.canonical if resource is not None else request.path
    if (canonical in request.app[PUBLIC_PATHS] or request.path.startswith(("/log/", "/v1/log/"))
            or request.path.startswith(request.config_dict.get(OWN_AUTH_PREFIXES, ()))):
        return await handler(request)
    presented = request.headers.get("Authorization")
    if presented is None:
        raise UnauthenticatedError("a bearer token is required")
    # Any credentials presented count: a limited address is refused before the lookup.
    limiter, address = request.app[AUTH_LIMITER], client_key(request.remote or "")
    async with limiter.attempt(address):
        scheme, _, token = presented.partition(" ")
        token = token.strip()
        # Our tokens are printable ASCII: anything else (bytes that are not UTF-8 arrive as
        # surrogates) is a failed attempt like any other, counted and answered 401.
        if (scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH
                or not (token.isascii() and token.isprintable())):
            await limiter.record_failure(address)
            raise UnauthenticatedError("a bearer token is required")
        scraping = canonical == SCRAPE_PATH and _is_scrape_token(request.app, token)
        principal = (None if scraping else
                     await request.app[PRINCIPALS].principal_for_token(hash_token(token)))
        if principal is None and not scraping:  # unknown, revoked, expired, or deactivated
            await limiter.record_failure(address)
            raise UnauthenticatedError("unknown or revoked token")
    if principal is None:  # the scrape token: it opens /metrics and nothing else
        request[SCRAPING] = True
        return await handler(request)
    request[ACTOR] = principal.act_as(request.headers.get(ROLE_HEADER))
    request[PRINCIPAL_ID] = principal.id
    request[CONTEXT] = RequestContext(
        request_id=request_id, ip=request.remote,
        user_agent=escaped_header(request.headers.get("User-Agent", ""), 300) or None,
        auth="bearer")
    return await handler(request)
