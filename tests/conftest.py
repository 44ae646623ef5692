"""Shared fixtures: real stores. PostgreSQL tests skip when no server answers, except in CI.

The suite runs on every core (pytest-xdist, see ``pytest_cmdline_main``): each worker process
has a PostgreSQL database of its own, emptied before each test that asks for one, and tests
that share a module-scoped fixture run on one worker (``pytest_collection_modifyitems``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import psycopg
import pytest
from hypothesis import settings
from psycopg import sql

from ledger.service.ledger import Ledger
from ledger.store.port import EventStore
from ledger.store.postgres import PostgresEventStore
from ledger.store.sqlite import SQLiteEventStore
from ledger.transparency.sequencer import Sequencer

if TYPE_CHECKING:
    from tests.integration.operator import Operator

PG_ADMIN_DSN = os.environ.get("LEDGER_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


# Hypothesis's per-example deadline (200 ms) times the wall clock, which a busy machine (the
# suite's own workers on every core, PostgreSQL, other processes) stretches: a test failed
# on a draw that takes a few ms when the machine is idle. Examples are checked, not timed.
settings.register_profile("ledger", deadline=None)
settings.load_profile("ledger")


def _dsn_for(database: str) -> str:
    return PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + database


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Run on every core unless told otherwise: ``-n auto --dist loadgroup`` when pytest-xdist
    is loaded and neither ``-n`` nor ``--pdb`` was given. ``-n0`` or ``-p no:xdist`` run in one
    process (for debugging one test). Not in ``addopts``, so that ``-p no:xdist`` still parses."""
    if hasattr(config, "workerinput") or not config.pluginmanager.has_plugin("xdist"):
        return
    if config.option.numprocesses is None and not config.option.usepdb:
        config.option.numprocesses = "auto"
        if config.option.dist == "no":
            config.option.dist = "loadgroup"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep the tests of a module that share a module-scoped fixture of ours (an exported
    bundle, a served ledger, a built Go program) on one xdist worker, so it is made once."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        shared = [defs[-1] for defs in info.name2fixturedefs.values()
                  if defs and defs[-1].scope in ("module", "class", "package")
                  and getattr(defs[-1].func, "__module__", "").startswith("tests.")]
        if shared:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))


@pytest.fixture(scope="session")
def pg_worker_database() -> Iterator[str]:
    """This process's own PostgreSQL database, made fresh at its first use and dropped at the
    end: one per xdist worker and run (its name carries the run's id, so two runs on one
    server, say two checkouts, never meet)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", uuid.uuid4().hex)[:10]
    name = f"ledger_test_{run}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not answering at {PG_ADMIN_DSN} (required in CI)")
        pytest.skip("PostgreSQL is not answering")
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with admin:
        admin.execute(drop)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield _dsn_for(name)
        finally:
            admin.execute(drop)


@pytest.fixture
async def pg_dsn(pg_worker_database: str) -> str:
    """An empty PostgreSQL database for one test: this worker's, emptied first (whatever the
    last test left: connections are ended, the public schema is dropped and made anew)."""
    conn = await asyncpg.connect(pg_worker_database)
    try:
        await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    return pg_worker_database


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
