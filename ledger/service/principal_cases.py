"""Managing principals, tokens and signature keys.

Who may do what, and why:
- operators create principals, issue tokens and deactivate principals;
- a principal's tokens are listed and revoked by an operator or the principal itself (so
  someone who lost a laptop can cut its token off without waiting for an operator);
- a signing key is registered only by its owner: a strong confirmation must be provably the
  receiver's own act, which it is not if an operator could have registered a key in their name.
  Keys are revoked by their owner or an operator (a leaked key must be stoppable by either);
- the history of these acts is read by operators and by the principal concerned.
Refusals are decided before any lookup, so a refused caller learns nothing about whether the
principal, token or key exists.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib

from ledger.errors import ForbiddenError, InvalidInputError, NotFoundError
from ledger.principals import (
    DEFAULT_TOKEN_TTL,
    TOKEN_ID_PATTERN,
    HistoryEntry,
    KeyInfo,
    Principal,
    TokenInfo,
    check_principal_id,
    check_roles,
    new_token,
)
from ledger.service.context import Actor
from ledger.service.policy import require_role
from ledger.store.principal_port import PrincipalStore

OPERATORS = ("operator",)
ED25519_PUBLIC_KEY_BYTES = 32
KEY_ID_LENGTH = 16
# How a key's registrant may have signed in (the request context's auth): a bearer token
# (the API, the CLI's system) or a console session opened by one. Never "link".
KEY_METHODS = ("bearer", "session", "system")


def _require_self_or_operator(actor: Actor, principal_id: str, action: str) -> None:
    if actor.id != principal_id and actor.role not in OPERATORS:
        raise ForbiddenError(f"only the principal or an operator may {action}")


async def create_principal(principals: PrincipalStore, actor: Actor, principal_id: str,
                           name: str, roles: list[str]) -> Principal:
    """An operator creates a principal."""
    require_role(actor, OPERATORS, "manage principals")
    principal = Principal(check_principal_id(principal_id), name, check_roles(roles))
    await principals.add_principal(principal)
    return principal


async def issue_token(principals: PrincipalStore, actor: Actor, principal_id: str,
                      label: str, *, max_ttl: dt.timedelta = DEFAULT_TOKEN_TTL) -> str:
    """An operator issues a token of the deployment's lifetime; returns only the secret."""
    token, _ = await grant_token(principals, actor, principal_id, label, max_ttl=max_ttl)
    return token


async def grant_token(principals: PrincipalStore, actor: Actor, principal_id: str,
                      label: str, *, expires_in: dt.timedelta | None = None,
                      max_ttl: dt.timedelta = DEFAULT_TOKEN_TTL,
                      now: dt.datetime | None = None) -> tuple[str, TokenInfo]:
    """An operator issues a token to an active principal, expiring after ``expires_in``
    (at most, and by default, ``max_ttl``: the deployment's LEDGER_TOKEN_TTL_DAYS). The
    secret is returned once, with what the listing will show; only its hash is stored."""
    require_role(actor, OPERATORS, "issue tokens")
    if expires_in is not None and not dt.timedelta(0) < expires_in <= max_ttl:
        raise InvalidInputError(f"a token's lifetime must be more than 0 and at most "
                                f"{max_ttl.days} days (LEDGER_TOKEN_TTL_DAYS)",
                                field="expires_in_days")
    principal = await principals.get_principal(principal_id)
    if not principal.active:
        raise InvalidInputError(f"principal {principal_id!r} is deactivated",
                                field="principal_id")
    moment = now or dt.datetime.now(dt.UTC)
    token, token_hash = new_token()
    expires_at = moment + (expires_in or max_ttl)
    token_id = await principals.add_token(token_hash, principal_id, label,
                                          expires_at=expires_at, by=actor)
    return token, TokenInfo(token_id, principal_id, label, moment, expires_at, False)


async def list_tokens(principals: PrincipalStore, actor: Actor,
                      principal_id: str) -> list[TokenInfo]:
    """A principal's tokens (never their secrets), for an operator or the principal."""
    _require_self_or_operator(actor, principal_id, "list its tokens")
    await principals.get_principal(principal_id)
    return await principals.list_tokens(principal_id)


async def revoke_token(principals: PrincipalStore, actor: Actor, principal_id: str,
                       token_id: str) -> bool:
    """Revoke one token (an operator, or the principal); False if it already was."""
    _require_self_or_operator(actor, principal_id, "revoke its tokens")
    if not TOKEN_ID_PATTERN.fullmatch(token_id):
        raise NotFoundError(f"principal {principal_id!r} has no token {token_id!r}")
    return await principals.revoke_token(principal_id, token_id, actor)


async def deactivate_principal(principals: PrincipalStore, actor: Actor,
                               principal_id: str) -> int:
    """An operator deactivates a principal: every token stops at once, for good. Returns how
    many tokens were revoked. Operators cannot deactivate themselves, so the last operator
    cannot lock everyone out by mistake (the CLI, as the system, still can)."""
    require_role(actor, OPERATORS, "deactivate principals")
    if actor.id == principal_id:
        raise ForbiddenError("an operator does not deactivate themself; ask another operator")
    return await principals.deactivate_principal(principal_id, actor)


def _decode_public_key(public_key_b64: str) -> bytes:
    try:
        public_key = base64.b64decode(public_key_b64, validate=True)
    except (binascii.Error, ValueError) as e:
        raise InvalidInputError("public_key must be base64", field="public_key") from e
    if len(public_key) != ED25519_PUBLIC_KEY_BYTES:
        raise InvalidInputError("an Ed25519 public key is 32 bytes", field="public_key")
    return public_key


async def register_key(principals: PrincipalStore, actor: Actor, principal_id: str,
                       public_key_b64: str, *, method: str = "bearer") -> str:
    """A principal registers their own Ed25519 public key; returns its id. ``method`` is how
    they signed in (the request context's auth: "bearer" for an API token, "session" for a
    console session a token opened); the history records it. A session a one-time link opened
    ("link") registers nothing: whoever issued the link could have followed it, and a key
    outlives the session (a link lets its holder confirm without a signature)."""
    if actor.id != principal_id:
        raise ForbiddenError("only the principal registers its own signing keys")
    if method not in KEY_METHODS:
        raise ForbiddenError("a signing key is registered only after signing in with one's "
                             "own token, not by a one-time sign-in link")
    public_key = _decode_public_key(public_key_b64)
    await principals.get_principal(principal_id)
    # The owner is part of the id: registering someone else's public key under another
    # principal can never block its real owner's registration.
    key_id = hashlib.sha256(principal_id.encode() + b"\n" + public_key).hexdigest()
    await principals.add_key(key_id[:KEY_ID_LENGTH], principal_id, public_key, by=actor,
                             method=method)
    return key_id[:KEY_ID_LENGTH]


async def list_keys(principals: PrincipalStore, actor: Actor,
                    principal_id: str) -> list[KeyInfo]:
    """A principal's signing keys (public), for an operator or the principal."""
    _require_self_or_operator(actor, principal_id, "list its keys")
    await principals.get_principal(principal_id)
    return await principals.list_keys(principal_id)


async def revoke_key(principals: PrincipalStore, actor: Actor, principal_id: str,
                     key_id: str) -> bool:
    """Revoke a signing key (its owner or an operator): it verifies no new confirmation;
    confirmations it signed before stay recorded with it. False if it already was."""
    _require_self_or_operator(actor, principal_id, "revoke its keys")
    if len(key_id) != KEY_ID_LENGTH or not key_id.isascii() or not key_id.isalnum():
        raise NotFoundError(f"principal {principal_id!r} has no key {key_id!r}")
    return await principals.revoke_key(principal_id, key_id, actor)


async def principal_history(principals: PrincipalStore, actor: Actor,
                            principal_id: str) -> list[HistoryEntry]:
    """Who issued, revoked and deactivated what for this principal, and when."""
    _require_self_or_operator(actor, principal_id, "read its history")
    await principals.get_principal(principal_id)
    return await principals.history(principal_id)
