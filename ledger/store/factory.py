"""Open the store a database URL names (``sqlite:///path`` or ``postgresql://...``)."""

from __future__ import annotations

from pathlib import Path

from ledger.errors import ConfigurationError
from ledger.store.port import EventStore

DEFAULT_DATABASE_URL = "sqlite:///./ledger-data/ledger.db"


async def open_store(url: str) -> EventStore:
    """Connect to the database ``url`` names; the schema is not touched (see ``migrate``)."""
    if url.startswith("sqlite:///"):
        from ledger.store.sqlite import SQLiteEventStore

        return await SQLiteEventStore.connect(Path(url.removeprefix("sqlite:///")))
    if url.startswith(("postgresql://", "postgres://")):
        from ledger.store.postgres import PostgresEventStore

        return await PostgresEventStore.connect(url)
    raise ConfigurationError(
        f"unsupported database URL {url.split(':', 1)[0]!r}: use sqlite:/// or postgresql://"
    )
