"""The console's middleware: language, session, CSRF (synchronizer token and Origin), and
the headers every console response carries. A refused request learns nothing: 403 with no
reason, before any use case runs."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import TypeVar

from aiohttp import BodyPartReader, MultipartReader, web

from api.endpoint import Handler
from ledger.sessions import csrf_token_for
from web.i18n import LANG_COOKIE, choose_language
from web.keys import LOCALE, SECRET
from web.session import load_session, set_cookie

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "object-src 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
           "Cross-Origin-Opener-Policy": "same-origin"}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
PRE_COOKIE = "hl_pre"  # a pre-session secret: the CSRF token of forms shown before sign-in
NEW_PRE = web.RequestKey("console_new_pre", str)
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
STATIC = "/console/static/"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
STREAMED = "_console_streamed_form"
H = TypeVar("H", bound=Callable[..., object])


def streamed_form(handler: H) -> H:
    """Mark a handler that reads its multipart body as a stream (``form_stream``, or
    web.streamed_form.read_streamed_form on top of it): the middleware then leaves the body
    unread (no 1 MiB form buffer, files of any size the API takes) and the handler checks the
    ``csrf`` field, which must come first, before it reads any other part."""
    setattr(handler, STREAMED, True)
    return handler


def _presented_ok(request: web.Request, presented: str | None) -> bool:
    secret = request.get(SECRET) or request.cookies.get(PRE_COOKIE)
    return bool(secret) and len(secret or "") <= 100 and presented is not None and (
        hmac.compare_digest(presented.encode(), csrf_token_for(secret or "").encode()))


async def form_stream(request: web.Request) -> MultipartReader:
    """The multipart body of a ``streamed_form`` handler, past its CSRF check: the token was
    in the X-CSRF-Token header (checked by the middleware), or is the first part, ``csrf``
    (checked here; 403 otherwise, before any other part is read)."""
    try:
        reader = await request.multipart()
        if CSRF_HEADER in request.headers:
            return reader
        part = await reader.next()
        value = None
        if isinstance(part, BodyPartReader) and part.name == CSRF_FIELD:
            data = await part.read_chunk(200)  # a token is 64 hex digits: read no more
            value = data.decode("ascii") if part.at_eof() else None
    except (ValueError, LookupError, UnicodeError, AssertionError) as e:
        raise web.HTTPForbidden() from e
    if not _presented_ok(request, value):
        raise web.HTTPForbidden()
    return reader


def csrf_token(request: web.Request) -> str:
    """The token every POST form of this page carries (hidden field ``csrf``): the session's,
    or before sign-in a pre-session one (its cookie is set with the response)."""
    secret = request.get(SECRET) or request.cookies.get(PRE_COOKIE) or request.get(NEW_PRE)
    if not secret or len(secret) > 100:
        secret = secrets.token_urlsafe(32)
        request[NEW_PRE] = secret
    return csrf_token_for(secret)


async def _check_csrf(request: web.Request, streamed: bool = False) -> None:
    # Our own Referrer-Policy (no-referrer) makes browsers send "Origin: null" on our own
    # forms: then Fetch Metadata says where the request came from, when the browser sends it.
    origin = request.headers.get("Origin")
    if origin == "null":
        if request.headers.get("Sec-Fetch-Site", "same-origin") != "same-origin":
            raise web.HTTPForbidden()
    elif origin is not None and origin != f"{request.scheme}://{request.host}":
        raise web.HTTPForbidden()
    secret = request.get(SECRET) or request.cookies.get(PRE_COOKIE)
    presented = request.headers.get(CSRF_HEADER)
    if streamed and presented is None and request.content_type == "multipart/form-data":
        if not secret or len(secret) > 100:
            raise web.HTTPForbidden()
        return  # the handler reads the token from the stream (form_stream)
    if presented is None and request.content_type in FORM_TYPES:
        # aiohttp keeps the parsed form: the handler's own request.post() reads it again
        field = (await request.post()).get(CSRF_FIELD)
        presented = field if isinstance(field, str) else None
    if not _presented_ok(request, presented):
        raise web.HTTPForbidden()


@web.middleware
async def console_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Language, session and CSRF for every console request."""
    if request.path.startswith(STATIC) and request.method in SAFE_METHODS:
        return await handler(request)  # the assets: the same for everyone, no session read
    request[LOCALE] = choose_language(request.cookies.get(LANG_COOKIE),
                                      request.headers.get("Accept-Language"))
    await load_session(request)
    from web.render import render_problem, render_refusal

    try:
        if request.method not in SAFE_METHODS:
            await _check_csrf(request, getattr(request.match_info.handler, STREAMED, False))
        response = await handler(request)
    except (web.HTTPForbidden, web.HTTPNotFound) as e:
        response = render_refusal(request, e.status)
    except web.HTTPException:
        raise
    except Exception as e:  # a use case's refusal, or a failure (logged under an error id)
        response = render_problem(request, e)
    if NEW_PRE in request:
        set_cookie(request, response, PRE_COOKIE, request[NEW_PRE])
    return response


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """CSP and the other headers on every console response (errors and assets too); pages
    and every answer but the assets are never stored."""
    response.headers.update(HEADERS)
    if not request.path.startswith(STATIC):
        response.headers["Cache-Control"] = "no-store"
