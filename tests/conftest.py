"""Shared fixtures: real stores. PostgreSQL tests skip when no server answers, except in CI."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import pytest

from ledger.service.ledger import Ledger
from ledger.store.port import EventStore
from ledger.store.postgres import PostgresEventStore
from ledger.store.sqlite import SQLiteEventStore
from ledger.transparency.sequencer import Sequencer

if TYPE_CHECKING:
    from tests.integration.operator import Operator

PG_ADMIN_DSN = os.environ.get("LEDGER_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _dsn_for(database: str) -> str:
    return PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + database


async def _pg_available() -> bool:
    try:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


@pytest.fixture
async def pg_dsn() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards)."""
    if not await _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not answering at {PG_ADMIN_DSN} (required in CI)")
        pytest.skip("PostgreSQL is not answering")
    name = f"ledger_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield _dsn_for(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """A fresh SQLite file path for one test."""
    return tmp_path / "ledger.db"


@pytest.fixture
async def sqlite_store(sqlite_path: Path) -> AsyncIterator[EventStore]:
    """A migrated, empty SQLite store."""
    opened = await SQLiteEventStore.connect(sqlite_path)
    await opened.migrate()
    yield opened
    await opened.close()


@pytest.fixture
async def postgres_store(pg_dsn: str) -> AsyncIterator[EventStore]:
    """A migrated, empty PostgreSQL store in its own database."""
    opened = await PostgresEventStore.connect(pg_dsn)
    await opened.migrate()
    yield opened
    await opened.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> EventStore:
    """The same contract, every adapter."""
    opened: EventStore = request.getfixturevalue(f"{request.param}_store")
    return opened


@pytest.fixture
def operator(request: pytest.FixtureRequest, store: EventStore, sqlite_path: Path) -> Operator:
    """A rogue operator with direct access to the database behind ``store``."""
    from tests.integration.operator import PostgresOperator, SQLiteOperator

    if request.node.callspec.params["store"] == "sqlite":
        return SQLiteOperator(sqlite_path)
    return PostgresOperator(request.getfixturevalue("pg_dsn"))


@pytest.fixture
async def ledger(store: EventStore) -> Ledger:
    """A Ledger over a migrated store with the built-in templates installed."""
    facade = Ledger(store)
    await facade.install_builtin_templates()
    return facade


async def drain(sequencer: Sequencer) -> None:
    """Sequence every queued event into the log and sign a checkpoint."""
    while await sequencer.step():
        pass


@pytest.fixture
def signer_keys(tmp_path: Path) -> Path:
    """A key folder with one checkpoint signing key for the test origin."""
    from ledger.transparency.keys import create_key

    folder = tmp_path / "keys"
    create_key(folder, TEST_ORIGIN)
    return folder


TEST_ORIGIN = "ledger.test/log"
