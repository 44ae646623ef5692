"""Witness cosignatures of signed checkpoints (``checkpoint_cosignatures``): the port and its
two adapters, which share the event store's database (SQLite: its one connection and write
lock; PostgreSQL: its pool). Rows are append-only by trigger, one per checkpoint size and
witness key (``name+<key id>``); a cosignature already stored is kept, never replaced."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from ledger.errors import ConfigurationError
from ledger.store.port import EventStore
from ledger.store.projection_sql import for_sqlite

if TYPE_CHECKING:
    from ledger.store.postgres import PostgresEventStore
    from ledger.store.sqlite import SQLiteEventStore

_INSERT = ("INSERT INTO checkpoint_cosignatures (size, witness, line) VALUES ($1, $2, $3) "
           "ON CONFLICT (size, witness) DO NOTHING")
_SELECT = "SELECT witness, line FROM checkpoint_cosignatures WHERE size = $1 ORDER BY witness"


class CosignatureStore(Protocol):
    """Where a log keeps the cosignatures its witnesses returned."""

    async def add(self, size: int, cosignatures: Sequence[tuple[str, str]]) -> None:
        """Store (witness label, signature line) pairs for the checkpoint of ``size``."""

    async def of_size(self, size: int) -> dict[str, str]:
        """The cosignature lines of the checkpoint of ``size``, by witness label."""


class _SQLiteCosignatures:
    def __init__(self, events: SQLiteEventStore) -> None:
        self._events = events

    async def add(self, size: int, cosignatures: Sequence[tuple[str, str]]) -> None:
        async with self._events.transaction() as db:
            await db.executemany(for_sqlite(_INSERT),
                                 [(size, label, line) for label, line in cosignatures])

    async def of_size(self, size: int) -> dict[str, str]:
        return {str(r[0]): str(r[1])
                for r in await self._events.fetch(for_sqlite(_SELECT), (size,))}


class _PostgresCosignatures:
    def __init__(self, events: PostgresEventStore) -> None:
        self._events = events

    async def add(self, size: int, cosignatures: Sequence[tuple[str, str]]) -> None:
        from ledger.store.postgres import PG_ERRORS, map_postgres_error

        try:
            async with self._events.pool.acquire() as conn, conn.transaction():
                await conn.executemany(_INSERT, [(size, label, line)
                                                 for label, line in cosignatures])
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e

    async def of_size(self, size: int) -> dict[str, str]:
        from ledger.store.postgres import fetch_dicts

        rows = await fetch_dicts(self._events.pool, _SELECT, size)
        return {str(r["witness"]): str(r["line"]) for r in rows}


def cosignature_store_for(store: EventStore) -> CosignatureStore:
    """The cosignature table's adapter on ``store``'s database."""
    from ledger.store.postgres import PostgresEventStore
    from ledger.store.sqlite import SQLiteEventStore

    if isinstance(store, SQLiteEventStore):
        return _SQLiteCosignatures(store)
    if isinstance(store, PostgresEventStore):
        return _PostgresCosignatures(store)
    raise ConfigurationError(f"no cosignature adapter for {type(store).__name__}")
