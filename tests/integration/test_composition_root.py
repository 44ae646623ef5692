"""The composition root (ledger.bootstrap) and the workers it gives a process: the sequencer
runs as a worker of the runtime's group, ``/readyz`` reports every worker and fails, naming
it, when one stopped on an error; any part is replaced by keyword."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from ledger.bootstrap import bootstrap, open_storage
from ledger.settings import Settings
from ledger.store.factory import open_store
from ledger.workday import WorkingCalendar
from ledger.workers import LoopWorker
from tests.conftest import TEST_ORIGIN
from tests.integration.http_fixtures import Api, departure_body


async def test_readiness_names_each_worker_and_fails_on_a_stopped_one(api: Api) -> None:
    ready = await api.get("/readyz")
    assert ready.status == 200
    # PostgreSQL: several processes may share the database, each role led by one of them
    # (ledger.leadership); SQLite is served by one process, which leads everything.
    # There too, verified tokens are cached while a session listens for their revocation
    # (ledger.store.postgres_token_feed); never unready for it.
    postgres = api.runtime.settings.database_url.startswith("postgresql")
    leadership = ["leadership"] if postgres else []
    feed = [{"name": "token-cache", "ok": True,
             "detail": "not caching: every request looks its token up"}] if postgres else []
    assert ready.json()["workers"] == [
        {"name": name, "ok": True, "detail": "not started"} for name in leadership] + feed + [
        {"name": name, "ok": True, "detail": "not started"}
        for name in ("sequencer", "projection:board", "projection:webhooks",
                     "webhooks:dispatcher", "scheduler")]

    reached = asyncio.Event()

    async def poison() -> int:
        reached.set()
        raise RuntimeError("secret internal detail")

    broken = LoopWorker("projection:test", poison)
    api.runtime.workers.workers.append(broken)  # as the root appends a later worker
    await broken.start()
    await reached.wait()
    await broken.stop()  # returns once the loop has ended on the error
    failed = await api.get("/readyz")
    document = failed.problem(503)
    assert "projection:test" in document["detail"]
    assert [w["name"] for w in document["workers"] if not w["ok"]] == ["projection:test"]
    assert document["log_size"] == 0
    assert b"secret internal detail" not in failed.body  # the log has it; a probe does not
    assert (await api.get("/healthz")).json() == {"status": "ok", "log_size": None}


async def test_the_sequencer_runs_as_a_worker_of_the_group(api: Api) -> None:
    runtime = api.runtime
    await runtime.workers.start()
    try:
        workers = {w["name"]: w["detail"] for w in (await api.get("/readyz")).json()["workers"]}
        assert workers["sequencer"] == "leading"  # the only process on this database
        assert workers["projection:board"].startswith("leading")
        reply = await api.post("/v1/departures", "hr.sun", json=departure_body())
        event_hash = bytes.fromhex(reply.json()["events"][0]["hash"])
        # No explicit sequencing: the worker's loop (poked by the append) takes it.
        index = await runtime.sequencer.wait_for_inclusion(event_hash, 10)
    finally:
        await runtime.workers.stop()
    assert index >= 0
    workers = {w["name"]: w["detail"] for w in (await api.get("/readyz")).json()["workers"]}
    assert workers["sequencer"] == "stopped"


async def test_bootstrap_takes_any_part_by_keyword(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/l.db", data_dir=tmp_path,
                        log_origin=TEST_ORIGIN, key_dir=tmp_path / "keys")
    store = await open_store(settings.database_url)
    moment = dt.datetime(2030, 1, 2, 3, 4, tzinfo=dt.UTC)
    calendar = WorkingCalendar.for_setting("DE", "Europe/Berlin")
    runtime = await bootstrap(settings, store=store, clock=lambda: moment, calendar=calendar,
                              sequencer=False)
    try:
        assert runtime.store is store
        assert runtime.ledger.clock() == moment
        assert runtime.ledger.calendar is calendar
        # `ledger serve --no-sequencer`: the read models and the scheduler still run
        assert [w.name for w in runtime.workers.workers] == [
            "projection:board", "projection:webhooks", "webhooks:dispatcher", "scheduler"]
        assert runtime.http is None  # made on first use only
        client = runtime.http_client()
        assert runtime.http_client() is client
    finally:
        await runtime.close()
    assert client.closed


async def test_storage_alone_makes_no_signing_key(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/l.db", data_dir=tmp_path,
                        log_origin=TEST_ORIGIN, key_dir=tmp_path / "keys")
    storage = await open_storage(settings, migrate=True)
    try:
        assert await storage.store.count_events() == 0
        assert await storage.principals.list_principals() == []
    finally:
        await storage.close()
    assert not (tmp_path / "keys").exists()
