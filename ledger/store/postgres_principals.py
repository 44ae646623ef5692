"""PostgreSQL adapter of the principal port."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import asyncpg

from ledger.errors import NotFoundError
from ledger.principals import (
    DEFAULT_TOKEN_TTL,
    HistoryEntry,
    KeyInfo,
    Principal,
    TokenInfo,
    new_token_id,
    same_hash,
)
from ledger.service.context import Actor
from ledger.sign_in_link import SignInLinkInfo
from ledger.store.postgres import PG_ERRORS, PostgresEventStore, map_postgres_error
from ledger.store.postgres_token_feed import NOTIFY_CHANGE, PostgresTokenFeed
from ledger.store.principal_port import STORE_ACTOR
from ledger.store.token_cache import TokenCache

_PRINCIPAL = "SELECT id, name, roles, active FROM principals"
_SELECT_TOKENS = "SELECT token_id, principal_id, label, created_at, expires_at, revoked FROM tokens"
_SELECT_LINKS = ("SELECT link_id, principal_id, issued_by, issued_role, issued_at, expires_at, "
                 "departure_id, used_at, used_ip, used_user_agent, revoked FROM sign_in_links")
# Find and spend in one statement: under READ COMMITTED a concurrent second UPDATE waits for
# the first one's row lock, then re-checks ``used_at IS NULL`` on the committed row and finds
# nothing; the use is recorded by the same statement.
_REDEEM = (
    "WITH spent AS (UPDATE sign_in_links l SET used_at = $2, used_ip = $3, used_user_agent = $4 "
    "FROM principals p WHERE l.link_hash = $1 AND l.used_at IS NULL AND NOT l.revoked "
    "AND l.expires_at > $2 AND p.id = l.principal_id AND p.active "
    "RETURNING l.link_id, l.link_hash, p.id, p.name, p.roles, p.active), "
    "recorded AS (INSERT INTO principal_history (principal_id, action, subject, actor_id, "
    "actor_role) SELECT id, 'sign_in_link_used', link_id, id, split_part(roles, ',', 1) "
    "FROM spent) "
    "SELECT id, name, roles, active, link_hash FROM spent")
_RECORD = ("INSERT INTO principal_history (principal_id, action, subject, actor_id, "
           "actor_role) VALUES ($1, $2, $3, $4, $5)")


async def execute_mapped(pool: asyncpg.Pool, sql: str, *args: object) -> str:
    """``pool.execute`` with the driver's errors mapped to ours (the principal and session
    stores share it)."""
    try:
        return str(await pool.execute(sql, *args))
    except PG_ERRORS as e:
        raise map_postgres_error(e) from e


def _principal(row: Any) -> Principal:
    return Principal(row[0], row[1], tuple(row[2].split(",")), bool(row[3]))


class PostgresPrincipalStore:
    """Principals, tokens, keys and their history in the ledger's PostgreSQL database."""

    def __init__(self, events: PostgresEventStore) -> None:
        self.pool = events.pool
        self._dsn = events.dsn
        # Answers only while a token feed listens (ledger serve's worker): see token_feed.
        self.tokens = TokenCache()

    def token_feed(self) -> PostgresTokenFeed | None:
        """The worker that keeps this store's token cache true (None: no DSN to listen on,
        so no cache)."""
        return PostgresTokenFeed(self._dsn, self.tokens) if self._dsn is not None else None

    async def _execute(self, sql: str, *args: object) -> str:
        return await execute_mapped(self.pool, sql, *args)

    async def _fetch(self, sql: str, *args: object) -> list[Any]:
        try:
            return list(await self.pool.fetch(sql, *args))
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e

    async def _revoke(self, table: str, column: str, principal_id: str, subject: str,
                      action: str, by: Actor) -> bool:
        """Revoke one token or key of a principal and record it, in one transaction (the row
        lock of FOR UPDATE makes a concurrent second revocation see the first one)."""
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                revoked = await conn.fetchval(
                    f"SELECT revoked FROM {table} WHERE principal_id = $1 AND {column} = $2 "  # noqa: S608 - fixed names
                    "FOR UPDATE", principal_id, subject)
                if revoked is None:
                    kind = "token" if table == "tokens" else "key"
                    raise NotFoundError(f"principal {principal_id!r} has no {kind} {subject!r}")
                if revoked:
                    return False
                await conn.execute(f"UPDATE {table} SET revoked = TRUE WHERE {column} = $1",  # noqa: S608
                                   subject)
                await conn.execute(_RECORD, principal_id, action, subject, by.id, by.role)
                if table == "tokens":
                    await conn.execute(NOTIFY_CHANGE)  # every process's token cache
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e
        finally:
            if table == "tokens":
                self.tokens.invalidate()  # this process's at once, not when the notice comes
        return True

    async def add_principal(self, principal: Principal) -> None:
        await self._execute(
            "INSERT INTO principals (id, name, roles, active) VALUES ($1, $2, $3, $4)",
            principal.id, principal.name, ",".join(principal.roles), principal.active)

    async def get_principal(self, principal_id: str) -> Principal:
        rows = await self._fetch(_PRINCIPAL + " WHERE id = $1", principal_id)
        if not rows:
            raise NotFoundError(f"principal {principal_id!r} not found")
        return _principal(rows[0])

    async def list_principals(self) -> list[Principal]:
        return [_principal(r) for r in await self._fetch(_PRINCIPAL + " ORDER BY id")]

    async def inactive_among(self, principal_ids: Collection[str]) -> set[str]:
        wanted = set(principal_ids)
        if not wanted:
            return set()
        rows = await self._fetch("SELECT id FROM principals WHERE id = ANY($1::text[]) "
                                 "AND active", list(wanted))
        return wanted - {r[0] for r in rows}

    async def names_of(self, principal_ids: Collection[str]) -> dict[str, str]:
        wanted = sorted(set(principal_ids))
        if not wanted:
            return {}
        rows = await self._fetch("SELECT id, name FROM principals WHERE id = ANY($1::text[])",
                                 wanted)
        return {r[0]: r[1] for r in rows}

    async def deactivate_principal(self, principal_id: str, by: Actor) -> int:
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                active = await conn.fetchval(
                    "SELECT active FROM principals WHERE id = $1 FOR UPDATE", principal_id)
                if active is None:
                    raise NotFoundError(f"principal {principal_id!r} not found")
                if not active:
                    return 0
                await conn.execute("UPDATE principals SET active = FALSE WHERE id = $1",
                                   principal_id)
                status = await conn.execute(
                    "UPDATE tokens SET revoked = TRUE WHERE principal_id = $1 AND NOT revoked",
                    principal_id)
                await conn.execute(
                    "UPDATE sign_in_links SET revoked = TRUE WHERE principal_id = $1 "
                    "AND used_at IS NULL AND NOT revoked", principal_id)
                await conn.execute(_RECORD, principal_id, "principal_deactivated", None,
                                   by.id, by.role)
                await conn.execute(NOTIFY_CHANGE)  # every process's token cache
                return int(status.split()[-1])
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e
        finally:
            self.tokens.invalidate()  # this process's at once, not when the notice comes

    async def add_token(self, token_hash: bytes, principal_id: str, label: str, *,
                        expires_at: dt.datetime | None = None,
                        by: Actor = STORE_ACTOR) -> str:
        token_id = new_token_id()
        expires = expires_at or dt.datetime.now(dt.UTC) + DEFAULT_TOKEN_TTL
        # One statement: the token and the record of its issue commit together.
        await self._execute(
            "WITH t AS (INSERT INTO tokens (token_hash, principal_id, label, token_id, "
            "expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING principal_id, token_id) "
            "INSERT INTO principal_history (principal_id, action, subject, actor_id, "
            "actor_role) SELECT principal_id, 'token_issued', token_id, $6, $7 FROM t",
            token_hash, principal_id, label, token_id, expires, by.id, by.role)
        return token_id

    async def principal_for_token(self, token_hash: bytes,
                                  now: dt.datetime | None = None) -> Principal | None:
        moment = now or dt.datetime.now(dt.UTC)
        cached = self.tokens.get(token_hash, moment) if now is None else None
        if cached is not None:
            return cached
        generation = self.tokens.generation  # a change noticed during the lookup wins
        rows = await self._fetch(
            "SELECT p.id, p.name, p.roles, p.active, t.token_hash, t.expires_at FROM tokens t "
            "JOIN principals p ON p.id = t.principal_id WHERE t.token_hash = $1 "
            "AND NOT t.revoked AND p.active AND t.expires_at > $2", token_hash, moment)
        row = rows[0] if rows else None
        # Found through the index; compared again in constant time before it counts.
        if row is None or not same_hash(bytes(row[4]), token_hash):
            return None
        principal = _principal(row)
        if now is None:
            self.tokens.put(token_hash, principal, row[5], generation)
        return principal

    async def list_tokens(self, principal_id: str) -> list[TokenInfo]:
        rows = await self._fetch(_SELECT_TOKENS + " WHERE principal_id = $1 ORDER BY created_at, "
                                 "token_id", principal_id)
        return [TokenInfo(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]

    async def revoke_token(self, principal_id: str, token_id: str, by: Actor) -> bool:
        return await self._revoke("tokens", "token_id", principal_id, token_id,
                                  "token_revoked", by)

    async def revoke_tokens(self, principal_id: str) -> int:
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                status = await conn.execute(
                    "UPDATE tokens SET revoked = TRUE WHERE principal_id = $1 AND NOT revoked",
                    principal_id)
                await conn.execute(NOTIFY_CHANGE)  # every process's token cache
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e
        finally:
            self.tokens.invalidate()  # this process's at once, not when the notice comes
        return int(status.split()[-1])

    async def add_key(self, key_id: str, principal_id: str, public_key: bytes, *,
                      by: Actor = STORE_ACTOR, method: str | None = None) -> None:
        await self._execute(
            "WITH k AS (INSERT INTO principal_keys (key_id, principal_id, public_key) "
            "VALUES ($1, $2, $3) RETURNING principal_id, key_id) "
            "INSERT INTO principal_history (principal_id, action, subject, actor_id, "
            "actor_role, method) SELECT principal_id, 'key_registered', key_id, $4, $5, $6 "
            "FROM k", key_id, principal_id, public_key, by.id, by.role, method)

    async def find_key(self, key_id: str) -> tuple[str, bytes] | None:
        rows = await self._fetch(
            "SELECT principal_id, public_key FROM principal_keys WHERE key_id = $1 "
            "AND NOT revoked", key_id)
        return (rows[0][0], bytes(rows[0][1])) if rows else None

    async def list_keys(self, principal_id: str) -> list[KeyInfo]:
        rows = await self._fetch(
            "SELECT key_id, principal_id, public_key, created_at, revoked FROM principal_keys "
            "WHERE principal_id = $1 ORDER BY created_at, key_id", principal_id)
        return [KeyInfo(r[0], r[1], bytes(r[2]), r[3], bool(r[4])) for r in rows]

    async def revoke_key(self, principal_id: str, key_id: str, by: Actor) -> bool:
        return await self._revoke("principal_keys", "key_id", principal_id, key_id,
                                  "key_revoked", by)

    async def revoke_case_sign_in_links(self, departure_id: str, by: Actor) -> list[str]:
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch(
                    "UPDATE sign_in_links SET revoked = TRUE WHERE departure_id = $1 "
                    "AND used_at IS NULL AND NOT revoked RETURNING link_id, principal_id",
                    departure_id)
                found = sorted((r["link_id"], r["principal_id"]) for r in rows)
                await conn.executemany(_RECORD, [(principal_id, "sign_in_link_revoked",
                                                  link_id, by.id, by.role)
                                                 for link_id, principal_id in found])
                return [link_id for link_id, _ in found]
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e

    async def history(self, principal_id: str) -> list[HistoryEntry]:
        rows = await self._fetch(
            "SELECT seq, principal_id, action, subject, actor_id, actor_role, at, method "
            "FROM principal_history WHERE principal_id = $1 ORDER BY seq", principal_id)
        return [HistoryEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows]

    async def add_sign_in_link(self, link_hash: bytes, link: SignInLinkInfo) -> None:
        # One statement: the link and the record of its issue commit together.
        await self._execute(
            "WITH l AS (INSERT INTO sign_in_links (link_id, link_hash, principal_id, "
            "departure_id, issued_by, issued_role, issued_at, expires_at) VALUES ($1, $2, $3, "
            "$4, $5, $6, $7, $8) RETURNING principal_id, link_id) "
            "INSERT INTO principal_history (principal_id, action, subject, actor_id, "
            "actor_role) SELECT principal_id, 'sign_in_link_issued', link_id, $5, $6 FROM l",
            link.link_id, link_hash, link.principal_id, link.departure_id, link.issued_by,
            link.issued_role, link.issued_at, link.expires_at)

    async def redeem_sign_in_link(self, link_hash: bytes, now: dt.datetime, ip: str | None,
                                  user_agent: str | None) -> Principal | None:
        rows = await self._fetch(_REDEEM, link_hash, now, ip, user_agent)
        if rows and same_hash(bytes(rows[0][4]), link_hash):
            return _principal(rows[0])
        return None

    async def list_sign_in_links(self, principal_id: str) -> list[SignInLinkInfo]:
        rows = await self._fetch(_SELECT_LINKS + " WHERE principal_id = $1 "
                                 "ORDER BY issued_at, link_id", principal_id)
        return [SignInLinkInfo(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
                               bool(r[10])) for r in rows]

    async def revoke_sign_in_link(self, principal_id: str, link_id: str, by: Actor) -> bool:
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                done = await conn.fetchval(
                    "SELECT used_at IS NOT NULL OR revoked FROM sign_in_links "
                    "WHERE principal_id = $1 AND link_id = $2 FOR UPDATE", principal_id, link_id)
                if done is None:
                    raise NotFoundError(f"principal {principal_id!r} has no sign-in link "
                                        f"{link_id!r}")
                if done:
                    return False
                await conn.execute("UPDATE sign_in_links SET revoked = TRUE WHERE link_id = $1",
                                   link_id)
                await conn.execute(_RECORD, principal_id, "sign_in_link_revoked", link_id,
                                   by.id, by.role)
                return True
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e
