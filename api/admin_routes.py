"""Principals, tokens and signature keys over HTTP: creating them (operators; a signing key
only by its owner). Listing, revoking, deactivating and the history are in access_routes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from api.auth import actor_of, context_of
from api.body import read_object
from api.endpoint import EndpointTable
from api.idempotent import IDEMPOTENCY_HEADER, idempotent
from api.runtime_key import RUNTIME
from api.views import ok
from ledger.entry import format_time
from ledger.service import principal_cases as p
from ledger.service.commands import Id, Label, Name

table = EndpointTable()


class Request(BaseModel):
    """Strict request body."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class NewPrincipal(Request):
    """A principal to create."""

    id: Id
    name: Name
    roles: list[Annotated[str, StringConstraints(max_length=20)]] = Field(min_length=1,
                                                                          max_length=9)


class PrincipalView(Request):
    """A principal."""

    id: str
    name: str
    roles: list[str]
    active: bool = True


class TokenRequest(Request):
    """What to label a new token with, and optionally a lifetime shorter than the
    deployment's (LEDGER_TOKEN_TTL_DAYS, 90 days by default)."""

    label: Label = "api"
    expires_in_days: Annotated[StrictInt, Field(ge=1, le=3650)] | None = None


class TokenView(Request):
    """A new token: shown once, never again (an idempotent replay answers ``null``); its
    ``token_id`` is how it is listed and revoked."""

    principal_id: str
    token: str | None
    token_id: str
    expires_at: str


class KeyRequest(Request):
    """An Ed25519 public key, base64."""

    public_key: Annotated[str, StringConstraints(max_length=100)]


class KeyView(Request):
    """A registered key."""

    principal_id: str
    key_id: str


@table.route("POST", "/v1/principals", "Create a principal (operator)", body=NewPrincipal,
             response=PrincipalView, status=201, headers=(IDEMPOTENCY_HEADER,))
@idempotent()
async def create_principal(request: web.Request) -> web.Response:
    """Create a principal."""
    body = NewPrincipal.model_validate(await read_object(request))
    created = await p.create_principal(request.app[RUNTIME].principals, actor_of(request),
                                       body.id, body.name, body.roles)
    view = PrincipalView(id=created.id, name=created.name, roles=list(created.roles),
                         active=created.active)
    return ok(view, status=201)


@table.route("POST", "/v1/principals/{principal_id}/tokens", "Issue a token (operator)",
             body=TokenRequest, response=TokenView, status=201, headers=(IDEMPOTENCY_HEADER,))
@idempotent(redact=("token",))
async def issue_token(request: web.Request) -> web.Response:
    """Issue a bearer token, returned once."""
    body = TokenRequest.model_validate(await read_object(request))
    principal_id = request.match_info["principal_id"]
    runtime = request.app[RUNTIME]
    expires_in = (dt.timedelta(days=body.expires_in_days) if body.expires_in_days is not None
                  else None)
    token, info = await p.grant_token(runtime.principals, actor_of(request), principal_id,
                                      body.label, expires_in=expires_in,
                                      max_ttl=runtime.settings.token_ttl)
    response = ok(TokenView(principal_id=principal_id, token=token, token_id=info.token_id,
                            expires_at=format_time(info.expires_at)), status=201)
    response.headers["Cache-Control"] = "no-store"
    return response


@table.route("POST", "/v1/principals/{principal_id}/keys",
             "Register one's own Ed25519 signing key (only its owner)", body=KeyRequest,
             response=KeyView, status=201, headers=(IDEMPOTENCY_HEADER,))
@idempotent()
async def register_key(request: web.Request) -> web.Response:
    """Register a public key for strong confirmations."""
    body = KeyRequest.model_validate(await read_object(request))
    principal_id = request.match_info["principal_id"]
    key_id = await p.register_key(request.app[RUNTIME].principals, actor_of(request),
                                  principal_id, body.public_key,
                                  method=context_of(request).auth or "bearer")
    return ok(KeyView(principal_id=principal_id, key_id=key_id), status=201)
