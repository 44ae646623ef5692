"""Managing principals, tokens and signature keys (operators; keys also by their owner)."""

from __future__ import annotations

import base64
import binascii
import hashlib

from ledger.errors import ForbiddenError, InvalidInputError
from ledger.principals import Principal, check_principal_id, check_roles, new_token
from ledger.service.context import Actor
from ledger.service.policy import require_role
from ledger.store.principal_port import PrincipalStore

OPERATORS = ("operator",)
ED25519_PUBLIC_KEY_BYTES = 32


async def create_principal(principals: PrincipalStore, actor: Actor, principal_id: str,
                           name: str, roles: list[str]) -> Principal:
    """An operator creates a principal."""
    require_role(actor, OPERATORS, "manage principals")
    principal = Principal(check_principal_id(principal_id), name, check_roles(roles))
    await principals.add_principal(principal)
    return principal


async def issue_token(principals: PrincipalStore, actor: Actor, principal_id: str,
                      label: str) -> str:
    """An operator issues a token; it is returned once and stored only as a hash."""
    require_role(actor, OPERATORS, "issue tokens")
    await principals.get_principal(principal_id)
    token, token_hash = new_token()
    await principals.add_token(token_hash, principal_id, label)
    return token


async def register_key(principals: PrincipalStore, actor: Actor, principal_id: str,
                       public_key_b64: str) -> str:
    """A principal (or an operator for them) registers an Ed25519 public key; returns its id."""
    if actor.id != principal_id and actor.role not in OPERATORS:
        raise ForbiddenError("only the principal or an operator registers its keys")
    try:
        public_key = base64.b64decode(public_key_b64, validate=True)
    except (binascii.Error, ValueError) as e:
        raise InvalidInputError("public_key must be base64", field="public_key") from e
    if len(public_key) != ED25519_PUBLIC_KEY_BYTES:
        raise InvalidInputError("an Ed25519 public key is 32 bytes", field="public_key")
    await principals.get_principal(principal_id)
    # The owner is part of the id: registering someone else's public key under another
    # principal can never block its real owner's registration.
    key_id = hashlib.sha256(principal_id.encode() + b"\n" + public_key).hexdigest()[:16]
    await principals.add_key(key_id, principal_id, public_key)
    return key_id
