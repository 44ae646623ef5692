"""SQLite adapter of the principal port."""

from __future__ import annotations

from typing import Any

from ledger.errors import NotFoundError
from ledger.principals import Principal, same_hash
from ledger.store.sqlite import SQLiteEventStore


def _principal(row: Any) -> Principal:
    return Principal(row[0], row[1], tuple(row[2].split(",")))


class SQLitePrincipalStore:
    """Principals, tokens and keys in the ledger's SQLite file."""

    def __init__(self, events: SQLiteEventStore) -> None:
        self.events = events

    async def add_principal(self, principal: Principal) -> None:
        async with self.events.transaction() as db:
            await db.execute("INSERT INTO principals (id, name, roles) VALUES (?, ?, ?)",
                             (principal.id, principal.name, ",".join(principal.roles)))

    async def get_principal(self, principal_id: str) -> Principal:
        rows = await self.events.fetch(
            "SELECT id, name, roles FROM principals WHERE id = ?", (principal_id,))
        if not rows:
            raise NotFoundError(f"principal {principal_id!r} not found")
        return _principal(rows[0])

    async def list_principals(self) -> list[Principal]:
        rows = await self.events.fetch("SELECT id, name, roles FROM principals ORDER BY id")
        return [_principal(r) for r in rows]

    async def add_token(self, token_hash: bytes, principal_id: str, label: str) -> None:
        async with self.events.transaction() as db:
            await db.execute(
                "INSERT INTO tokens (token_hash, principal_id, label) VALUES (?, ?, ?)",
                (token_hash, principal_id, label))

    async def principal_for_token(self, token_hash: bytes) -> Principal | None:
        rows = await self.events.fetch(
            "SELECT p.id, p.name, p.roles, t.token_hash FROM tokens t JOIN principals p "
            "ON p.id = t.principal_id WHERE t.token_hash = ? AND NOT t.revoked", (token_hash,))
        # Found through the index; compared again in constant time before it counts.
        if rows and same_hash(bytes(rows[0][3]), token_hash):
            return _principal(rows[0])
        return None

    async def revoke_tokens(self, principal_id: str) -> int:
        async with self.events.transaction() as db:
            cursor = await db.execute(
                "UPDATE tokens SET revoked = TRUE WHERE principal_id = ? AND NOT revoked",
                (principal_id,))
            return cursor.rowcount

    async def add_key(self, key_id: str, principal_id: str, public_key: bytes) -> None:
        async with self.events.transaction() as db:
            await db.execute(
                "INSERT INTO principal_keys (key_id, principal_id, public_key) VALUES (?, ?, ?)",
                (key_id, principal_id, public_key))

    async def find_key(self, key_id: str) -> tuple[str, bytes] | None:
        rows = await self.events.fetch(
            "SELECT principal_id, public_key FROM principal_keys WHERE key_id = ?", (key_id,))
        return (rows[0][0], bytes(rows[0][1])) if rows else None
