"""One-time sign-in links over HTTP: HR (for people in the cases they run) or an operator
issues one, shown once as the address to send; the links of a principal are listed (never
their secrets) and revoked. The use cases decide who may (ledger.service.sign_in_link_cases);
``redeem_link`` is what the console's sign-in page calls to spend one."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from api.auth import AUTH_LIMITER, actor_of
from api.body import read_object
from api.endpoint import EndpointTable
from api.header import escaped_header
from api.idempotent import IDEMPOTENCY_HEADER, idempotent
from api.problem import REQUEST_ID
from api.ratelimit import client_key
from api.runtime_key import RUNTIME, Services
from api.views import ok
from ledger.entry import format_time
from ledger.errors import UnauthenticatedError
from ledger.principals import Principal
from ledger.projections.case_index import BoardCaseIndex
from ledger.service import sign_in_link_cases as links
from ledger.service.context import RequestContext
from ledger.sign_in_link import MAX_LINK_TTL, SignInLinkInfo, sign_in_link_url

table = EndpointTable()
LINKS = "/v1/principals/{principal_id}/sign-in-links"
MOST_MINUTES = int(MAX_LINK_TTL.total_seconds()) // 60


class Model(BaseModel):
    """Frozen, strict model."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class LinkRequest(Model):
    """A lifetime other than the deployment's (LEDGER_SIGN_IN_LINK_MINUTES, 30 by default; at
    most LEDGER_SIGN_IN_LINK_MAX_MINUTES), and the case the link is sent for (HR: without it,
    one of the cases they run that names the principal is found)."""

    expires_in_minutes: Annotated[StrictInt, Field(ge=1, le=MOST_MINUTES)] | None = None
    departure_id: UUID | None = None


class LinkInfoView(Model):
    """A link as listed: never its secret. ``state``: unused, used, revoked or expired."""

    link_id: str
    departure_id: str | None
    issued_by: str
    issued_role: str
    issued_at: str
    expires_at: str
    state: str
    used_at: str | None
    used_ip: str | None
    used_user_agent: str | None


class IssuedLink(Model):
    """A new link: its ``url`` is shown once, never again (an idempotent replay answers
    ``null``); send it to the principal, who opens it to sign in once."""

    principal_id: str
    url: str | None
    link: LinkInfoView


class LinkList(Model):
    """A principal's sign-in links, oldest first."""

    principal_id: str
    links: list[LinkInfoView]


class LinkRevoked(Model):
    """The outcome of a revocation: ``revoked`` is false if it was already used or revoked."""

    principal_id: str
    link_id: str
    revoked: bool


def _view(link: SignInLinkInfo, now: dt.datetime) -> LinkInfoView:
    return LinkInfoView(
        link_id=link.link_id, departure_id=link.departure_id, issued_by=link.issued_by,
        issued_role=link.issued_role, issued_at=format_time(link.issued_at),
        expires_at=format_time(link.expires_at), state=link.state_at(now),
        used_at=format_time(link.used_at) if link.used_at else None, used_ip=link.used_ip,
        used_user_agent=link.used_user_agent)


def _reach(runtime: Services) -> links.Reach:
    return links.Reach(runtime.ledger, BoardCaseIndex(runtime.projections))


def base_url(request: web.Request) -> str:
    """Where people reach this service: LEDGER_PUBLIC_URL, else this request's origin."""
    public = request.app[RUNTIME].settings.public_url
    return public or str(request.url.origin())


@table.route("POST", LINKS, "Issue a one-time sign-in link (HR for people in the cases they "
             "run, or an operator); its URL is shown once", body=LinkRequest,
             response=IssuedLink, status=201, headers=(IDEMPOTENCY_HEADER,))
@idempotent(redact=("url",))
async def issue_sign_in_link(request: web.Request) -> web.Response:
    """A short-lived, single-use link to the console's sign-in page."""
    body = LinkRequest.model_validate(await read_object(request))
    runtime = request.app[RUNTIME]
    settings = runtime.settings
    secret, link = await links.issue_sign_in_link(
        runtime.principals, actor_of(request), request.match_info["principal_id"],
        reach=_reach(runtime), departure_id=body.departure_id,
        expires_in=(dt.timedelta(minutes=body.expires_in_minutes)
                    if body.expires_in_minutes is not None else None),
        lifetime=links.Lifetime(settings.sign_in_link_ttl, settings.sign_in_link_max_ttl))
    response = ok(IssuedLink(principal_id=link.principal_id,
                             url=sign_in_link_url(base_url(request), secret),
                             link=_view(link, link.issued_at)), status=201)
    response.headers["Cache-Control"] = "no-store"
    return response


@table.route("GET", LINKS, "List a principal's sign-in links, without secrets (whoever may "
             "issue them one, or the principal)", response=LinkList)
async def list_sign_in_links(request: web.Request) -> web.Response:
    """Links with who issued them, when they expire, and when and from where each was used."""
    principal_id = request.match_info["principal_id"]
    runtime = request.app[RUNTIME]
    found = await links.list_sign_in_links(runtime.principals, actor_of(request), principal_id,
                                           reach=_reach(runtime))
    now = dt.datetime.now(dt.UTC)
    return ok(LinkList(principal_id=principal_id, links=[_view(k, now) for k in found]))


@table.route("DELETE", LINKS + "/{link_id}", "Revoke an unused sign-in link (whoever may "
             "issue the principal one)", response=LinkRevoked)
async def revoke_sign_in_link(request: web.Request) -> web.Response:
    """The link stops working at once."""
    principal_id, link_id = request.match_info["principal_id"], request.match_info["link_id"]
    runtime = request.app[RUNTIME]
    revoked = await links.revoke_sign_in_link(runtime.principals, actor_of(request),
                                              principal_id, link_id, reach=_reach(runtime))
    return ok(LinkRevoked(principal_id=principal_id, link_id=link_id, revoked=revoked))


async def redeem_link(request: web.Request, secret: str) -> tuple[Principal, RequestContext]:
    """Spend a sign-in link presented to the console (on its POST, never on a GET that a link
    preview could make; from the console's sub-application too): the principal to start a
    session for, and the request's context (auth "link"). A refused link counts as a failed
    authentication of the client's address in the API's limiter, and a limited address is
    refused before the lookup."""
    limiter, address = request.config_dict[AUTH_LIMITER], client_key(request.remote or "")
    context = RequestContext(
        request_id=request.get(REQUEST_ID), ip=request.remote,
        user_agent=escaped_header(request.headers.get("User-Agent", ""), 300) or None,
        auth="link")
    async with limiter.attempt(address):
        try:
            principal = await links.redeem_sign_in_link(
                request.config_dict[RUNTIME].principals, secret, context)
        except UnauthenticatedError:
            await limiter.record_failure(address)
            raise
    return principal, context
