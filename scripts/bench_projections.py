"""Benchmark: the read models on PostgreSQL, in a throw-away database (``bench_<random>``,
dropped at the end). Three measurements, each printed with the figure it is held to:

1. **Lag under load**: the HTTP benchmark's ledger server (``scripts/bench_http.py``: the real
   service in a subprocess with every worker of ``ledger serve`` running) under its 32-client
   comment load (another subprocess), while this process probes: it waits for a newly
   committed event (polling every half millisecond), then polls (every millisecond) until the
   board's position has passed that event's log index, then takes the next new one. Lag =
   commit visible → board updated, p50/p99. Target p99 < 200 ms.
2. **Rebuild throughput**: ``ProjectionRunner.rebuild`` of the board over the log the load
   left, in events/s, side by side with a plain read of the same log (the runner's own
   ``read_log`` batches, entries hash-checked and decoded). Target ≥ 25% of the plain read.
3. **Dashboard and inbox reads at scale**: board tables holding what 10,000 departures and
   1,000,000 events leave (10,000 cases, 200,000 items; written straight into the board's
   tables, as the projection would), then the HR dashboard's first page (risk-sorted) and a
   receiver's inbox through the read functions the endpoints call, p50/p99 over repeated
   reads, each as a ratio to a bare indexed SELECT of the same rows. Target p99 < 20 ms.

    python scripts/bench_projections.py            # 8 s of load, 200 reads each
    python scripts/bench_projections.py --quick    # 3 s of load, 50 reads each
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import os
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_http import LABELS, Load, _expect, run_load, server_process
from benchdb import (
    DEFAULT_DSN,
    BenchError,
    check_loopback,
    create_database,
    drop_database,
    percentile,
    with_database,
)

from ledger.bootstrap import open_storage
from ledger.entry import decode_entry
from ledger.projections import board_queries as bq
from ledger.projections import inbox_queries as iq
from ledger.projections.board import RISK_INPUTS, BoardProjector, tables
from ledger.projections.runner import ProjectionRunner
from ledger.service.context import Actor
from ledger.settings import Settings

DEPARTURES, ITEMS_PER_CASE, EVENTS = 10_000, 20, 1_000_000
RECEIVERS = [f"emp-{n:04d}" for n in range(2_000)]


@dataclass
class Options:
    dsn: str
    seconds: float
    reads: int


# --------------------------------------------------------------------------- 1. lag


async def _probe(dsn: str, stop: asyncio.Event) -> tuple[list[float], list[float]]:
    """Commit-visible → board-updated lags (ms) of the newest event, one after another, and
    the part of each until the event was in the log (commit visible → sequenced)."""
    conn = await asyncpg.connect(dsn)
    lags: list[float] = []
    sequenced: list[float] = []
    last = None
    try:
        while not stop.is_set():
            newest = await conn.fetchval("SELECT max(position) FROM events")
            if newest == last:  # each event once: wait for the next commit
                await asyncio.sleep(0.0005)
                continue
            last, seen, logged = newest, time.perf_counter(), None
            while not stop.is_set():
                row = await conn.fetchrow(
                    "SELECT l.idx, p.position AS board FROM projection_state p LEFT JOIN "
                    "log_entries l ON l.position = $1 WHERE p.name = 'board'", newest)
                if logged is None and row is not None and row["idx"] is not None:
                    logged = time.perf_counter()
                if row is not None and row["idx"] is not None and row["board"] > row["idx"]:
                    lags.append((time.perf_counter() - seen) * 1000)
                    sequenced.append(((logged or time.perf_counter()) - seen) * 1000)
                    break
                await asyncio.sleep(0.001)
    finally:
        await conn.close()
    return lags, sequenced


def measure_lag(ctx: Any, dsn: str,
                seconds: float) -> tuple[list[float], list[float], float]:
    """Run bench_http's ledger server and load; probe the board's lag meanwhile."""
    parent, child = ctx.Pipe()
    process = ctx.Process(target=server_process, name="server-ledger",
                          args=("ledger", dsn, 32, 600, child, None))
    process.start()
    child.close()
    lags: list[float] = []
    sequenced: list[float] = []
    try:
        info = _expect(parent, 300, "ledger server")
        load = Load("http", 32, 1.0, seconds, base_url=info["base_url"], paths=info["paths"],
                    token=info["token"])
        stop = asyncio.Event()

        async def probe_while_loaded() -> tuple[list[float], list[float], float]:
            task = asyncio.create_task(_probe(dsn, stop))
            figures = await asyncio.to_thread(run_load, ctx, load)
            stop.set()
            done, window = figures[0], figures[1]
            lags, sequenced = await task
            return lags, sequenced, done / window

        lags, sequenced, rate = asyncio.run(probe_while_loaded())
        parent.send("stop")
        process.join(60)
    finally:
        if process.is_alive():
            process.kill()
            process.join(10)
    return lags, sequenced, rate


# --------------------------------------------------------------------------- 2. rebuild


async def measure_rebuild(dsn: str) -> tuple[int, float, float]:
    """(events, plain read events/s, rebuild events/s) over the log the load left."""
    with tempfile.TemporaryDirectory(prefix="bench_proj_") as tmp:
        runtime = await open_storage(Settings(database_url=dsn, data_dir=Path(tmp)))
        board = ProjectionRunner(runtime.projections, BoardProjector())
        try:
            size = await runtime.projections.log_size()
            started = time.perf_counter()
            position = 0
            async with runtime.projections.transaction("bench-read") as tx:
                if tx is None:
                    raise BenchError("the plain read's transaction was not given")
                while batch := await tx.read_log(position, board.batch):
                    for logged in batch:
                        decode_entry(logged.event.entry, logged.event.event_hash, strict=False)
                    position = batch[-1].index + 1
            read_seconds = time.perf_counter() - started
            started = time.perf_counter()
            rebuilt = await board.rebuild()
            rebuild_seconds = time.perf_counter() - started
            if rebuilt != size or position != size:
                raise BenchError(f"rebuilt to {rebuilt}, read {position}, log {size}")
            return size, size / read_seconds, size / rebuild_seconds
        finally:
            await runtime.close()


# --------------------------------------------------------------------------- 3. reads at scale


async def fill_board(dsn: str) -> None:
    """Write the board rows 10,000 departures and their 200,000 items leave."""
    conn = await asyncpg.connect(dsn)
    rng = random.Random(7)
    t = tables(await conn.fetchval("SELECT generation FROM projection_state "
                                   "WHERE name = 'board'"))
    today = dt.date.today()
    try:
        departures, items = [], []
        for n in range(DEPARTURES):
            case = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            last_day = (today + dt.timedelta(days=rng.randint(-60, 60))).isoformat()
            state = rng.choice(["handing_over"] * 6 + ["approved", "pending_approval",
                                                        "closed", "closed"])
            done_count = 0
            for k in range(ITEMS_PER_CASE):
                item_state = rng.choice(["open", "submitted", "confirmed", "confirmed",
                                         "rejected", "waived"])
                done = item_state in ("confirmed", "waived")
                done_count += done
                receiver = rng.choice(RECEIVERS)
                doc = {"id": f"{case[:-4]}{k:04d}", "title": f"事项 {k}", "state": item_state}
                items.append((doc["id"], case, "clients", doc["title"], item_state,
                              f"leaver-{n}", receiver, 1, int(not done),
                              (today + dt.timedelta(days=rng.randint(-20, 20))).isoformat(),
                              None, None, receiver if item_state == "submitted" else "", 0,
                              None, "", doc["title"], orjson.dumps(doc).decode()))
            doc = {"id": case, "state": state, "started_at": "2026-01-01T00:00:00.000000Z"}
            departures.append((case, state, f"leaver-{n}", f"离职员工{n}",
                               rng.choice(["Sales", "R&D", "Finance", "Ops"]), "hr-1",
                               "mgr-1", last_day, None, int(state != "closed"),
                               ITEMS_PER_CASE, ITEMS_PER_CASE, done_count,
                               (today + dt.timedelta(days=rng.randint(-20, 20))).isoformat(),
                               rng.randint(0, 2), None, "2026-01-01T00:00:00.000000Z", None,
                               # ``whole`` (GET /v1/departures reads it; the dashboard and
                               # inboxes measured here never do): a case's size of JSON
                               orjson.dumps({**doc, "leaver": f"leaver-{n}",
                                             "items": [f"{case[:-4]}{k:04d}" for k in
                                                       range(ITEMS_PER_CASE)]}).decode(),
                               orjson.dumps(doc).decode()))
        await conn.copy_records_to_table(t["departures"], records=departures, columns=[
            "departure_id", "state", "leaver_id", "leaver_name", "department", "hr_owner_id",
            "manager_id", "last_working_day", "waiting_for", "open", "items_total",
            "mandatory_total", "mandatory_done", "next_due", "accounts_open",
            "oldest_rejection", "started_at", "closed_at", "whole", "doc"])
        await conn.copy_records_to_table(t["items"], records=items, columns=[
            "item_id", "departure_id", "category", "title", "state", "giver_id", "receiver",
            "mandatory", "open", "due_date", "confirm_by", "rejected_at", "pending_signers",
            "urgent", "submitted_at", "questions_to", "label", "doc"])
        # the risk rules' inputs, as the projection stores them with the figures
        await conn.execute(f"UPDATE {t['departures']} SET {RISK_INPUTS}")
        await conn.execute(f"VACUUM ANALYZE {t['departures']}")
        await conn.execute(f"ANALYZE {t['items']}")
        size = await conn.fetchval("SELECT coalesce(max(idx) + 1, 0) FROM log_entries")
        await conn.execute("UPDATE projection_state SET position = $1 WHERE name = 'board'",
                           size)
    finally:
        await conn.close()


async def _timed(reads: int, read: Any) -> list[float]:
    samples = []
    for _ in range(reads):
        started = time.perf_counter()
        await read()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def measure_reads(dsn: str, reads: int) -> dict[str, tuple[list[float], list[float]]]:
    """(read model, bare SELECT) latencies (ms) of the dashboard and an inbox."""
    with tempfile.TemporaryDirectory(prefix="bench_proj_") as tmp:
        runtime = await open_storage(Settings(database_url=dsn, data_dir=Path(tmp)))
        try:
            await fill_board(dsn)
            store = runtime.projections
            t = tables((await bq.board_position(store)).generation)
            hr = Actor("hr-1", "hr", "HR")
            receiver = Actor(RECEIVERS[5], "employee", "Receiver")
            moments = bq.Moments(dt.date.today(), dt.datetime.now(dt.UTC))
            wanted = bq.DashboardFilter()

            async def dashboard() -> None:
                await bq.hr_dashboard(store, hr, wanted, moments, 50, 0)

            async def bare_dashboard() -> None:
                await store.fetch(f"SELECT * FROM {t['departures']} WHERE open = 1 "
                                  "ORDER BY last_working_day LIMIT 50")
                await store.fetch(f"SELECT count(*) FROM {t['departures']} WHERE open = 1")

            async def inbox() -> None:
                await iq.inbox(store, runtime.principals, receiver)

            async def bare_inbox() -> None:
                await store.fetch(f"SELECT * FROM {t['items']} WHERE receiver = $1 "
                                  "AND open = 1", receiver.id)

            results = {}
            for name, read, bare in (("HR dashboard", dashboard, bare_dashboard),
                                     ("inbox", inbox, bare_inbox)):
                await _timed(10, read)
                await _timed(10, bare)
                results[name] = (await _timed(reads, read), await _timed(reads, bare))
            return results
        finally:
            await runtime.close()


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in args
    options = Options(os.environ.get("BENCH_DSN", DEFAULT_DSN), 3.0 if quick else 8.0,
                      50 if quick else 200)
    check_loopback(options.dsn)
    name = asyncio.run(create_database(options.dsn))
    dsn = with_database(options.dsn, name)
    ctx = multiprocessing.get_context("spawn")
    print(f"database {name}; {os.cpu_count()} CPUs", flush=True)
    try:
        print(f"1. board lag under {LABELS['ledger']}'s load ({options.seconds:g} s)...",
              flush=True)
        lags, sequenced, rate = measure_lag(ctx, dsn, options.seconds)
        if not lags:
            raise BenchError("no lag sample")
        p50, p99 = percentile(lags, 50), percentile(lags, 99)
        print(f"   {len(lags)} samples at {rate:,.0f} commands/s: lag p50 {p50:.1f} ms, "
              f"p99 {p99:.1f} ms (target p99 < 200 ms: {'met' if p99 < 200 else 'NOT met'}); "
              f"of which commit → in the log p50 {percentile(sequenced, 50):.1f} ms, "
              f"p99 {percentile(sequenced, 99):.1f} ms")
        print("2. rebuild throughput against a plain read of the same log...", flush=True)
        events, read_rate, rebuild_rate = asyncio.run(measure_rebuild(dsn))
        share = rebuild_rate / read_rate
        print(f"   {events:,} events: plain read {read_rate:,.0f}/s, rebuild "
              f"{rebuild_rate:,.0f}/s = {share:.0%} (target ≥ 25%: "
              f"{'met' if share >= 0.25 else 'NOT met'})")
        print(f"3. reads at {DEPARTURES:,} departures / {DEPARTURES * ITEMS_PER_CASE:,} items "
              f"(what {EVENTS:,} events leave), {options.reads} reads each...", flush=True)
        for label, (model, bare) in asyncio.run(measure_reads(dsn, options.reads)).items():
            m50, m99 = percentile(model, 50), percentile(model, 99)
            b50, b99 = percentile(bare, 50), percentile(bare, 99)
            print(f"   {label}: p50 {m50:.2f} ms, p99 {m99:.2f} ms; bare SELECT p50 "
                  f"{b50:.2f} ms, p99 {b99:.2f} ms; ratio p99 {m99 / b99:.1f}x (target "
                  f"p99 < 20 ms: {'met' if m99 < 20 else 'NOT met'})")
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        asyncio.run(drop_database(options.dsn, name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
