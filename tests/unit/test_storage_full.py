"""A full disk, as each adapter meets it, is one StorageFullError, answered 507 with
Retry-After (RFC 4918 section 11.5): a client knows nothing was stored and that the same
request may succeed later. (tests/e2e/test_full_disk.py fills a real disk under a server.)"""

from __future__ import annotations

import json
import sqlite3

import asyncpg

from api.problem import render_error
from ledger.errors import LedgerError, PushbackError, StorageFullError
from ledger.store.postgres import map_postgres_error
from ledger.store.sqlite import map_sqlite_error


def test_a_full_disk_is_answered_507_with_retry_after_as_a_problem() -> None:
    response = render_error(StorageFullError())
    assert response.status == 507
    assert response.content_type == "application/problem+json"
    assert response.headers["Retry-After"] == "60"
    assert response.text is not None
    document = json.loads(response.text)
    assert (document["status"], document["title"]) == (507, "Insufficient storage")
    assert "nothing was stored" in document["detail"]


def test_sqlite_full_is_storage_full_and_other_operational_errors_are_not() -> None:
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL
    assert isinstance(map_sqlite_error(full), StorageFullError)
    other = sqlite3.OperationalError("disk I/O error")
    other.sqlite_errorcode = sqlite3.SQLITE_IOERR
    mapped = map_sqlite_error(other)
    assert type(mapped) is LedgerError  # unexpected: a 500 with a logged id


def test_postgresql_disk_full_is_storage_full_and_busy_stays_busy() -> None:
    assert isinstance(map_postgres_error(asyncpg.DiskFullError("could not extend file")),
                      StorageFullError)
    busy = map_postgres_error(asyncpg.TooManyConnectionsError("too many"))
    assert isinstance(busy, PushbackError) and not isinstance(busy, StorageFullError)
