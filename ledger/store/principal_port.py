"""Storage of principals, token hashes and registered signature keys (one contract, two
adapters, in the same database as the events)."""

from __future__ import annotations

from typing import Protocol

from ledger.principals import Principal


class PrincipalStore(Protocol):
    """What authentication and principal management need."""

    async def add_principal(self, principal: Principal) -> None:
        """Create a principal; ConflictError if the id exists."""

    async def get_principal(self, principal_id: str) -> Principal:
        """The principal; NotFoundError if unknown."""

    async def list_principals(self) -> list[Principal]:
        """Every principal, by id."""

    async def add_token(self, token_hash: bytes, principal_id: str, label: str) -> None:
        """Store a token hash for a principal."""

    async def principal_for_token(self, token_hash: bytes) -> Principal | None:
        """The principal owning an unrevoked token with this hash."""

    async def revoke_tokens(self, principal_id: str) -> int:
        """Revoke every token of a principal; return how many."""

    async def add_key(self, key_id: str, principal_id: str, public_key: bytes) -> None:
        """Register an Ed25519 public key for a principal; ConflictError if the id exists."""

    async def find_key(self, key_id: str) -> tuple[str, bytes] | None:
        """(principal id, public key) of a registered key."""
