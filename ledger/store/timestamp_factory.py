"""The timestamp adapter sharing an event store's database."""

from __future__ import annotations

from ledger.errors import ConfigurationError
from ledger.store.port import EventStore
from ledger.store.timestamp_port import TimestampStore


def timestamp_store_for(store: EventStore) -> TimestampStore:
    """The ``checkpoint_timestamps`` table's adapter on ``store``'s database."""
    from ledger.store.postgres import PostgresEventStore
    from ledger.store.postgres_timestamps import PostgresTimestampStore
    from ledger.store.sqlite import SQLiteEventStore
    from ledger.store.sqlite_timestamps import SQLiteTimestampStore

    if isinstance(store, SQLiteEventStore):
        return SQLiteTimestampStore(store)
    if isinstance(store, PostgresEventStore):
        return PostgresTimestampStore(store)
    raise ConfigurationError(f"no timestamp adapter for {type(store).__name__}")
