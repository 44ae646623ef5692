"""SQLite schema, as ordered migrations (index + 1 = schema version)."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE events (
        position    INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id    TEXT    NOT NULL UNIQUE,
        stream_type TEXT    NOT NULL,
        stream_id   TEXT    NOT NULL,
        version     INTEGER NOT NULL CHECK (version >= 1),
        event_type  TEXT    NOT NULL,
        recorded_at TEXT    NOT NULL,
        entry       BLOB    NOT NULL,
        event_hash  BLOB    NOT NULL CHECK (length(event_hash) = 32),
        CONSTRAINT events_stream_version UNIQUE (stream_id, version)
    );
    CREATE INDEX events_stream_type_idx ON events (stream_type, version);
    -- DESIGN.md: the database itself refuses to rewrite history.
    CREATE TRIGGER events_reject_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    CREATE TRIGGER events_reject_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    CREATE TABLE log_queue (
        position INTEGER PRIMARY KEY REFERENCES events (position)
    );
    CREATE TABLE idempotency (
        key          TEXT PRIMARY KEY,
        request_hash BLOB NOT NULL,
        response     BLOB NOT NULL
    );
    """,
)
