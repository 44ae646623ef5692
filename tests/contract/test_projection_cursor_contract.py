"""The projection runner's cursor is the log's gap-free index, never the events table's
serial position: on PostgreSQL a transaction that took a position first may commit after one
that took a later position, so a cursor on positions (``position > last seen``) skips the
earlier one for ever. The runner applies both."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from ledger.projections.runner import ProjectionRunner
from ledger.store.factory import log_store_for
from ledger.store.postgres import PostgresEventStore
from ledger.store.projection_factory import projection_store_for
from ledger.transparency.keys import load_signers
from ledger.transparency.sequencer import Sequencer
from tests.conftest import TEST_ORIGIN, drain
from tests.support.counting import CountingProjector
from tests.support.events import make_event


@pytest.fixture
async def store(pg_dsn: str) -> AsyncIterator[PostgresEventStore]:
    opened = await PostgresEventStore.connect(pg_dsn)
    await opened.migrate()
    yield opened
    await opened.close()


async def test_an_event_that_commits_after_a_later_position_is_still_applied(
        store: PostgresEventStore, pg_dsn: str, signer_keys: Path) -> None:
    log = log_store_for(store)
    sequencer = Sequencer(log, load_signers(signer_keys, TEST_ORIGIN), TEST_ORIGIN)
    projections = projection_store_for(store)
    runner = ProjectionRunner(projections, CountingProjector())
    early = make_event(uuid.uuid4(), 1, None)
    held = await asyncpg.connect(pg_dsn)
    try:
        slow = held.transaction()
        await slow.start()  # takes its position first ...
        early_position = await held.fetchval(
            "INSERT INTO events (event_id, stream_type, stream_id, version, event_type, "
            "recorded_at, entry, event_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
            "RETURNING position", early.event_id, early.stream_type, early.stream_id,
            early.version, early.event_type, early.recorded_at, early.entry, early.event_hash)
        await held.execute("INSERT INTO log_queue (position) VALUES ($1)", early_position)
        late = make_event(uuid.uuid4(), 1, None)
        (late_position,) = await store.append([late])  # ... but this one commits first
        assert late_position > early_position
        await drain(sequencer)
        assert await runner.catch_up() == 1
        naive_cursor = late_position  # where a cursor on positions now stands
        await slow.commit()
        await drain(sequencer)
        assert await runner.catch_up() == 1  # the early event, at the next log index
        missed = await projections.fetch(
            "SELECT count(*) AS n FROM events WHERE position > $1", naive_cursor)
        assert missed[0]["n"] == 0  # a position cursor would never see it
        counted = await projections.fetch("SELECT sum(n) AS n FROM counting_g1")
        assert counted[0]["n"] == 2
    finally:
        await held.close()
        await log.resign()
