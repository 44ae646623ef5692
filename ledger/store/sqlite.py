"""SQLite adapter (the embedded default): aiosqlite on one connection, WAL, full fsync.

One connection serialises statements; an asyncio lock keeps each transaction whole so no reader
sees another coroutine's uncommitted rows. Cross-process writers are serialised by
``BEGIN IMMEDIATE`` and the busy timeout. That serialisation is also why read dependencies are
sound here with one plain query: inside a write transaction no other writer (coroutine or
process) can commit, so a stream's ``max(version)`` read there stays true until our COMMIT.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import aiosqlite

from ledger.durable import private_sqlite_file
from ledger.entry import format_time
from ledger.errors import LedgerError, StorageFullError
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
from ledger.store.sqlite_schema import MIGRATIONS

_SELECT_STREAM = (
    "SELECT position, event_id, stream_type, stream_id, version, event_type, entry, event_hash"
    " FROM events WHERE stream_id = ? AND version > ? ORDER BY version"
)
_SELECT_AUDIT = (
    "SELECT position, event_id, stream_type, stream_id, version, event_type, event_hash, entry"
    " FROM events WHERE position > ? ORDER BY position LIMIT ?"
)
_SELECT_VERSIONS = (  # the ids as one JSON array: any number of them, one statement
    "SELECT stream_id, max(version) FROM events"
    " WHERE stream_id IN (SELECT value FROM json_each(?)) GROUP BY stream_id"
)
_SELECT_AFTER = (
    "SELECT position, event_id, stream_type, stream_id, version, event_type, entry, event_hash"
    " FROM events WHERE position > ? ORDER BY position LIMIT ?"
)


_FAILED_ON = re.compile(r"constraint failed: (\w+)\.")  # "UNIQUE constraint failed: t.c"


def map_sqlite_error(e: sqlite3.Error) -> LedgerError:
    """Map a driver error to the ledger's error tree (the one place this happens); the
    messages come from ledger.store.integrity and name no schema object."""
    text = str(e)
    if isinstance(e, sqlite3.IntegrityError) and ("UNIQUE" in text or "PRIMARY KEY" in text):
        table = _FAILED_ON.search(text)
        return integrity.taken(table.group(1) if table else None)
    if isinstance(e, sqlite3.IntegrityError) and "FOREIGN KEY" in text:
        return integrity.missing()
    if isinstance(e, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return integrity.busy()
    if getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:  # the transaction is undone
        return StorageFullError()
    if "append-only" in text:
        return integrity.append_only()
    # Unexpected: a 5xx whose text reaches only the server log, under its error id.
    return LedgerError(f"sqlite: {text}")


async def _check_dependencies(db: aiosqlite.Connection,
                              depends_on: Sequence[ReadDependency]) -> None:
    """Raise DependencyChangedError unless each stream is at the version the command read
    (precondition: inside a BEGIN IMMEDIATE transaction, so no writer can move it before our
    COMMIT)."""
    wanted = {str(d.stream_id): d.version for d in depends_on}
    rows = await db.execute_fetchall(_SELECT_VERSIONS, (json.dumps(list(wanted)),))
    found = {str(r[0]): int(r[1]) for r in rows}
    if any(found.get(stream_id, 0) != version for stream_id, version in wanted.items()):
        raise DependencyChangedError("a stream this command decided on has changed since it "
                                     "was read; decide again on fresh state")


def _row_to_event(row: Any) -> StoredEvent:
    return StoredEvent(
        position=row[0], event_id=UUID(row[1]), stream_type=row[2], stream_id=UUID(row[3]),
        version=row[4], event_type=row[5], entry=bytes(row[6]), event_hash=bytes(row[7]),
    )


class SQLiteEventStore(PagedIteration):
    """EventStore on a SQLite file. Call ``open`` (or use ``connect``) before anything else."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    @classmethod
    async def connect(cls, path: Path) -> SQLiteEventStore:
        """Open (creating folders as needed) the database at ``path``."""
        store = cls(path)
        await store.open()
        return store

    async def open(self) -> None:
        """Open the connection and set the durability pragmas."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        private_sqlite_file(self._path)
        self._db = await aiosqlite.connect(self._path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON",
                       "busy_timeout=10000"):
            await self._db.execute(f"PRAGMA {pragma}")

    @property
    def lock(self) -> asyncio.Lock:
        """Held for every statement sequence that must not interleave with another."""
        return self._lock

    @property
    def db(self) -> aiosqlite.Connection:
        """The open connection (precondition: ``open`` was awaited)."""
        if self._db is None:
            raise LedgerError("SQLite store is not open")
        return self._db

    async def close(self) -> None:
        """Close the connection."""
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def migrate(self) -> None:
        """Apply the migrations this file has not seen, each in its own transaction."""
        async with self._lock:
            await self.db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
            rows = await self.db.execute_fetchall("SELECT max(version) FROM schema_version")
            current = next(iter(rows))[0] or 0
            for number, script in enumerate(MIGRATIONS, start=1):
                if number <= current:
                    continue
                await self.db.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\n"
                    f"INSERT INTO schema_version VALUES ({number});\nCOMMIT;"
                )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction (BEGIN IMMEDIATE), whole: commits on success, else rolls back."""
        async with self._lock:
            db = self.db
            try:
                await db.execute("BEGIN IMMEDIATE")
                yield db
                await db.execute("COMMIT")
            except sqlite3.Error as e:
                if db.in_transaction:
                    await db.execute("ROLLBACK")
                raise map_sqlite_error(e) from e
            except BaseException:
                if db.in_transaction:
                    await db.execute("ROLLBACK")
                raise

    async def append(
        self, events: Sequence[NewEvent], idempotency: IdempotencyRecord | None = None,
        depends_on: Sequence[ReadDependency] = (),
    ) -> list[int]:
        """Append events, their queue rows and the idempotency record in one transaction, if
        every stream of ``depends_on`` is still at its version (checked inside it)."""
        return await self.append_commands(events, () if idempotency is None else (idempotency,),
                                          depends_on)

    async def append_commands(
        self, events: Sequence[NewEvent], idempotency: Sequence[IdempotencyRecord],
        depends_on: Sequence[ReadDependency] = (),
    ) -> list[int]:
        """``append`` for several commands: one transaction, so one fsync for them all."""
        positions = []
        async with self.transaction() as db:
            if depends_on:
                await _check_dependencies(db, depends_on)
            for ev in events:
                cursor = await db.execute(
                    "INSERT INTO events (event_id, stream_type, stream_id, version, "
                    "event_type, recorded_at, entry, event_hash) VALUES (?,?,?,?,?,?,?,?)",
                    (str(ev.event_id), ev.stream_type, str(ev.stream_id), ev.version,
                     ev.event_type, format_time(ev.recorded_at), ev.entry, ev.event_hash),
                )
                positions.append(int(cursor.lastrowid or 0))
            await db.executemany("INSERT INTO log_queue (position) VALUES (?)",
                                 [(p,) for p in positions])
            if idempotency:
                await db.executemany(
                    "INSERT INTO idempotency (key, request_hash, response) VALUES (?,?,?)",
                    [(r.key, r.request_hash, r.response) for r in idempotency],
                )
        return positions

    async def fetch(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        """Run one read statement, isolated from in-flight write transactions."""
        async with self._lock:
            try:
                return list(await self.db.execute_fetchall(sql, params))
            except sqlite3.Error as e:
                raise map_sqlite_error(e) from e

    async def read_stream(self, stream_id: UUID, after_version: int = 0) -> list[StoredEvent]:
        """Return one stream's events after ``after_version`` in version order."""
        rows = await self.fetch(
            _SELECT_STREAM, (str(stream_id), after_version),
        )
        return [_row_to_event(r) for r in rows]

    async def read_all(self, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Return events after ``after`` in position order."""
        rows = await self.fetch(
            _SELECT_AFTER, (after, limit),
        )
        return [_row_to_event(r) for r in rows]

    async def read_for_audit(self, after: int = 0, limit: int = 5000) -> Sequence[AuditRow]:
        """Return plain rows after ``after`` in position order (ids are stored as text)."""
        return await self.fetch(_SELECT_AUDIT, (after, limit))

    async def find_event(self, event_id: UUID) -> StoredEvent | None:
        """Return one event by its id."""
        rows = await self.fetch(
            "SELECT position, event_id, stream_type, stream_id, version, event_type, entry, "
            "event_hash FROM events WHERE event_id = ?", (str(event_id),))
        return _row_to_event(rows[0]) if rows else None

    async def count_events(self) -> int:
        """Return how many events are stored."""
        rows = await self.fetch("SELECT count(*) FROM events")
        return int(rows[0][0])

    async def stream_ids(self, stream_type: str) -> list[UUID]:
        """Return every stream id of a type, oldest first."""
        rows = await self.fetch(
            "SELECT stream_id FROM events WHERE stream_type = ? AND version = 1 ORDER BY position",
            (stream_type,),
        )
        return [UUID(r[0]) for r in rows]

    async def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        """Return the stored outcome for a key."""
        rows = await self.fetch(
            "SELECT key, request_hash, response FROM idempotency WHERE key = ?", (key,)
        )
        if not rows:
            return None
        return IdempotencyRecord(rows[0][0], bytes(rows[0][1]), bytes(rows[0][2]))

    async def find_idempotencies(self, keys: Sequence[str]) -> dict[str, IdempotencyRecord]:
        """Return the stored outcomes of ``keys`` (as one JSON array: one statement)."""
        if not keys:
            return {}
        rows = await self.fetch(
            "SELECT key, request_hash, response FROM idempotency"
            " WHERE key IN (SELECT value FROM json_each(?))", (json.dumps(list(keys)),))
        return {r[0]: IdempotencyRecord(r[0], bytes(r[1]), bytes(r[2])) for r in rows}

    async def queued_positions(self, limit: int = 1000) -> list[int]:
        """Return positions waiting for the sequencer."""
        rows = await self.fetch(
            "SELECT position FROM log_queue ORDER BY position LIMIT ?", (limit,)
        )
        return [int(r[0]) for r in rows]
