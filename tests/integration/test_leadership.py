"""Leadership of the background roles on PostgreSQL (ledger.leadership): one session leads
a role and another stands by; a leader whose session is killed steps down and a standby
takes over; a worker stopped on an error gives its role up; the log's growth, committed by
any process's sequencer, reaches every listening session."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from ledger.errors import PushbackError
from ledger.leadership import Leadership
from ledger.store.factory import log_store_for
from ledger.store.port import EventStore
from ledger.store.postgres_leases import PostgresLeaseStore, lock_key
from ledger.transparency.keys import load_signers
from ledger.transparency.sequencer import Sequencer
from ledger.workers import LoopWorker
from tests.conftest import TEST_ORIGIN
from tests.support.events import chain

ROLE = "projection:test"


class Counted:
    """A led worker that counts its steps (and can be made to fail)."""

    def __init__(self) -> None:
        self.steps = 0
        self.fail = False
        self.refuse = False  # its storage away or full for now (PushbackError)
        self.worker = LoopWorker(ROLE, self.step, idle_seconds=0.05)

    async def step(self) -> int:
        if self.fail:
            raise RuntimeError("cannot apply")
        if self.refuse:
            raise PushbackError("the database is busy or unavailable; try again")
        self.steps += 1
        return 0


@contextlib.asynccontextmanager
async def process(dsn: str) -> AsyncIterator[tuple[Leadership, Counted]]:
    """What one ``ledger serve`` process runs for the role: its leadership and the worker."""
    counted = Counted()
    leadership = Leadership(PostgresLeaseStore(dsn), retry_seconds=0.1)
    leadership.lead(counted.worker)
    await leadership.start()
    await counted.worker.start()
    try:
        yield leadership, counted
    finally:
        await counted.worker.stop()
        await leadership.stop()


async def _eventually(condition: object, seconds: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.02)


async def _holder(admin: asyncpg.Connection, role: str) -> int | None:
    """The backend holding ``role``'s advisory lock, as an operator finds it in pg_locks."""
    key = lock_key(role) & 0xFFFFFFFFFFFFFFFF
    pid: int | None = await admin.fetchval(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1 "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        key >> 32, key & 0xFFFFFFFF)
    return pid


async def test_one_session_leads_and_a_standby_takes_over_when_it_is_killed(
        pg_dsn: str) -> None:
    admin = await asyncpg.connect(pg_dsn)
    try:
        async with process(pg_dsn) as (first, a), process(pg_dsn) as (second, b):
            assert first.leads(ROLE) and not second.leads(ROLE)
            assert a.worker.health().detail.startswith("leading")
            assert b.worker.health().ok
            assert b.worker.health().detail == "standing by (another process leads)"
            assert second.health().detail == f"standing by for {ROLE}"
            await _eventually(lambda: a.steps > 0)
            b_steps = b.steps
            assert b_steps == 0  # a standby never steps

            holder = await _holder(admin, ROLE)
            assert holder is not None
            await admin.execute("SELECT pg_terminate_backend($1)", holder)
            await _eventually(lambda: second.leads(ROLE))
            await _eventually(lambda: b.steps > 0)
            assert not first.leads(ROLE)  # it stepped down with its session ...
            await _eventually(lambda: first.health().detail == f"standing by for {ROLE}")
            assert second.leads(ROLE)  # ... and, back with a new one, stands by
    finally:
        await admin.close()


async def test_a_leader_whose_worker_stopped_on_an_error_hands_the_role_over(
        pg_dsn: str) -> None:
    async with process(pg_dsn) as (first, a), process(pg_dsn) as (second, b):
        assert first.leads(ROLE)
        a.fail = True
        a.worker.poke()
        await _eventually(lambda: not a.worker.health().ok)
        await _eventually(lambda: second.leads(ROLE))
        await _eventually(lambda: b.steps > 0)
        assert not first.leads(ROLE)


async def test_a_batch_sequenced_anywhere_wakes_every_listening_session(
        postgres_store: EventStore, pg_dsn: str, signer_keys: Path) -> None:
    grown = asyncio.Event()
    leases = PostgresLeaseStore(pg_dsn)
    await leases.open(on_lost=lambda: None, on_log_grown=grown.set)
    try:
        await postgres_store.append(chain(uuid.uuid4(), 2))
        log = log_store_for(postgres_store)
        sequencer = Sequencer(log, load_signers(signer_keys, TEST_ORIGIN), TEST_ORIGIN)
        assert await sequencer.step() == 2
        await log.resign()
        await asyncio.wait_for(grown.wait(), 15)
    finally:
        await leases.close()


async def test_a_leader_whose_worker_is_retrying_keeps_the_role_and_goes_on(
        pg_dsn: str) -> None:
    # Retrying is not stopping: a leader that gave the role up while its worker waited for
    # the storage would, its worker unhealthy meanwhile, never take it back (nor would the
    # standby be better off: the storage is everyone's).
    async with process(pg_dsn) as (first, a), process(pg_dsn) as (second, b):
        assert first.leads(ROLE)
        a.refuse = True
        a.worker.poke()
        await _eventually(lambda: a.worker.health().retrying)
        await asyncio.sleep(0.5)  # several leadership rounds
        assert first.leads(ROLE) and not second.leads(ROLE)
        assert not a.worker.health().ok
        steps = a.steps
        a.refuse = False
        await _eventually(lambda: a.steps > steps and a.worker.health().ok)
        assert first.leads(ROLE) and b.steps == 0
