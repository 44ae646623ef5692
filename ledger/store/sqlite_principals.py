"""SQLite adapter of the principal port."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import aiosqlite

from ledger.entry import format_time
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
from ledger.store.principal_port import STORE_ACTOR
from ledger.store.sqlite import SQLiteEventStore

_PRINCIPAL = "SELECT id, name, roles, active FROM principals"
_CHUNK = 500  # ids per IN list, under SQLite's older limit of 999 parameters
_SELECT_TOKENS = "SELECT token_id, principal_id, label, created_at, expires_at, revoked FROM tokens"
_SELECT_LINKS = ("SELECT link_id, principal_id, issued_by, issued_role, issued_at, expires_at, "
                 "departure_id, used_at, used_ip, used_user_agent, revoked FROM sign_in_links")


def _time(text: str) -> dt.datetime:
    # Stored as RFC 3339 UTC text ('Z'); written by format_time or strftime('%fZ').
    return dt.datetime.fromisoformat(text)


def _principal(row: Any) -> Principal:
    return Principal(row[0], row[1], tuple(row[2].split(",")), bool(row[3]))


def _link(row: Any) -> SignInLinkInfo:
    return SignInLinkInfo(row[0], row[1], row[2], row[3], _time(row[4]), _time(row[5]), row[6],
                          _time(row[7]) if row[7] else None, row[8], row[9], bool(row[10]))


def _token(row: Any) -> TokenInfo:
    return TokenInfo(row[0], row[1], row[2], _time(row[3]), _time(row[4]), bool(row[5]))


async def _record(db: aiosqlite.Connection, principal_id: str, action: str,
                  subject: str | None, by: Actor, method: str | None = None) -> None:
    await db.execute(
        "INSERT INTO principal_history (principal_id, action, subject, actor_id, actor_role, "
        "method) VALUES (?, ?, ?, ?, ?, ?)",
        (principal_id, action, subject, by.id, by.role, method))


class SQLitePrincipalStore:
    """Principals, tokens, keys and their history in the ledger's SQLite file."""

    def __init__(self, events: SQLiteEventStore) -> None:
        self.events = events

    async def add_principal(self, principal: Principal) -> None:
        async with self.events.transaction() as db:
            await db.execute(
                "INSERT INTO principals (id, name, roles, active) VALUES (?, ?, ?, ?)",
                (principal.id, principal.name, ",".join(principal.roles), principal.active))

    async def get_principal(self, principal_id: str) -> Principal:
        rows = await self.events.fetch(_PRINCIPAL + " WHERE id = ?", (principal_id,))
        if not rows:
            raise NotFoundError(f"principal {principal_id!r} not found")
        return _principal(rows[0])

    async def list_principals(self) -> list[Principal]:
        rows = await self.events.fetch(_PRINCIPAL + " ORDER BY id")
        return [_principal(r) for r in rows]

    async def inactive_among(self, principal_ids: Collection[str]) -> set[str]:
        wanted = set(principal_ids)
        return wanted - {r[0] for r in await self._rows_of("SELECT id FROM principals", wanted,
                                                          "AND active")}

    async def names_of(self, principal_ids: Collection[str]) -> dict[str, str]:
        return {r[0]: r[1] for r in await self._rows_of("SELECT id, name FROM principals",
                                                       principal_ids)}

    async def _rows_of(self, select: str, principal_ids: Collection[str],
                       more: str = "") -> list[Any]:
        """The rows of ``select`` (then ``more``) for these principal ids, _CHUNK at a time."""
        wanted = sorted(set(principal_ids))
        rows: list[Any] = []
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows += await self.events.fetch(
                f"{select} WHERE id IN ({marks}) {more}", tuple(chunk))  # placeholders only
        return rows

    async def deactivate_principal(self, principal_id: str, by: Actor) -> int:
        async with self.events.transaction() as db:
            rows = list(await db.execute_fetchall(
                "SELECT active FROM principals WHERE id = ?", (principal_id,)))
            if not rows:
                raise NotFoundError(f"principal {principal_id!r} not found")
            if not rows[0][0]:
                return 0
            await db.execute("UPDATE principals SET active = FALSE WHERE id = ?",
                             (principal_id,))
            cursor = await db.execute(
                "UPDATE tokens SET revoked = TRUE WHERE principal_id = ? AND NOT revoked",
                (principal_id,))
            await db.execute("UPDATE sign_in_links SET revoked = TRUE WHERE principal_id = ? "
                             "AND used_at IS NULL AND NOT revoked", (principal_id,))
            await _record(db, principal_id, "principal_deactivated", None, by)
            return cursor.rowcount

    async def add_token(self, token_hash: bytes, principal_id: str, label: str, *,
                        expires_at: dt.datetime | None = None,
                        by: Actor = STORE_ACTOR) -> str:
        token_id = new_token_id()
        expires = expires_at or dt.datetime.now(dt.UTC) + DEFAULT_TOKEN_TTL
        async with self.events.transaction() as db:
            await db.execute(
                "INSERT INTO tokens (token_hash, principal_id, label, token_id, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (token_hash, principal_id, label, token_id, format_time(expires)))
            await _record(db, principal_id, "token_issued", token_id, by)
        return token_id

    async def principal_for_token(self, token_hash: bytes,
                                  now: dt.datetime | None = None) -> Principal | None:
        # format_time's fixed-width text sorts as the instants do, so the expiry compares in SQL.
        rows = await self.events.fetch(
            "SELECT p.id, p.name, p.roles, p.active, t.token_hash FROM tokens t JOIN principals p "
            "ON p.id = t.principal_id WHERE t.token_hash = ? AND NOT t.revoked AND p.active "
            "AND t.expires_at > ?", (token_hash, format_time(now or dt.datetime.now(dt.UTC))))
        # Found through the index; compared again in constant time before it counts.
        if rows and same_hash(bytes(rows[0][4]), token_hash):
            return _principal(rows[0])
        return None

    async def list_tokens(self, principal_id: str) -> list[TokenInfo]:
        rows = await self.events.fetch(_SELECT_TOKENS + " WHERE principal_id = ? ORDER BY rowid",
                                       (principal_id,))
        return [_token(r) for r in rows]

    async def revoke_token(self, principal_id: str, token_id: str, by: Actor) -> bool:
        async with self.events.transaction() as db:
            rows = list(await db.execute_fetchall(
                "SELECT revoked FROM tokens WHERE principal_id = ? AND token_id = ?",
                (principal_id, token_id)))
            if not rows:
                raise NotFoundError(f"principal {principal_id!r} has no token {token_id!r}")
            if rows[0][0]:
                return False
            await db.execute("UPDATE tokens SET revoked = TRUE WHERE token_id = ?", (token_id,))
            await _record(db, principal_id, "token_revoked", token_id, by)
            return True

    async def revoke_tokens(self, principal_id: str) -> int:
        async with self.events.transaction() as db:
            cursor = await db.execute(
                "UPDATE tokens SET revoked = TRUE WHERE principal_id = ? AND NOT revoked",
                (principal_id,))
            return cursor.rowcount

    async def add_key(self, key_id: str, principal_id: str, public_key: bytes, *,
                      by: Actor = STORE_ACTOR, method: str | None = None) -> None:
        async with self.events.transaction() as db:
            await db.execute(
                "INSERT INTO principal_keys (key_id, principal_id, public_key) VALUES (?, ?, ?)",
                (key_id, principal_id, public_key))
            await _record(db, principal_id, "key_registered", key_id, by, method)

    async def find_key(self, key_id: str) -> tuple[str, bytes] | None:
        rows = await self.events.fetch(
            "SELECT principal_id, public_key FROM principal_keys WHERE key_id = ? "
            "AND NOT revoked", (key_id,))
        return (rows[0][0], bytes(rows[0][1])) if rows else None

    async def list_keys(self, principal_id: str) -> list[KeyInfo]:
        rows = await self.events.fetch(
            "SELECT key_id, principal_id, public_key, created_at, revoked FROM principal_keys "
            "WHERE principal_id = ? ORDER BY rowid", (principal_id,))
        return [KeyInfo(r[0], r[1], bytes(r[2]), _time(r[3]), bool(r[4])) for r in rows]

    async def revoke_key(self, principal_id: str, key_id: str, by: Actor) -> bool:
        async with self.events.transaction() as db:
            rows = list(await db.execute_fetchall(
                "SELECT revoked FROM principal_keys WHERE principal_id = ? AND key_id = ?",
                (principal_id, key_id)))
            if not rows:
                raise NotFoundError(f"principal {principal_id!r} has no key {key_id!r}")
            if rows[0][0]:
                return False
            await db.execute("UPDATE principal_keys SET revoked = TRUE WHERE key_id = ?",
                             (key_id,))
            await _record(db, principal_id, "key_revoked", key_id, by)
            return True

    async def revoke_case_sign_in_links(self, departure_id: str, by: Actor) -> list[str]:
        async with self.events.transaction() as db:
            rows = list(await db.execute_fetchall(
                "UPDATE sign_in_links SET revoked = TRUE WHERE departure_id = ? "
                "AND used_at IS NULL AND NOT revoked RETURNING link_id, principal_id",
                (departure_id,)))
            for link_id, principal_id in sorted(rows):
                await _record(db, principal_id, "sign_in_link_revoked", link_id, by)
            return sorted(r[0] for r in rows)

    async def history(self, principal_id: str) -> list[HistoryEntry]:
        rows = await self.events.fetch(
            "SELECT seq, principal_id, action, subject, actor_id, actor_role, at, method "
            "FROM principal_history WHERE principal_id = ? ORDER BY seq", (principal_id,))
        return [HistoryEntry(r[0], r[1], r[2], r[3], r[4], r[5], _time(r[6]), r[7])
                for r in rows]

    async def add_sign_in_link(self, link_hash: bytes, link: SignInLinkInfo) -> None:
        async with self.events.transaction() as db:
            await db.execute(
                "INSERT INTO sign_in_links (link_id, link_hash, principal_id, departure_id, "
                "issued_by, issued_role, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (link.link_id, link_hash, link.principal_id, link.departure_id, link.issued_by,
                 link.issued_role, format_time(link.issued_at), format_time(link.expires_at)))
            await _record(db, link.principal_id, "sign_in_link_issued", link.link_id,
                          Actor(link.issued_by, link.issued_role))

    async def redeem_sign_in_link(self, link_hash: bytes, now: dt.datetime, ip: str | None,
                                  user_agent: str | None) -> Principal | None:
        # One write transaction (BEGIN IMMEDIATE) holds the file: the UPDATE that finds the
        # link also spends it, so a second redemption finds it used.
        async with self.events.transaction() as db:
            spent = list(await db.execute_fetchall(
                "UPDATE sign_in_links SET used_at = ?, used_ip = ?, used_user_agent = ? "
                "WHERE link_hash = ? AND used_at IS NULL AND NOT revoked AND expires_at > ? "
                "AND principal_id IN (SELECT id FROM principals WHERE active) "
                "RETURNING link_id, principal_id, link_hash",
                (format_time(now), ip, user_agent, link_hash, format_time(now))))
            if not spent or not same_hash(bytes(spent[0][2]), link_hash):
                return None
            rows = list(await db.execute_fetchall(_PRINCIPAL + " WHERE id = ?",
                                                  (spent[0][1],)))
            principal = _principal(rows[0])
            await _record(db, principal.id, "sign_in_link_used", spent[0][0],
                          Actor(principal.id, principal.roles[0]))
            return principal

    async def list_sign_in_links(self, principal_id: str) -> list[SignInLinkInfo]:
        rows = await self.events.fetch(
            _SELECT_LINKS + " WHERE principal_id = ? ORDER BY issued_at, link_id",
            (principal_id,))
        return [_link(r) for r in rows]

    async def revoke_sign_in_link(self, principal_id: str, link_id: str, by: Actor) -> bool:
        async with self.events.transaction() as db:
            rows = list(await db.execute_fetchall(
                "SELECT used_at IS NOT NULL OR revoked FROM sign_in_links "
                "WHERE principal_id = ? AND link_id = ?", (principal_id, link_id)))
            if not rows:
                raise NotFoundError(f"principal {principal_id!r} has no sign-in link "
                                    f"{link_id!r}")
            if rows[0][0]:
                return False
            await db.execute("UPDATE sign_in_links SET revoked = TRUE WHERE link_id = ?",
                             (link_id,))
            await _record(db, principal_id, "sign_in_link_revoked", link_id, by)
            return True
