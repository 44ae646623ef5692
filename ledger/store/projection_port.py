"""The projection storage port: read models kept in the ledger's own database.

A projection follows the transparency log by its gap-free index (never by the events table's
serial position: concurrent commits make those visible out of order, so a cursor on them
would skip events). ``projection_state`` holds, per projection, the number of log entries it
has applied (``position``), the generation of its tables, and the error it stopped at; a
batch updates the projection's tables and its position in one transaction, so every entry
is applied exactly once across crashes and restarts.

SQL is written once, with ``$1``-style parameters, TEXT for dates, times and JSON, and
INTEGER/BIGINT for numbers and flags; the SQLite adapter renumbers the parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from ledger.store.port import StoredEvent


@dataclass(frozen=True)
class LoggedEvent:
    """A stored event with its log index."""

    index: int
    event: StoredEvent


@dataclass(frozen=True)
class ProjectionState:
    """Where a projection stands: entries applied, table generation, and its stopping error."""

    name: str
    position: int
    generation: int
    error: str | None
    updated_at: str


class ProjectionTx(Protocol):
    """One projection transaction (holding the projection's row: no other runner applies
    entries to it meanwhile)."""

    state: ProjectionState

    async def execute(self, sql: str, *args: object) -> None:
        """Run one statement."""

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        """Run one statement for each row of parameters."""

    async def fetch(self, sql: str, *args: object) -> list[Any]:
        """Rows of one query (each indexable by column name)."""

    async def read_log(self, start: int, limit: int) -> list[LoggedEvent]:
        """Up to ``limit`` logged events from index ``start``, in index order."""

    async def advance(self, position: int) -> None:
        """Record that entries below ``position`` are applied (commits with the batch)."""

    async def switch_generation(self, generation: int, position: int) -> None:
        """Point the projection at the tables of ``generation``, applied up to ``position``,
        with no error (a rebuild's swap)."""


class ProjectionStore(Protocol):
    """The read models' tables and every projection's state."""

    dialect: str  # "sqlite" or "postgres"

    def transaction(self, name: str) -> AbstractAsyncContextManager[ProjectionTx | None]:
        """Open a transaction on projection ``name`` (its row created at generation 1 if
        absent); None when another runner holds it (PostgreSQL), so this one skips a turn."""

    async def fetch(self, sql: str, *args: object) -> list[Any]:
        """Rows of one read query, outside any projection transaction."""

    async def states(self) -> list[ProjectionState]:
        """Every projection's state, by name."""

    async def record_error(self, name: str, error: str | None) -> None:
        """Record (or, with None, clear) the error a projection stopped at."""

    async def log_size(self) -> int:
        """The number of entries in the log now."""
