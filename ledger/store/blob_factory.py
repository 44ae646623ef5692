"""Choose the blob store for a deployment: ``LEDGER_BLOB_STORE`` or the database's default."""

from __future__ import annotations

from pathlib import Path

from ledger.errors import ConfigurationError
from ledger.store.blob_port import BlobStore
from ledger.store.port import EventStore

BLOB_STORES = ("filesystem", "postgres")


def blob_store_for(store: EventStore, choice: str | None, data_dir: Path) -> BlobStore:
    """The blob store ``choice`` names (None: PostgreSQL's own tables with PostgreSQL, else the
    filesystem under ``data_dir/blobs``). ConfigurationError for an unknown choice, or for
    ``postgres`` without a PostgreSQL database."""
    from ledger.store.blob_fs import FilesystemBlobStore
    from ledger.store.postgres import PostgresEventStore

    if choice is not None and choice not in BLOB_STORES:
        raise ConfigurationError(f"LEDGER_BLOB_STORE={choice!r} is not one of "
                                 f"{', '.join(BLOB_STORES)}")
    if choice == "postgres" and not isinstance(store, PostgresEventStore):
        raise ConfigurationError("LEDGER_BLOB_STORE=postgres needs a PostgreSQL database "
                                 "(LEDGER_DATABASE_URL=postgresql://...); with SQLite use "
                                 "filesystem")
    if isinstance(store, PostgresEventStore) and choice in (None, "postgres"):
        from ledger.store.postgres_blobs import PostgresBlobStore

        return PostgresBlobStore(store)
    return FilesystemBlobStore(data_dir / "blobs")


def blob_store_kind(database_url: str, choice: str | None) -> str:
    """Which blob store ``blob_store_for`` opens for this database URL and choice:
    ``postgres`` or ``filesystem`` (``ledger backup`` copies the files of the latter)."""
    from ledger.store.factory import is_postgres_url

    if choice is not None and choice not in BLOB_STORES:
        raise ConfigurationError(f"LEDGER_BLOB_STORE={choice!r} is not one of "
                                 f"{', '.join(BLOB_STORES)}")
    if is_postgres_url(database_url) and choice in (None, "postgres"):
        return "postgres"
    return "filesystem"
