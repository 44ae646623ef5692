"""What a refused database write means, in words that name no table, column or constraint.

Both adapters map their driver's integrity errors here, so the same refusal reads the same on
PostgreSQL and SQLite, and a problem document never shows the schema (which would tell a
prober how the ledger is built). The driver's own text goes only to the server log, under the
error id of a 5xx, or nowhere.
"""

from __future__ import annotations

from ledger.errors import ConflictError, NotFoundError, PushbackError
from ledger.store.port import KeyTakenError

# Table → what already exists when a unique key of that table is taken.
_TAKEN: dict[str, str] = {
    "events": "another write reached this stream version first",
    "principals": "a principal with this id already exists (ids are never reused)",
    "principal_keys": "this public key is already registered for this principal",
    "tokens": "this token already exists",
}
APPEND_ONLY = "the ledger's history is append-only: stored records cannot be changed"
BUSY = "the database is busy or unavailable; try again"
MISSING = "the write refers to something that does not exist"


def taken(table: str | None) -> ConflictError:
    """The error for a unique key of ``table`` that is already taken."""
    if table == "idempotency":
        return KeyTakenError("idempotency key already used")
    return ConflictError(_TAKEN.get(table or "", "this already exists"))


def missing() -> NotFoundError:
    """The error for a reference (foreign key) to a row that does not exist."""
    return NotFoundError(MISSING)


def append_only() -> ConflictError:
    """The error for an UPDATE, DELETE or TRUNCATE the append-only triggers refused."""
    return ConflictError(APPEND_ONLY)


def busy() -> PushbackError:
    """The error for a database that is locked, overloaded or unreachable (retry soon)."""
    return PushbackError(BUSY, retry_after=1)
