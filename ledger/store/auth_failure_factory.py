"""The failed-authentication adapter sharing an event store's database."""

from __future__ import annotations

from ledger.errors import ConfigurationError
from ledger.store.auth_failure_port import AuthFailureStore
from ledger.store.port import EventStore


def auth_failure_store_for(store: EventStore) -> AuthFailureStore:
    """The ``auth_failures`` table's adapter on ``store``'s database."""
    from ledger.store.postgres import PostgresEventStore
    from ledger.store.postgres_auth_failures import PostgresAuthFailureStore
    from ledger.store.sqlite import SQLiteEventStore
    from ledger.store.sqlite_auth_failures import SQLiteAuthFailureStore

    if isinstance(store, SQLiteEventStore):
        return SQLiteAuthFailureStore(store)
    if isinstance(store, PostgresEventStore):
        return PostgresAuthFailureStore(store)
    raise ConfigurationError(f"no failed-authentication adapter for {type(store).__name__}")
