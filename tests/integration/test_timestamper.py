"""The timestamper against a real local TSA (tests/support/tsa.py): new checkpoints get a
token at most once per interval, a TSA that is down delays them without blocking writes and
the worker catches up when it is back; tokens are served publicly and ``openssl ts -verify``
accepts them; ``/readyz`` and ``/metrics`` show how current the trusted time is; an export
asks for a token over its checkpoint and goes on without one, saying so, when none comes."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ledger.bootstrap import bootstrap
from ledger.runtime import Runtime
from ledger.settings import Settings
from ledger.timestamp.settings import TimestampSettings
from ledger.workers import Worker
from tests.conftest import TEST_ORIGIN, drain
from tests.integration.http_fixtures import Api, postgres_database
from tests.support.case_steps import started
from tests.support.events import chain
from tests.support.stamping import Stamped, stamping
from tests.support.tsa import LocalTsa, make_pki, openssl_verifies


@pytest.fixture
async def stamped(tmp_path: Path) -> AsyncIterator[Stamped]:
    async with stamping(tmp_path) as ready:
        yield ready


async def _grow(api: Api) -> int:
    """Append an event and sequence it: the size of the new checkpoint."""
    await api.runtime.store.append(chain(uuid.uuid4(), 1))
    await api.sequence()
    latest = await api.runtime.log.latest_checkpoint()
    assert latest is not None
    return latest.size


async def test_new_checkpoints_are_timestamped_at_most_once_per_interval(
        stamped: Stamped) -> None:
    api, step = stamped.api, stamped.timestamper.step
    first = await _grow(api)
    assert await step() == 1
    assert await step() == 0  # the newest checkpoint has its token
    second = await _grow(api)
    assert await step() == 0 and stamped.tsa.requests == 1  # within the interval
    stamped.clock.offset = 61
    assert await step() == 1
    timestamps = api.runtime.timestamps
    assert timestamps is not None
    assert [len(await timestamps.for_size(s)) for s in (first, second)] == [1, 1]
    assert stamped.tsa.requests == 2


async def test_a_tsa_down_for_a_while_delays_tokens_never_writes_and_is_caught_up(
        stamped: Stamped) -> None:
    api, tsa, timestamper = stamped.api, stamped.tsa, stamped.timestamper
    tsa.down = True
    await _grow(api)
    assert await timestamper.step() == 0
    assert "no authority answered" in timestamper.worker.detail
    assert tsa.refused == 1
    sizes = [await _grow(api) for _ in range(3)]  # writes and checkpoints go on meanwhile
    assert sizes == sorted(sizes) and len(set(sizes)) == 3
    assert await timestamper.step() == 0 and tsa.refused == 1  # backing off: not asked
    stamped.clock.offset = 6
    assert await timestamper.step() == 0 and tsa.refused == 2  # asked again, still down
    assert "next try in 10 s" in timestamper.worker.detail  # the backoff doubled
    ready = await api.get("/readyz")
    assert ready.status == 200 and ready.json()["timestamp_pending_seconds"] >= 0
    tsa.down = False
    stamped.clock.offset = 17
    assert await timestamper.step() == 1  # back: the newest checkpoint, which covers all
    timestamps = api.runtime.timestamps
    assert timestamps is not None
    newest = await timestamps.newest()
    assert newest is not None and newest.size == sizes[-1]
    assert "timestamped" in timestamper.worker.detail


async def test_the_worker_runs_in_the_process_and_stamps_on_its_own(stamped: Stamped) -> None:
    runtime = stamped.api.runtime
    [worker] = [w for w in runtime.workers.workers if w.name == "timestamper"]
    size = await _grow(stamped.api)
    await worker.start()
    try:
        assert runtime.timestamps is not None
        for _ in range(100):
            if await runtime.timestamps.for_size(size):
                break
            await asyncio.sleep(0.05)
        assert len(await runtime.timestamps.for_size(size)) == 1
        assert worker.health().ok
    finally:
        await worker.stop()


async def test_stored_tokens_are_served_publicly_and_openssl_verifies_them(
        stamped: Stamped, tmp_path: Path) -> None:
    api = stamped.api
    earlier = await _grow(api)  # signed, never timestamped: the worker stamps the newest
    size = await _grow(api)
    assert await stamped.timestamper.step() == 1
    reply = await api.get(f"/log/checkpoint/{size}/timestamps")  # no credentials
    assert reply.status == 200, reply.body
    body = reply.json()
    served = await api.get("/log/checkpoint")
    assert body["size"] == size and body["checkpoint"].encode() == served.body
    [stamp] = body["timestamps"]
    assert stamp["tsa_url"] == stamped.tsa.url and stamp["gen_time"].endswith("Z")
    response = base64.b64decode(stamp["response"])
    assert base64.b64decode(stamp["token"]) in response
    ok, said = openssl_verifies(stamped.pki, response, served.body, tmp_path / "openssl")
    assert ok, said
    empty = await api.get(f"/log/checkpoint/{earlier}/timestamps")
    assert empty.status == 200 and empty.json()["timestamps"] == []
    assert (await api.get(f"/log/checkpoint/{size + 1}/timestamps")).problem(404)
    assert (await api.get("/log/checkpoint/x1/timestamps")).problem(422)


async def test_readyz_and_metrics_show_how_current_the_trusted_time_is(tmp_path: Path) -> None:
    async with stamping(tmp_path, ready_max_age_seconds=0.3) as stamped:
        await _ready_and_metrics(stamped)


async def _ready_and_metrics(stamped: Stamped) -> None:
    api = stamped.api
    await _grow(api)
    assert await stamped.timestamper.step() == 1
    ready = (await api.get("/readyz")).json()
    assert 0 <= ready["timestamp_age_seconds"] < 30 and ready["timestamp_pending_seconds"] == 0
    metrics = await api.get("/metrics", "admin")
    assert b"ledger_timestamp_age_seconds " in metrics.body
    assert b"ledger_timestamp_pending_seconds 0.0" in metrics.body
    stamped.tsa.down = True
    await _grow(api)
    await asyncio.sleep(0.4)  # longer than LEDGER_TSA_READY_MAX_AGE_SECONDS
    refused = (await api.get("/readyz")).problem(503)
    assert any("waited" in p and "RFC 3161 timestamp" in p for p in refused["problems"])


async def test_readyz_says_how_old_the_trusted_time_is_when_asked_not_at_the_last_step(
        stamped: Stamped) -> None:
    api, clock, timestamper = stamped.api, stamped.clock, stamped.timestamper
    group = api.runtime.workers.workers  # /readyz shows this timestamper (the test's clocks)
    group[[w.name for w in group].index("timestamper")] = timestamper.worker
    first = await _grow(api)
    assert await timestamper.step() == 1
    clock.offset = 20  # no step since: the figures and the detail still move with the time
    ready = (await api.get("/readyz")).json()
    assert ready["timestamp_age_seconds"] >= 20
    assert _detail(ready) == f"checkpoint {first} timestamped 20 s ago"
    stamped.tsa.down = True
    second = await _grow(api)
    clock.offset = 61  # the interval is over
    assert await timestamper.step() == 0 and stamped.tsa.refused == 1  # next try in 5 s
    clock.offset = 64
    ready = (await api.get("/readyz")).json()
    assert ready["timestamp_pending_seconds"] >= 3
    assert _detail(ready).startswith(f"no authority answered for checkpoint {second} for 3 s")
    assert _detail(ready).endswith("next try in 2 s")


def _detail(ready: dict[str, Any]) -> str:
    [worker] = [w for w in ready["workers"] if w["name"] == "timestamper"]
    return str(worker["detail"])


async def test_an_export_has_its_checkpoint_timestamped_or_says_it_went_without(
        stamped: Stamped) -> None:
    api = stamped.api
    departure = await started(api)
    await api.sequence()
    reply = await api.get(f"/v1/departures/{departure}/bundle", "hr.sun")
    assert reply.status == 200, reply.body[:300]
    assert reply.headers["X-Ledger-Checkpoint-Timestamps"] == "1"
    assert stamped.tsa.requests == 1  # asked at once, not at the worker's next round
    stamped.tsa.down = True
    await api.sequence()  # the export's own record: a new checkpoint without a token
    reply = await api.get(f"/v1/departures/{departure}/bundle", "hr.sun")
    assert reply.status == 200, reply.body[:300]
    said = reply.headers["X-Ledger-Checkpoint-Timestamps"]
    assert said.startswith("0 (") and "answered HTTP 503" in said


async def test_on_postgresql_one_process_leads_the_timestamper(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    tsa = await LocalTsa(pki).start()
    try:
        async with postgres_database() as dsn:
            settings = Settings(
                database_url=dsn, data_dir=tmp_path, log_origin=TEST_ORIGIN,
                key_dir=tmp_path / "keys", scheduler=False,
                timestamps=TimestampSettings(urls=(tsa.url,), ca_file=pki.ca_file))
            first = await bootstrap(settings)
            second = await bootstrap(settings)
            try:
                await _two_processes(first, second, tsa)
            finally:
                await second.close()
                await first.close()
    finally:
        await tsa.stop()


async def _two_processes(first: Runtime, second: Runtime, tsa: LocalTsa) -> None:
    await first.store.append(chain(uuid.uuid4(), 2))
    await drain(first.sequencer)
    running: list[Worker] = []
    try:
        for runtime in (first, second):
            leadership = runtime.workers.workers[0]
            assert leadership.name == "leadership"  # PostgreSQL: roles are led
            [timestamper] = [w for w in runtime.workers.workers if w.name == "timestamper"]
            for worker in (leadership, timestamper):
                await worker.start()
                running.append(worker)
        for _ in range(200):
            if tsa.requests:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert tsa.requests == 1  # one process asked, once
        details = sorted(w.health().detail for w in running if w.name == "timestamper")
        assert details[0].startswith("leading; checkpoint 2 timestamped"), details
        assert details[1] == "standing by (another process leads)", details
        assert first.timestamps is not None
        assert len(await first.timestamps.for_size(2)) == 1
    finally:
        for worker in reversed(running):
            await worker.stop()
