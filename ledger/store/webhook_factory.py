"""The webhook adapter sharing an event store's database."""

from __future__ import annotations

from ledger.errors import ConfigurationError
from ledger.store.port import EventStore
from ledger.store.webhook_port import WebhookStore


def webhook_store_for(store: EventStore) -> WebhookStore:
    """The webhook tables' adapter on ``store``'s database."""
    from ledger.store.postgres import PostgresEventStore
    from ledger.store.postgres_webhooks import PostgresWebhookStore
    from ledger.store.sqlite import SQLiteEventStore
    from ledger.store.sqlite_webhooks import SQLiteWebhookStore

    if isinstance(store, SQLiteEventStore):
        return SQLiteWebhookStore(store)
    if isinstance(store, PostgresEventStore):
        return PostgresWebhookStore(store)
    raise ConfigurationError(f"no webhook adapter for {type(store).__name__}")
