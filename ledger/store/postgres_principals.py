"""PostgreSQL adapter of the principal port."""

from __future__ import annotations

from typing import Any

import asyncpg

from ledger.errors import NotFoundError
from ledger.principals import Principal, same_hash
from ledger.store.postgres import PostgresEventStore, map_postgres_error


def _principal(row: Any) -> Principal:
    return Principal(row[0], row[1], tuple(row[2].split(",")))


class PostgresPrincipalStore:
    """Principals, tokens and keys in the ledger's PostgreSQL database."""

    def __init__(self, events: PostgresEventStore) -> None:
        self.pool = events.pool

    async def _execute(self, sql: str, *args: object) -> str:
        try:
            return str(await self.pool.execute(sql, *args))
        except asyncpg.PostgresError as e:
            raise map_postgres_error(e) from e

    async def add_principal(self, principal: Principal) -> None:
        await self._execute("INSERT INTO principals (id, name, roles) VALUES ($1, $2, $3)",
                            principal.id, principal.name, ",".join(principal.roles))

    async def get_principal(self, principal_id: str) -> Principal:
        row = await self.pool.fetchrow(
            "SELECT id, name, roles FROM principals WHERE id = $1", principal_id)
        if row is None:
            raise NotFoundError(f"principal {principal_id!r} not found")
        return _principal(row)

    async def list_principals(self) -> list[Principal]:
        rows = await self.pool.fetch("SELECT id, name, roles FROM principals ORDER BY id")
        return [_principal(r) for r in rows]

    async def add_token(self, token_hash: bytes, principal_id: str, label: str) -> None:
        await self._execute(
            "INSERT INTO tokens (token_hash, principal_id, label) VALUES ($1, $2, $3)",
            token_hash, principal_id, label)

    async def principal_for_token(self, token_hash: bytes) -> Principal | None:
        row = await self.pool.fetchrow(
            "SELECT p.id, p.name, p.roles, t.token_hash FROM tokens t JOIN principals p "
            "ON p.id = t.principal_id WHERE t.token_hash = $1 AND NOT t.revoked", token_hash)
        # Found through the index; compared again in constant time before it counts.
        if row is not None and same_hash(bytes(row[3]), token_hash):
            return _principal(row)
        return None

    async def revoke_tokens(self, principal_id: str) -> int:
        status = await self._execute(
            "UPDATE tokens SET revoked = TRUE WHERE principal_id = $1 AND NOT revoked",
            principal_id)
        return int(status.split()[-1])

    async def add_key(self, key_id: str, principal_id: str, public_key: bytes) -> None:
        await self._execute(
            "INSERT INTO principal_keys (key_id, principal_id, public_key) VALUES ($1, $2, $3)",
            key_id, principal_id, public_key)

    async def find_key(self, key_id: str) -> tuple[str, bytes] | None:
        row = await self.pool.fetchrow(
            "SELECT principal_id, public_key FROM principal_keys WHERE key_id = $1", key_id)
        return (row[0], bytes(row[1])) if row else None
