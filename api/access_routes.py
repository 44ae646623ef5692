"""Access that ends, over HTTP: list and revoke tokens and keys, deactivate a principal, and
read who did which of these when (operators; a principal for their own tokens, keys and
history). Refusals come before lookups, so they reveal nothing about what exists."""

from __future__ import annotations

import base64
import datetime as dt

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from api.auth import actor_of
from api.endpoint import EndpointTable
from api.idempotent import IDEMPOTENCY_HEADER, idempotent
from api.runtime_key import RUNTIME
from api.views import ok
from ledger.entry import format_time
from ledger.service import principal_cases as p

table = EndpointTable()
PRINCIPAL = "/v1/principals/{principal_id}"


class View(BaseModel):
    """Frozen response model."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class TokenInfoView(View):
    """A token as listed: never its secret or hash. ``active``: it still authenticates."""

    token_id: str
    label: str
    created_at: str
    expires_at: str
    revoked: bool
    active: bool


class TokenList(View):
    """A principal's tokens, oldest first."""

    principal_id: str
    tokens: list[TokenInfoView]


class Revoked(View):
    """The outcome of a revocation: ``revoked`` is false if it had been revoked already."""

    principal_id: str
    id: str
    revoked: bool


class Deactivated(View):
    """A deactivated principal and how many of its tokens this revoked."""

    principal_id: str
    active: bool
    tokens_revoked: int


class KeyInfoView(View):
    """A registered Ed25519 public key (base64)."""

    key_id: str
    public_key: str
    created_at: str
    revoked: bool


class KeyList(View):
    """A principal's signing keys, oldest first."""

    principal_id: str
    keys: list[KeyInfoView]


class HistoryEntryView(View):
    """One recorded act on a principal's access."""

    seq: int
    action: str
    subject: str | None
    actor_id: str
    actor_role: str
    at: str
    method: str | None = None


class History(View):
    """What was done to a principal's access, in order."""

    principal_id: str
    entries: list[HistoryEntryView]


@table.route("GET", PRINCIPAL + "/tokens",
             "List a principal's tokens, without secrets (operator, or the principal)",
             response=TokenList)
async def list_tokens(request: web.Request) -> web.Response:
    """Tokens with their ids, labels, expiry and state."""
    principal_id = request.match_info["principal_id"]
    tokens = await p.list_tokens(request.app[RUNTIME].principals, actor_of(request),
                                 principal_id)
    now = dt.datetime.now(dt.UTC)
    return ok(TokenList(principal_id=principal_id, tokens=[TokenInfoView(
        token_id=t.token_id, label=t.label, created_at=format_time(t.created_at),
        expires_at=format_time(t.expires_at), revoked=t.revoked, active=t.active_at(now))
        for t in tokens]))


@table.route("DELETE", PRINCIPAL + "/tokens/{token_id}",
             "Revoke one token (operator, or the principal)", response=Revoked)
async def revoke_token(request: web.Request) -> web.Response:
    """The token stops authenticating at once."""
    principal_id, token_id = request.match_info["principal_id"], request.match_info["token_id"]
    revoked = await p.revoke_token(request.app[RUNTIME].principals, actor_of(request),
                                   principal_id, token_id)
    return ok(Revoked(principal_id=principal_id, id=token_id, revoked=revoked))


@table.route("POST", PRINCIPAL + "/deactivate",
             "Deactivate a principal: every token stops at once (operator)",
             response=Deactivated, headers=(IDEMPOTENCY_HEADER,))
@idempotent()
async def deactivate_principal(request: web.Request) -> web.Response:
    """The principal can no longer act; its tokens are revoked."""
    principal_id = request.match_info["principal_id"]
    revoked = await p.deactivate_principal(request.app[RUNTIME].principals, actor_of(request),
                                           principal_id)
    return ok(Deactivated(principal_id=principal_id, active=False, tokens_revoked=revoked))


@table.route("GET", PRINCIPAL + "/keys",
             "List a principal's signing keys (operator, or the principal)", response=KeyList)
async def list_keys(request: web.Request) -> web.Response:
    """Registered Ed25519 public keys, revoked ones marked."""
    principal_id = request.match_info["principal_id"]
    keys = await p.list_keys(request.app[RUNTIME].principals, actor_of(request), principal_id)
    return ok(KeyList(principal_id=principal_id, keys=[KeyInfoView(
        key_id=k.key_id, public_key=base64.b64encode(k.public_key).decode(),
        created_at=format_time(k.created_at), revoked=k.revoked) for k in keys]))


@table.route("DELETE", PRINCIPAL + "/keys/{key_id}",
             "Revoke a signing key (its owner, or an operator)", response=Revoked)
async def revoke_key(request: web.Request) -> web.Response:
    """The key verifies no new confirmation; old ones stay recorded with it."""
    principal_id, key_id = request.match_info["principal_id"], request.match_info["key_id"]
    revoked = await p.revoke_key(request.app[RUNTIME].principals, actor_of(request),
                                 principal_id, key_id)
    return ok(Revoked(principal_id=principal_id, id=key_id, revoked=revoked))


@table.route("GET", PRINCIPAL + "/history",
             "Who issued, revoked or deactivated what for a principal, and when "
             "(operator, or the principal)", response=History)
async def get_principal_history(request: web.Request) -> web.Response:
    """The append-only record of acts on the principal's access."""
    principal_id = request.match_info["principal_id"]
    entries = await p.principal_history(request.app[RUNTIME].principals, actor_of(request),
                                        principal_id)
    return ok(History(principal_id=principal_id, entries=[HistoryEntryView(
        seq=e.seq, action=e.action, subject=e.subject, actor_id=e.actor_id,
        actor_role=e.actor_role, at=format_time(e.at), method=e.method) for e in entries]))
