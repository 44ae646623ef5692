"""Signing in and out: a bearer token (the API's, with the API's failure limiter), the role
choice for a principal with several, sign-out, and the language switch."""

from __future__ import annotations

from aiohttp import web

from api.auth import AUTH_LIMITER, MAX_TOKEN_LENGTH
from api.ratelimit import client_key
from api.runtime_key import RUNTIME
from ledger.errors import RateLimitedError
from ledger.principals import hash_token
from ledger.sessions import ConsoleSession, hash_session_secret
from ledger.sign_in_link import privileged_roles
from web.i18n import LANG_COOKIE, LANGUAGES, N_
from web.keys import SECRET, SESSION, SESSIONS
from web.labels import ROLE_LABELS
from web.render import flash, render, translate
from web.session import (
    end_session,
    over_tls,
    safe_next,
    see_other,
    signed_in,
    start_session,
)

routes = web.RouteTableDef()
YEAR = 365 * 24 * 3600


@routes.get("/sign-in")
async def sign_in_form(request: web.Request) -> web.Response:
    """The sign-in form (a token; a leaver's one-time link signs in without it)."""
    return render(request, "sign_in.html", next=safe_next(request.query.get("next")),
                  error=None)


@routes.post("/sign-in")
async def sign_in(request: web.Request) -> web.StreamResponse:
    """Exchange a bearer token for a session; failures count as the API's do."""
    form = await request.post()
    token, target = str(form.get("token", "")).strip(), safe_next(str(form.get("next", "")))
    limiter, address = request.config_dict[AUTH_LIMITER], client_key(request.remote or "")
    principal, token_hash = None, hash_token(token)
    try:
        async with limiter.attempt(address):
            if 0 < len(token) <= MAX_TOKEN_LENGTH and token.isascii() and token.isprintable():
                principal = await request.app[RUNTIME].principals.principal_for_token(
                    token_hash)
            if principal is None:
                await limiter.record_failure(address)
    except RateLimitedError:
        return render(request, "sign_in.html", status=429, next=target, error=translate(
            request, N_("Too many failed sign-ins from this address; try again later.")))
    if principal is None:
        return render(request, "sign_in.html", status=401, next=target, error=translate(
            request, N_("That token is unknown, expired or revoked.")))
    return await start_session(request, principal, method="token", next_path=target,
                               token_hash=token_hash)


@routes.get("/role")
async def role_form(request: web.Request) -> web.Response:
    """Choose the role to act in, for a principal with several."""
    signed_in(request)
    return render(request, "choose_role.html", roles=_choosable(request[SESSION]),
                  next=safe_next(request.query.get("next")))


def _choosable(session: ConsoleSession) -> tuple[str, ...]:
    """The roles this session may act in: a session a one-time link opened keeps its
    origin, and never switches into a privileged role (sign_in_link.PRIVILEGED_ROLES), even
    one its principal gained since; those sign in with their own token."""
    if session.method == "token":
        return session.principal.roles
    return tuple(r for r in session.principal.roles if not privileged_roles((r,)))


@routes.post("/role")
async def choose_role(request: web.Request) -> web.StreamResponse:
    """Act in another of the principal's roles from the next page on."""
    signed_in(request)
    form = await request.post()
    role = str(form.get("role", ""))
    if role not in _choosable(request[SESSION]):
        raise web.HTTPForbidden()
    await request.app[SESSIONS].set_role(hash_session_secret(request[SECRET]), role)
    response = see_other(safe_next(str(form.get("next", ""))))
    flash(request, response, N_("You now act as %(role)s."),
          role=translate(request, ROLE_LABELS[role]))
    return response


@routes.post("/sign-out")
async def sign_out(request: web.Request) -> web.StreamResponse:
    """End the session (its row is deleted: the cookie alone no longer signs anyone in)."""
    response = see_other("/console/sign-in")
    await end_session(request, response)
    flash(request, response, N_("You have signed out."))
    return response


@routes.get("/lang/{lang}")
async def switch_language(request: web.Request) -> web.StreamResponse:
    """Remember the chosen language (the ``lang`` cookie) and go back."""
    lang = request.match_info["lang"]
    if lang not in LANGUAGES:
        raise web.HTTPNotFound()
    response = see_other(safe_next(request.query.get("next")))
    response.set_cookie(LANG_COOKIE, lang, path="/console", max_age=YEAR, samesite="Strict",
                        secure=over_tls(request), httponly=True)
    return response
