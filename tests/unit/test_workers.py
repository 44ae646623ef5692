"""The worker protocol: a loop that idles, wakes when poked, stops on request or on an error."""

from __future__ import annotations

import asyncio

from ledger.errors import PushbackError, StorageFullError
from ledger.workers import LoopWorker, WorkerGroup, WorkerHealth


async def test_a_loop_worker_runs_until_stopped_and_wakes_when_poked() -> None:
    calls: list[int] = []

    async def step() -> int:
        calls.append(1)
        return 0

    worker = LoopWorker("w", step, idle_seconds=60)
    group = WorkerGroup([worker])
    await group.start()
    await asyncio.sleep(0.01)
    assert len(calls) == 1  # idle for a minute unless poked
    worker.poke()
    await asyncio.sleep(0.01)
    assert len(calls) == 2
    await group.stop()
    assert [(h.name, h.ok, h.detail) for h in group.health()] == [("w", True, "stopped")]


async def test_a_loop_worker_stops_at_an_error_and_says_so() -> None:
    async def step() -> int:
        raise ValueError("event 7 cannot be projected")

    worker = LoopWorker("projection:board", step)
    await worker.start()
    await asyncio.sleep(0.01)
    health = worker.health()
    assert (health.ok, health.detail) == (False, "stopped: event 7 cannot be projected")
    await worker.stop()
    assert not worker.health().ok


async def test_a_loop_worker_retries_a_step_refused_for_a_full_disk_until_it_succeeds() -> None:
    calls: list[int] = []

    async def step() -> int:
        calls.append(1)
        if len(calls) <= 2:
            raise StorageFullError()
        return 0

    worker = LoopWorker("projection:board", step, idle_seconds=60)
    await worker.start()
    await asyncio.sleep(0.05)
    health = worker.health()
    assert (len(calls), health.ok) == (1, False)  # waiting out the back-off, not stopped
    assert health.detail.startswith("retrying: no space left")
    worker.poke()  # pokes do not shorten the back-off (0.5 s, then 1 s)
    await asyncio.sleep(1.7)
    assert len(calls) == 3 and worker.health().ok
    assert worker.error is None and worker.waiting is None
    await worker.stop()
    assert worker.health().ok


async def test_a_poke_during_a_step_runs_the_next_step_at_once() -> None:
    calls: list[int] = []
    worker: LoopWorker

    async def step() -> int:
        calls.append(1)
        if len(calls) == 1:
            worker.poke()  # new work arrived while this step ran
        return 0

    worker = LoopWorker("w", step, idle_seconds=60)
    await worker.start()
    await asyncio.sleep(0.02)
    assert len(calls) == 2  # not after a minute's idling
    await worker.stop()


async def test_a_step_short_of_a_full_batch_waits_for_the_next_poke_paced() -> None:
    calls: list[int] = []

    async def step() -> int:
        calls.append(1)
        return 3  # of a batch of 10: everything there was

    worker = LoopWorker("projection:w", step, idle_seconds=60, full=10, pace_seconds=0.05)
    await worker.start()
    await asyncio.sleep(0.01)
    worker.poke()  # the log grew during the pause: kept, not run at once
    await asyncio.sleep(0.02)
    assert len(calls) == 1
    await asyncio.sleep(0.06)
    assert len(calls) == 2  # then, after the pause; and nothing more until the next poke
    await asyncio.sleep(0.1)
    assert len(calls) == 2
    await worker.stop()


async def test_a_full_batch_is_followed_at_once_by_the_next() -> None:
    calls: list[int] = []

    async def step() -> int:
        calls.append(1)
        return 10 if len(calls) < 3 else 0  # behind: two full batches, then caught up

    worker = LoopWorker("projection:w", step, idle_seconds=60, full=10, pace_seconds=60)
    await worker.start()
    await asyncio.sleep(0.02)
    assert len(calls) == 3
    await worker.stop()


async def test_a_loop_worker_waits_out_an_unavailable_database_and_goes_on() -> None:
    calls: list[int] = []

    async def step() -> int:
        calls.append(1)
        if len(calls) <= 2:  # the database restarting: nothing was done, nothing to skip
            raise PushbackError("the database is busy or unavailable; try again")
        return 0

    worker = LoopWorker("projection:board", step, idle_seconds=60)
    await worker.start()
    await asyncio.sleep(0.1)
    health = worker.health()  # not ready while it waits, and says why
    assert len(calls) == 1 and not health.ok and health.detail.startswith("retrying: ")
    await asyncio.sleep(0.55)  # 0.5 s, then twice as long each time
    assert len(calls) == 2 and not worker.health().ok
    await asyncio.sleep(1.05)
    assert len(calls) == 3 and worker.health().ok
    await worker.stop()
    assert worker.health() == WorkerHealth("projection:board", True, "stopped")


async def test_a_loop_worker_retrying_the_database_stops_when_asked() -> None:
    async def step() -> int:
        raise PushbackError("the database is busy or unavailable; try again")

    worker = LoopWorker("scheduler", step)
    await worker.start()
    await asyncio.sleep(0.05)
    await asyncio.wait_for(worker.stop(), 1)  # not after the back-off runs out
    assert worker.error is None
