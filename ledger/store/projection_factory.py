"""The projection adapter sharing an event store's database."""

from __future__ import annotations

from ledger.errors import ConfigurationError
from ledger.store.port import EventStore
from ledger.store.projection_port import ProjectionStore


def projection_store_for(store: EventStore) -> ProjectionStore:
    """The read models' adapter on ``store``'s database."""
    from ledger.store.postgres import PostgresEventStore
    from ledger.store.postgres_projections import PostgresProjectionStore
    from ledger.store.sqlite import SQLiteEventStore
    from ledger.store.sqlite_projections import SQLiteProjectionStore

    if isinstance(store, SQLiteEventStore):
        return SQLiteProjectionStore(store)
    if isinstance(store, PostgresEventStore):
        return PostgresProjectionStore(store)
    raise ConfigurationError(f"no projection adapter for {type(store).__name__}")
