"""Principals (people and systems) and their bearer tokens.

Tokens are random 256-bit secrets shown once; only their SHA-256 is stored, so a database dump
reveals no usable token. Lookups are by hash; the final comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from ledger.errors import ForbiddenError, InvalidInputError
from ledger.service.context import ROLES, Actor

TOKEN_PREFIX = "hl_"  # noqa: S105 - a recognisable prefix (secret scanners), not a secret


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


def hash_token(token: str) -> bytes:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def same_hash(stored: bytes, presented: bytes) -> bool:
    """Constant-time comparison of token hashes."""
    return hmac.compare_digest(stored, presented)
