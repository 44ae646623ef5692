"""Open the store a database URL names (``sqlite:///path`` or ``postgresql://...``)."""

from __future__ import annotations

from pathlib import Path

from ledger.errors import ConfigurationError
from ledger.store.log_port import LogStore
from ledger.store.port import EventStore
from ledger.store.principal_port import PrincipalStore
from ledger.store.session_port import SessionStore
from ledger.store.timeouts import SERVICE, DatabaseTimeouts
from ledger.workers import Worker

DEFAULT_DATABASE_URL = "sqlite:///./ledger-data/ledger.db"


def sqlite_path(url: str) -> Path | None:
    """The file a ``sqlite:///`` URL names, or None for any other URL."""
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def is_postgres_url(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL server."""
    return url.startswith(("postgresql://", "postgres://"))


def redacted_url(url: str) -> str:
    """``url`` fit for a message: a server URL shows its host, port and database only, never
    a user, a password (even one holding ``@``, ``/`` or ``?``) or its query (which may name a
    password, escaped or not: ``?password=``, ``?pass%77ord=``); when what follows its last
    ``@`` is part of a query, only ``scheme://…``. An SQLite URL is a file's name: as it is."""
    scheme, found, rest = url.partition("://")
    if not found or scheme == "sqlite":
        return url
    user = ""
    if "@" in rest:
        rest, user = rest.rpartition("@")[2], "…@"
    place, query, _ = rest.partition("?")
    if any(c in place for c in "=&%"):  # that @ stood in a query: nothing here is safe to show
        return f"{scheme}://…"
    return f"{scheme}://{user}{place}{'?…' if query else ''}"


async def open_store(url: str, timeouts: DatabaseTimeouts = SERVICE) -> EventStore:
    """Connect to the database ``url`` names; the schema is not touched (see ``migrate``).
    ``timeouts`` bound a PostgreSQL store's waits on its server."""
    if (path := sqlite_path(url)) is not None:
        from ledger.store.sqlite import SQLiteEventStore

        return await SQLiteEventStore.connect(path)
    if is_postgres_url(url):
        from ledger.store.postgres import PostgresEventStore

        return await PostgresEventStore.connect(url, timeouts=timeouts)
    raise ConfigurationError(
        f"unsupported database URL {url.split(':', 1)[0]!r}: use sqlite:/// or postgresql://"
    )


def log_store_for(store: EventStore) -> LogStore:
    """The transparency-log adapter sharing ``store``'s database."""
    from ledger.store.postgres import PostgresEventStore
    from ledger.store.postgres_log import PostgresLogStore
    from ledger.store.sqlite import SQLiteEventStore
    from ledger.store.sqlite_log import SQLiteLogStore

    if isinstance(store, SQLiteEventStore):
        return SQLiteLogStore(store)
    if isinstance(store, PostgresEventStore):
        return PostgresLogStore(store)
    raise ConfigurationError(f"no log adapter for {type(store).__name__}")


def principal_store_for(store: EventStore) -> PrincipalStore:
    """The principal adapter sharing ``store``'s database."""
    from ledger.store.postgres import PostgresEventStore
    from ledger.store.postgres_principals import PostgresPrincipalStore
    from ledger.store.sqlite import SQLiteEventStore
    from ledger.store.sqlite_principals import SQLitePrincipalStore

    if isinstance(store, SQLiteEventStore):
        return SQLitePrincipalStore(store)
    if isinstance(store, PostgresEventStore):
        return PostgresPrincipalStore(store)
    raise ConfigurationError(f"no principal adapter for {type(store).__name__}")


def token_feed_for(principals: PrincipalStore) -> Worker | None:
    """The worker that lets ``principals`` cache verified tokens while it keeps the cache true
    (``ledger serve`` runs it); None where there is no such cache (SQLite: every request
    looks its token up in the file)."""
    from ledger.store.postgres_principals import PostgresPrincipalStore

    if isinstance(principals, PostgresPrincipalStore):
        return principals.token_feed()
    return None


def session_store_for(store: EventStore) -> SessionStore:
    """The console session adapter sharing ``store``'s database."""
    from ledger.store.postgres import PostgresEventStore
    from ledger.store.postgres_sessions import PostgresSessionStore
    from ledger.store.sqlite import SQLiteEventStore
    from ledger.store.sqlite_sessions import SQLiteSessionStore

    if isinstance(store, SQLiteEventStore):
        return SQLiteSessionStore(store)
    if isinstance(store, PostgresEventStore):
        return PostgresSessionStore(store)
    raise ConfigurationError(f"no session adapter for {type(store).__name__}")
