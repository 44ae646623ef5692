"""SIGKILL the sequencer at random moments while writers keep writing (PostgreSQL): after a
restart the tree is consistent, no index is lost or duplicated, and no event is left out."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import uuid
from pathlib import Path

from ledger.store.factory import log_store_for
from ledger.store.port import EventStore
from ledger.transparency.keys import load_signers, load_verifiers
from ledger.transparency.sequencer import Sequencer
from ledger.verify import verify_ledger
from tests.conftest import TEST_ORIGIN, drain
from tests.support.events import chain

ROOT = Path(__file__).resolve().parents[2]


async def _start_worker(dsn: str, keys: Path) -> asyncio.subprocess.Process:
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.sequencer_worker", dsn, str(keys), TEST_ORIGIN,
        "37", cwd=ROOT, stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert worker.stdout is not None
    await asyncio.wait_for(worker.stdout.readline(), 30)
    return worker


async def _write(store: EventStore, count: int) -> None:
    for _ in range(count):
        await store.append(chain(uuid.uuid4(), 2))


async def test_sigkilled_sequencer_restarts_to_a_consistent_tree(
        postgres_store: EventStore, pg_dsn: str, signer_keys: Path) -> None:
    rng = random.Random(20261124)
    await _write(postgres_store, 300)
    kills = 0
    for _ in range(8):
        worker = await _start_worker(pg_dsn, signer_keys)
        writing = asyncio.create_task(_write(postgres_store, 150))
        await asyncio.sleep(rng.uniform(0.05, 0.6))
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
        kills += 1
        await writing
    assert kills == 8
    log = log_store_for(postgres_store)
    survivor = Sequencer(log, load_signers(signer_keys, TEST_ORIGIN), TEST_ORIGIN,
                         batch_size=500)
    await drain(survivor)
    await log.resign()
    report = (await verify_ledger(postgres_store, log, load_verifiers(signer_keys),
                                  TEST_ORIGIN)).log
    assert report.problems == []
    total = await postgres_store.count_events()
    assert report.size == total == 2 * (300 + 8 * 150)
    assert report.queued == 0
    assert report.checkpoints > 8


async def test_sequencer_survives_its_connection_being_killed(
        postgres_store: EventStore, pg_dsn: str, signer_keys: Path) -> None:
    import asyncpg

    log = log_store_for(postgres_store)
    sequencer = Sequencer(log, load_signers(signer_keys, TEST_ORIGIN), TEST_ORIGIN,
                          batch_size=20, poll_interval=0.01)
    stop = asyncio.Event()
    running = asyncio.create_task(sequencer.run(stop))
    admin = await asyncpg.connect(pg_dsn)
    try:
        for _ in range(6):
            await _write(postgres_store, 30)
            await asyncio.sleep(0.05)
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND granted AND pid <> pg_backend_pid() AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())")
        await _write(postgres_store, 5)
        for _ in range(200):
            if not await postgres_store.queued_positions():
                break
            await asyncio.sleep(0.05)
        assert not running.done()
        assert await postgres_store.queued_positions() == []
    finally:
        stop.set()
        await running
        await admin.close()
    report = (await verify_ledger(postgres_store, log, load_verifiers(signer_keys),
                                  TEST_ORIGIN)).log
    assert report.problems == []
    assert report.size == await postgres_store.count_events()
