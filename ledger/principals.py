"""Principals (people and systems) and their bearer tokens.

Tokens are random 256-bit secrets shown once; only their SHA-256 is stored, so a database dump
reveals no usable token. Lookups are by hash; the final comparison is constant-time. Each token
also has a random, non-secret ``token_id`` by which it is listed and revoked (the id says
nothing about the secret or its hash), and an expiry: access that is never renewed ends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from ledger.actor import ROLES, Actor
from ledger.errors import ForbiddenError, InvalidInputError

TOKEN_PREFIX = "hl_"  # noqa: S105 - a recognisable prefix (secret scanners), not a secret
DEFAULT_TOKEN_TTL = dt.timedelta(days=90)
TOKEN_ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")
# What the principal history records (PrincipalStore.history); the schema checks the same list.
HISTORY_ACTIONS = ("token_issued", "token_revoked", "principal_deactivated", "key_registered",
                   "key_revoked", "sign_in_link_issued", "sign_in_link_used",
                   "sign_in_link_revoked")


@dataclass(frozen=True)
class Principal:
    """Someone (or some system) who can authenticate; ``roles`` are what they may act as."""

    id: str
    name: str
    roles: tuple[str, ...]
    active: bool = True

    def act_as(self, role: str | None) -> Actor:
        """The Actor for one request: the asked role (which must be theirs) or their first."""
        chosen = role or self.roles[0]
        if chosen not in self.roles:
            raise ForbiddenError(f"{self.id} may not act as {chosen!r}")
        return Actor(self.id, chosen, self.name)


@dataclass(frozen=True)
class TokenInfo:
    """A token as it is listed: never its secret, never its hash."""

    token_id: str
    principal_id: str
    label: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked: bool

    def active_at(self, now: dt.datetime) -> bool:
        """Whether the token still authenticates at ``now`` (its principal aside)."""
        return not self.revoked and now < self.expires_at


@dataclass(frozen=True)
class KeyInfo:
    """A registered Ed25519 key of a principal."""

    key_id: str
    principal_id: str
    public_key: bytes
    created_at: dt.datetime
    revoked: bool


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded act on a principal's access: what (one of HISTORY_ACTIONS), on which
    token or key (``subject``, None for a deactivation), by whom (id and role), when; for a
    key registration, how the registrant had signed in (``method``)."""

    seq: int
    principal_id: str
    action: str
    subject: str | None
    actor_id: str
    actor_role: str
    at: dt.datetime
    method: str | None = None  # a key registration: how its registrant signed in


RESERVED_PREFIXES = ("dept:", "system:")


def check_principal_id(principal_id: str) -> str:
    """Principal ids may not look like department queues or the ledger's own actors."""
    if principal_id.startswith(RESERVED_PREFIXES):
        raise InvalidInputError(f"ids starting with {' or '.join(RESERVED_PREFIXES)} are "
                                "reserved", field="id")
    return principal_id


def check_roles(roles: list[str]) -> tuple[str, ...]:
    """Validate a role list (non-empty, known roles, no duplicates)."""
    unknown = sorted(set(roles) - set(ROLES))
    if not roles or unknown or len(set(roles)) != len(roles):
        raise InvalidInputError(f"roles must be distinct and among {', '.join(ROLES)}",
                                field="roles")
    return tuple(roles)


def new_token() -> tuple[str, bytes]:
    """A fresh bearer token and the hash to store for it."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token)


def new_token_id() -> str:
    """A fresh, random, non-secret token id (16 hex digits)."""
    return secrets.token_hex(8)


def hash_token(token: str) -> bytes:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def same_hash(stored: bytes, presented: bytes) -> bool:
    """Constant-time comparison of token hashes."""
    return hmac.compare_digest(stored, presented)
