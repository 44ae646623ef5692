"""PostgreSQL adapter (production): asyncpg pool, one round trip per append.

An append is a single statement (the ``ledger_append`` function: per-stream advisory locks, the
read-dependency check, then events, log-queue rows and idempotency records), so it is atomic
without an explicit transaction and never takes a global lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from ledger.errors import LedgerError, PushbackError, StorageFullError
from ledger.store import integrity
from ledger.store.port import (
    AuditRow,
    DependencyChangedError,
    IdempotencyRecord,
    NewEvent,
    PagedIteration,
    ReadDependency,
    StoredEvent,
)
from ledger.store.postgres_batch import GroupCommit, is_dependency_changed
from ledger.store.postgres_pool import create_pool
from ledger.store.postgres_schema import MIGRATIONS
from ledger.store.timeouts import SERVICE, DatabaseTimeouts

_MIGRATION_LOCK = 0x4C454447  # "LEDG": advisory lock serialising concurrent migrations

_SELECT_STREAM = """
SELECT position, event_id, stream_type, stream_id, version, event_type, entry, event_hash
FROM events WHERE stream_id = $1 AND version > $2 ORDER BY version
"""
_SELECT_AUDIT = """
SELECT position, event_id::text, stream_type, stream_id::text, version, event_type, event_hash,
       entry
FROM events WHERE position > $1 ORDER BY position LIMIT $2
"""
_SELECT_AFTER = """
SELECT position, event_id, stream_type, stream_id, version, event_type, entry, event_hash
FROM events WHERE position > $1 ORDER BY position LIMIT $2
"""

# What asyncpg raises when the database or the connection fails: mapped to the error tree.
# InternalClientError too: asyncpg raises it (instead of a connection error) on a connection
# the server ended mid-operation, a restart's "terminating connection" (MagicStack/asyncpg
# issues 784, 1069). OSError includes TimeoutError: a database that does not answer within
# its bound (ledger.store.timeouts).
PG_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)


def map_postgres_error(e: Exception) -> LedgerError:
    """Map an asyncpg error to the ledger's error tree (the one place this happens); the
    messages come from ledger.store.integrity and name no schema object."""
    if is_dependency_changed(e):
        return DependencyChangedError("a stream this command decided on has changed since it "
                                      "was read; decide again on fresh state")
    if isinstance(e, asyncpg.UniqueViolationError):
        return integrity.taken(e.table_name)
    if isinstance(e, asyncpg.ForeignKeyViolationError):
        return integrity.missing()
    if isinstance(e, asyncpg.InsufficientPrivilegeError):
        return integrity.append_only()
    if isinstance(e, asyncpg.DiskFullError):  # SQLSTATE 53100: nothing of it was written
        return StorageFullError()
    # A hung database: no connection, no pooled connection or no answer within its bound
    # (TimeoutError), or a statement the server cancelled at its statement_timeout (57014).
    # The write either committed or not (one statement); retrying with the same
    # Idempotency-Key finds it if it did.
    if isinstance(e, (TimeoutError, asyncpg.QueryCanceledError,
                      asyncpg.TooManyConnectionsError, asyncpg.CannotConnectNowError,
                      asyncpg.SerializationError, asyncpg.DeadlockDetectedError,
                      asyncpg.AdminShutdownError, asyncpg.InterfaceError, OSError,
                      asyncpg.InternalClientError,
                      asyncpg.PostgresConnectionError, asyncpg.OperatorInterventionError,
                      asyncpg.ReadOnlySQLTransactionError)):
        return integrity.busy()
    # Unexpected: a 5xx whose text reaches only the server log, under its error id.
    return LedgerError(f"postgresql: {type(e).__name__}: {e}")


async def _no_reset(connection: asyncpg.Connection) -> None:
    return None



class MappedPool:
    """A pool's query methods with the driver's errors mapped (``map_postgres_error``), for
    adapters that read through the pool statement by statement."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def fetch(self, sql: str, *args: object) -> list[Any]:
        try:
            return list(await self.pool.fetch(sql, *args))
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e

    async def fetchrow(self, sql: str, *args: object) -> Any:
        try:
            return await self.pool.fetchrow(sql, *args)
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e

    async def fetchval(self, sql: str, *args: object) -> Any:
        try:
            return await self.pool.fetchval(sql, *args)
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e


async def fetch_dicts(pool: asyncpg.Pool, sql: str, *args: object) -> list[dict[str, Any]]:
    """The rows of one query, each a dict by column name (errors mapped)."""
    try:
        return [dict(r) for r in await pool.fetch(sql, *args)]
    except PG_ERRORS as e:
        raise map_postgres_error(e) from e


async def _migrate(conn: asyncpg.Connection) -> None:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
        current = await conn.fetchval("SELECT max(version) FROM schema_version") or 0
        for number, script in enumerate(MIGRATIONS, start=1):
            if number > current:
                await conn.execute(script)
                await conn.execute("INSERT INTO schema_version VALUES ($1)", number)


def _server(dsn: str) -> str:
    """host:port of ``dsn`` for a message (never its user or password)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(dsn)
        return f"{parts.hostname or 'localhost'}:{parts.port or 5432}"
    except ValueError:
        return "the configured address"


def _row_to_event(row: Any) -> StoredEvent:
    return StoredEvent(
        position=row[0], event_id=row[1], stream_type=row[2], stream_id=row[3],
        version=row[4], event_type=row[5], entry=bytes(row[6]), event_hash=bytes(row[7]),
    )


class PostgresEventStore(PagedIteration):
    """EventStore on PostgreSQL through an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool,
                 timeouts: DatabaseTimeouts = SERVICE) -> None:
        self.pool = pool
        self.dsn: str | None = None
        self.timeouts = timeouts  # the pool's; connections of its own (leadership) use them
        self._group = GroupCommit(pool)

    @classmethod
    async def connect(cls, dsn: str, min_size: int = 2, max_size: int = 20,
                      timeouts: DatabaseTimeouts = SERVICE) -> PostgresEventStore:
        """Open a pool to ``dsn`` whose waits ``timeouts`` bound."""
        try:
            # Pooled connections never hold session state (no session locks, LISTEN or SET;
            # sequencer leadership has its own connection), so asyncpg's per-release RESET ALL
            # round trip is skipped.
            pool = await create_pool(dsn, timeouts, min_size=min_size, max_size=max_size,
                                     reset=_no_reset)
        except TimeoutError as e:
            raise PushbackError(
                f"PostgreSQL at {_server(dsn)} did not answer within {timeouts.connect:g} s "
                "(LEDGER_DB_CONNECT_TIMEOUT_SECONDS); try again") from e
        except OSError as e:
            reason = e.strerror or type(e).__name__
            raise PushbackError(f"cannot reach PostgreSQL at {_server(dsn)}: {reason}; "
                                "try again") from e
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e
        store = cls(pool, timeouts)
        store.dsn = dsn
        return store

    async def close(self) -> None:
        """Close the pool."""
        await self.pool.close()

    async def migrate(self) -> None:
        """Apply missing migrations under an advisory lock (safe from many processes), on a
        connection of their own without the pool's statement bound: a migration rewriting a
        large table may rightly take longer than any request."""
        if self.dsn is None:
            async with self.pool.acquire() as conn:
                await _migrate(conn)
            return
        conn = await asyncpg.connect(self.dsn, timeout=self.timeouts.connect)
        try:
            await _migrate(conn)
        finally:
            await conn.close()

    async def append(
        self, events: Sequence[NewEvent], idempotency: IdempotencyRecord | None = None,
        depends_on: Sequence[ReadDependency] = (),
    ) -> list[int]:
        """Append events, queue rows and the idempotency record in one statement (coalesced
        with concurrent appends by group commit), if ``depends_on`` is unchanged."""
        return await self.append_commands(events, () if idempotency is None else (idempotency,),
                                          depends_on)

    async def append_commands(
        self, events: Sequence[NewEvent], idempotency: Sequence[IdempotencyRecord],
        depends_on: Sequence[ReadDependency] = (),
    ) -> list[int]:
        """``append`` for several commands: one statement (itself coalesced by group commit)."""
        try:
            return await self._group.append(events, idempotency, depends_on)
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e

    async def _fetch(self, sql: str, *args: object) -> list[Any]:
        try:
            return list(await self.pool.fetch(sql, *args))
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e

    async def read_stream(self, stream_id: UUID, after_version: int = 0) -> list[StoredEvent]:
        """Return one stream's events after ``after_version`` in version order."""
        return [_row_to_event(r)
                for r in await self._fetch(_SELECT_STREAM, stream_id, after_version)]

    async def read_all(self, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Return events after ``after`` in position order."""
        return [_row_to_event(r) for r in await self._fetch(_SELECT_AFTER, after, limit)]

    async def read_for_audit(self, after: int = 0, limit: int = 5000) -> Sequence[AuditRow]:
        """Return plain rows after ``after`` in position order (asyncpg records are tuples
        enough: indexable and unpackable)."""
        return await self._fetch(_SELECT_AUDIT, after, limit)

    async def find_event(self, event_id: UUID) -> StoredEvent | None:
        """Return one event by its id."""
        rows = await self._fetch(
            "SELECT position, event_id, stream_type, stream_id, version, event_type, entry, "
            "event_hash FROM events WHERE event_id = $1", event_id)
        return _row_to_event(rows[0]) if rows else None

    async def count_events(self) -> int:
        """Return how many events are stored."""
        rows = await self._fetch("SELECT count(*) FROM events")
        return int(rows[0][0])

    async def stream_ids(self, stream_type: str) -> list[UUID]:
        """Return every stream id of a type, oldest first."""
        rows = await self._fetch(
            "SELECT stream_id FROM events WHERE stream_type = $1 AND version = 1 "
            "ORDER BY position", stream_type,
        )
        return [r[0] for r in rows]

    async def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        """Return the stored outcome for a key."""
        rows = await self._fetch(
            "SELECT key, request_hash, response FROM idempotency WHERE key = $1", key
        )
        if not rows:
            return None
        return IdempotencyRecord(rows[0][0], bytes(rows[0][1]), bytes(rows[0][2]))

    async def find_idempotencies(self, keys: Sequence[str]) -> dict[str, IdempotencyRecord]:
        """Return the stored outcomes of ``keys``, in one query."""
        if not keys:
            return {}
        rows = await self._fetch(
            "SELECT key, request_hash, response FROM idempotency WHERE key = ANY($1::text[])",
            list(keys))
        return {r[0]: IdempotencyRecord(r[0], bytes(r[1]), bytes(r[2])) for r in rows}

    async def queued_positions(self, limit: int = 1000) -> list[int]:
        """Return positions waiting for the sequencer."""
        rows = await self._fetch(
            "SELECT position FROM log_queue ORDER BY position LIMIT $1", limit
        )
        return [int(r[0]) for r in rows]
