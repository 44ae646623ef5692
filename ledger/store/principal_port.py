"""Storage of principals, token hashes, registered signature keys and the history of who
changed their access (one contract, two adapters, in the same database as the events).

Why a history table and not events: principals are not event-sourced aggregates (every request
authenticates against their current rows, which must stay one indexed lookup), so the acts that
grant or end access (HISTORY_ACTIONS) are written to ``principal_history`` in the same
transaction as the change they record. (On PostgreSQL a serving process may answer a token it
verified a moment ago from memory, while it hears every change that ends a token's use:
ledger.store.token_cache.) Like ``events``, the table is append-only: triggers in
the schema refuse UPDATE and DELETE, so the record of who cut off whom cannot be edited away.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Protocol

from ledger.principals import HistoryEntry, KeyInfo, Principal, TokenInfo
from ledger.service.context import Actor
from ledger.sign_in_link import SignInLinkInfo

# Who the history names when an adapter method is called without an actor (tests, benches,
# fixtures that seed the store directly): the ledger itself, as SYSTEM_ACTOR.
STORE_ACTOR = Actor("system:ledger", "operator", "Handover Ledger")


class PrincipalStore(Protocol):
    """What authentication and principal management need."""

    async def add_principal(self, principal: Principal) -> None:
        """Create a principal; ConflictError if the id exists."""

    async def get_principal(self, principal_id: str) -> Principal:
        """The principal (with ``active``); NotFoundError if unknown."""

    async def list_principals(self) -> list[Principal]:
        """Every principal, by id."""

    async def inactive_among(self, principal_ids: Collection[str]) -> set[str]:
        """Those of ``principal_ids`` that are unknown or deactivated, in one look-up (a
        board page or an HR owner's inbox asks about many receivers at once)."""

    async def names_of(self, principal_ids: Collection[str]) -> dict[str, str]:
        """The name of each of ``principal_ids`` the store knows (deactivated ones too: a
        page about a case names whoever took part in it), in one look-up; an unknown id is
        left out."""

    async def deactivate_principal(self, principal_id: str, by: Actor) -> int:
        """Mark the principal inactive and revoke every token (and unused sign-in link) it
        has, recording who did it; return how many tokens were revoked. NotFoundError if
        unknown; a second call changes and records nothing."""

    async def add_token(self, token_hash: bytes, principal_id: str, label: str, *,
                        expires_at: dt.datetime | None = None,
                        by: Actor = STORE_ACTOR) -> str:
        """Store a token hash for a principal (expiring at ``expires_at``, by default
        DEFAULT_TOKEN_TTL from now), record the issue; return its new token id.
        NotFoundError if the principal is unknown."""

    async def principal_for_token(self, token_hash: bytes,
                                  now: dt.datetime | None = None) -> Principal | None:
        """The active principal owning an unrevoked, unexpired (at ``now``, default the
        current time) token with this hash; None otherwise."""

    async def list_tokens(self, principal_id: str) -> list[TokenInfo]:
        """Every token of a principal (revoked and expired ones too), oldest first."""

    async def revoke_token(self, principal_id: str, token_id: str, by: Actor) -> bool:
        """Revoke one token of this principal, recording who did it; False if it was already
        revoked. NotFoundError if the principal has no token with this id."""

    async def revoke_tokens(self, principal_id: str) -> int:
        """Revoke every token of a principal; return how many."""

    async def add_key(self, key_id: str, principal_id: str, public_key: bytes, *,
                      by: Actor = STORE_ACTOR, method: str | None = None) -> None:
        """Register an Ed25519 public key for a principal, recording who did it and how they
        signed in (``method``: "bearer" for an API token, "session" for a console session a
        token opened; None when not known);
        ConflictError if the id exists (a revoked key is never registered again)."""

    async def find_key(self, key_id: str) -> tuple[str, bytes] | None:
        """(principal id, public key) of a registered key that is not revoked."""

    async def list_keys(self, principal_id: str) -> list[KeyInfo]:
        """Every key of a principal (revoked ones too), oldest first."""

    async def revoke_key(self, principal_id: str, key_id: str, by: Actor) -> bool:
        """Revoke one key of this principal, recording who did it; False if it was already
        revoked. NotFoundError if the principal has no key with this id."""

    async def history(self, principal_id: str) -> list[HistoryEntry]:
        """What was done to the principal's access, in the order it was done."""

    async def add_sign_in_link(self, link_hash: bytes, link: SignInLinkInfo) -> None:
        """Store a sign-in link's hash with what it is listed by, and record its issue (by
        ``link.issued_by`` acting as ``link.issued_role``) in the same transaction."""

    async def redeem_sign_in_link(self, link_hash: bytes, now: dt.datetime, ip: str | None,
                                  user_agent: str | None) -> Principal | None:
        """Spend the link with this hash if, at ``now``, it is unused, unrevoked and unexpired
        and its principal active: mark it used (when, from which IP and user agent) and
        record the use, in one transaction; return its principal. Otherwise None, and
        nothing changes. Of concurrent redemptions of one link exactly one gets the
        principal."""

    async def list_sign_in_links(self, principal_id: str) -> list[SignInLinkInfo]:
        """Every sign-in link of a principal (used, revoked and expired ones too), oldest
        first."""

    async def revoke_sign_in_link(self, principal_id: str, link_id: str, by: Actor) -> bool:
        """Revoke one unused link of this principal, recording who did it; False if it was
        already used or revoked. NotFoundError if the principal has no link with this id."""

    async def revoke_case_sign_in_links(self, departure_id: str, by: Actor) -> list[str]:
        """Revoke every link sent for departure ``departure_id`` that is neither used nor
        revoked (its case was withdrawn or closed), recording each revocation in its
        principal's history as done by ``by``, in one transaction; the link ids revoked."""
