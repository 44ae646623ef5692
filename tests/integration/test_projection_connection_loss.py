"""A projection batch whose database connection is ended under it (a PostgreSQL restart, an
administrator's ``pg_terminate_backend``) is retried, not recorded as an event the projection
cannot apply: the read model goes on by itself once the database answers, counting every
entry once."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from ledger.bootstrap import bootstrap
from ledger.demo_scenarios import play_all
from ledger.errors import ProjectionStoppedError, PushbackError
from ledger.projections.runner import ProjectionRunner
from ledger.settings import Settings
from tests.conftest import TEST_ORIGIN, drain
from tests.support.counting import CountingProjector

# What the server does to a batch when it goes away: ends the session outright (the
# connection is gone), or answers a statement with the error of a shutting-down server (57P01,
# the message a restart sends every session; here the connection stays usable, so the batch
# could be rolled back and a stopping error recorded in its place).
SERVER_GOES_AWAY = {
    "session ended": "SELECT pg_terminate_backend(pg_backend_pid())",
    "shutdown answered": "DO $$ BEGIN RAISE EXCEPTION 'terminating connection due to "
                         "administrator command' USING ERRCODE = '57P01'; END $$",
}


class _ServerGoesAway(CountingProjector):
    """Counts events; at the ``at``-th event of its first batch the server goes away."""

    def __init__(self, at: int, how: str) -> None:
        super().__init__()
        self.at, self.how, self.seen = at, how, 0

    async def apply(self, tx: Any, generation: int, logged: Any, entry: Any) -> None:
        self.seen += 1
        if self.seen == self.at:
            await tx.execute(SERVER_GOES_AWAY[self.how])
        await super().apply(tx, generation, logged, entry)


@pytest.mark.parametrize("how", list(SERVER_GOES_AWAY))
async def test_a_batch_the_database_cuts_off_is_retried_not_taken_for_a_poison_event(
        how: str, pg_dsn: str, tmp_path: Path) -> None:
    settings = Settings(database_url=pg_dsn, data_dir=tmp_path, key_dir=tmp_path / "keys",
                        log_origin=TEST_ORIGIN)
    runtime = await bootstrap(settings)
    try:
        await play_all(runtime.ledger, dt.date(2026, 11, 2), runtime.blobs, runtime.principals)
        await drain(runtime.sequencer)
        size = await runtime.projections.log_size()
        runner = ProjectionRunner(runtime.projections, _ServerGoesAway(5, how), batch=50)
        await runner.prepare()  # as bootstrap does: its state row and tables

        with pytest.raises(PushbackError):  # the database is away: retry later
            await runner.step()

        state = {s.name: s for s in await runtime.projections.states()}["counting"]
        assert (state.position, state.error) == (0, None)  # nothing applied, nothing poisoned
        runner.worker.poke()
        await runner.worker.start()  # the worker retries by itself, to the end of the log
        for _ in range(200):
            state = {s.name: s for s in await runtime.projections.states()}["counting"]
            if state.position == size:
                break
            await asyncio.sleep(0.05)
        await runner.worker.stop()
        assert (state.position, state.error) == (size, None)
        counted = await runtime.projections.fetch(
            f"SELECT sum(n) AS n FROM counting_g{state.generation}")
        assert counted[0]["n"] == size  # each entry once, though a batch was cut off
        assert runner.worker.health().ok
    finally:
        await runtime.close()


async def test_an_event_the_projection_cannot_apply_still_stops_it(
        pg_dsn: str, tmp_path: Path) -> None:
    settings = Settings(database_url=pg_dsn, data_dir=tmp_path, key_dir=tmp_path / "keys",
                        log_origin=TEST_ORIGIN)
    runtime = await bootstrap(settings)
    try:
        await play_all(runtime.ledger, dt.date(2026, 11, 2), runtime.blobs, runtime.principals)
        await drain(runtime.sequencer)
        runner = ProjectionRunner(runtime.projections,
                                  CountingProjector(poison="DepartureSubmittedForApproval"))
        await runner.prepare()

        with pytest.raises(ProjectionStoppedError, match="DepartureSubmittedForApproval"):
            await runner.step()

        state = {s.name: s for s in await runtime.projections.states()}["counting"]
        assert state.error is not None and "no rule for this event" in state.error
    finally:
        await runtime.close()
