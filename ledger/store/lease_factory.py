"""The leadership adapter for an event store's database (ledger.store.lease_port)."""

from __future__ import annotations

from ledger.errors import ConfigurationError
from ledger.store.lease_port import LeaseStore
from ledger.store.port import EventStore


def lease_store_for(store: EventStore) -> LeaseStore | None:
    """A session of its own on ``store``'s PostgreSQL server; None for SQLite, which one
    process serves alone (ledger.store.sqlite_owner) and so leads every role."""
    from ledger.store.postgres import PostgresEventStore
    from ledger.store.postgres_leases import PostgresLeaseStore

    if not isinstance(store, PostgresEventStore):
        return None
    if store.dsn is None:
        raise ConfigurationError("leadership needs the store's DSN to open its own session")
    return PostgresLeaseStore(store.dsn, connect_timeout=store.timeouts.connect)
