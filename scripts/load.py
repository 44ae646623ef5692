"""Load: a mixed workload against a real ``ledger serve`` on PostgreSQL for a set duration.

A fresh database (``bench_<random>``, created beside ``--dsn`` and dropped at the end) gets
HR, managers, successors, an operator and ``--departures`` cases handing over with the sales
and clearance checklists, each person with a token (scripts/load_population.py); then one
``ledger serve`` process starts on it (tests/support/fleet.py, as an operator runs it) and
``--clients`` clients send, for ``--minutes``, 80% reads (inboxes, items, the HR board, case
boards, departures) and 20% commands (scripts/load_workload.py), paced to ``--rate``
requests per second in all (0: as fast as they are answered).

Two workloads. Steady (the default), as a real company's handovers are: the seeded cases
stand at every stage of their handover, and the commands are comments, evidence uploads and
the handovers' own work (scripts/load_handover.py): leavers submitting items with the files
their checklist asks for, receivers and department queues confirming or now and then
rejecting them, the handover confirmation signed by every signatory, HR closing finished
cases, and one new case started (submitted, approved, its checklists applied) for each one
closed; the open cases and items stay level, as a company's few hundred open departures do.
``--growing``, the earlier stress test: fresh seeded cases nobody works, and new departures
started, submitted and approved (each adding its checklists' items) that are never handed
over, so open items and the reads over them (queues, inboxes) grow without end. The run
reports the open cases and items at its start and end (the board's), and the handover steps
made. Every ``--sample`` seconds the server's RSS and TCP
sockets (psutil) and the database's connections (pg_stat_activity) are sampled. Where the
PostgreSQL server runs without autovacuum (this machine's test server), the run stands in for
it every ``autovacuum_naptime`` (60 s), table by table as autovacuum decides
(scripts/load_autovacuum.py: VACUUM and ANALYZE of the tables past its thresholds), and
reports how many passes it made. At the end the log and read models catch up, the server
stops and ``ledger verify`` checks everything.

Prints requests, throughput and p50/p99 by route, errors, RSS and connections, and verdicts
for the targets (error rate 0, RSS within 10% after the warm-up, read p99 < 50 ms); writes
``load.json`` and ``load.png`` (the figures over time) into ``--out``.

    python scripts/load.py --minutes 2
    python scripts/load.py --minutes 2 --growing
    python scripts/load.py --minutes 10 --out /tmp/load-10

Exits 1 when a request failed or ``ledger verify`` did not pass (0 otherwise, whatever the
latency and RSS verdicts), 1 with a message when the run itself could not be made.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil
from benchdb import (
    BenchError,
    bench_parser,
    check_loopback,
    create_database,
    drop_database,
    with_database,
)
from load_autovacuum import NAPTIME_SECONDS, autovacuum_turn
from load_population import seed
from load_record import Recorder, Sample, figures
from load_report import plot, print_summary
from load_workload import Workload

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.fleet import ORIGIN, Fleet, wait_caught_up


@dataclass(frozen=True)
class Options:
    """The parsed command line."""

    dsn: str
    minutes: float
    clients: int
    rate: float
    departures: int
    sample: float
    warmup: float
    out: Path
    aggregate_cache: int | None = None
    board_cache: int | None = None
    growing: bool = False


async def open_counts(pg: asyncpg.Connection) -> tuple[int, int]:
    """The board's open cases (neither closed nor withdrawn) and open items (neither
    confirmed nor waived), in the board's current generation."""
    generation = await pg.fetchval("SELECT generation FROM projection_state "
                                   "WHERE name = 'board'")
    cases = await pg.fetchval(f"SELECT count(*) FROM board_departures_g{int(generation)} "
                              "WHERE open = 1")
    items = await pg.fetchval(f"SELECT count(*) FROM board_items_g{int(generation)} "
                              "WHERE open = 1")
    return int(cases), int(items)


async def metrics_text(session: aiohttp.ClientSession, url: str, token: str) -> str:
    """The server's /metrics as an operator reads it; empty when it does not answer."""
    try:
        async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as reply:
            return await reply.text()
    except aiohttp.ClientError:
        return ""


async def cache_figures(session: aiohttp.ClientSession, token: str | None,
                        ) -> tuple[float, int]:
    """The server's in-memory caches from its /metrics (``ledger_cache_bytes`` and
    ``ledger_cache_entries``, summed over the caches): MiB and entries; zeros without a
    token or an answer."""
    if token is None:
        return 0.0, 0
    text = await metrics_text(session, "/metrics", token)
    sums = {"ledger_cache_bytes": 0.0, "ledger_cache_entries": 0.0}
    for line in text.splitlines():
        name = line.split("{", 1)[0]
        if name in sums:
            sums[name] += float(line.rsplit(" ", 1)[1])
    return sums["ledger_cache_bytes"] / 2**20, int(sums["ledger_cache_entries"])


async def _sample(recorder: Recorder, server: psutil.Process, port: int, pg: asyncpg.Connection,
                  started: float, caches: tuple[float, int] = (0.0, 0)) -> None:
    reads, commands, errors, read_p99 = recorder.take_interval()
    sockets = server.net_connections(kind="tcp")
    inbound = sum(1 for s in sockets if s.laddr and s.laddr.port == port
                  and s.status == psutil.CONN_ESTABLISHED)
    row = await pg.fetchrow("SELECT count(*) AS n, count(*) FILTER (WHERE state = 'active') "
                            "AS active FROM pg_stat_activity WHERE datname = current_database() "
                            "AND pid <> pg_backend_pid()")
    cases, items = await open_counts(pg)
    memory = server.memory_info()  # on Linux, ``shared`` is the resident part of mapped files
    recorder.samples.append(Sample(
        round(time.monotonic() - started, 2), memory.rss / 2**20,
        (memory.rss - getattr(memory, "shared", 0)) / 2**20, server.cpu_percent(None),
        psutil.cpu_percent(None), len(sockets), inbound,
        int(row["n"]), int(row["active"]), reads, commands, errors, read_p99, cases, items,
        *caches))


async def _client(workload: Workload, interval: float, offset: float, ends: float) -> None:
    """One client's loop: a request, then the next at its paced time (never a burst to make
    up for lost time)."""
    due = time.monotonic() + offset
    while True:
        now = time.monotonic()
        if now >= ends:
            return
        if due > now:
            await asyncio.sleep(min(due - now, ends - now))
            if time.monotonic() >= ends:
                return
        await workload.step()
        due = max(due + interval, time.monotonic() - interval)


async def drive(options: Options, base: str, pid: int, pg_dsn: str,
                workload_of: Any, vacuumed: Counter[str],
                metrics_token: str | None = None) -> Recorder:
    """Run the clients and the sampler for the duration; the recorder. Where autovacuum is
    off, ``vacuumed`` counts the stand-in's passes (scripts/load_autovacuum.py). With
    ``metrics_token`` (an operator's), each sample also reads the server's caches."""
    recorder = Recorder()
    server = psutil.Process(pid)
    port = int(base.rsplit(":", 1)[1])
    seconds = options.minutes * 60
    pg = await asyncpg.connect(pg_dsn)
    # The read models' tables are new: PostgreSQL plans their queries well only once they
    # are analysed, and their updated rows leave dead ones behind, which autovacuum takes
    # care of on any real server. Where it is off (this machine's test server), the run
    # stands in for it, table by table, at its default pace.
    stand_in = await pg.fetchval("SHOW autovacuum") != "on"
    if not stand_in:
        await pg.execute("ANALYZE")  # before the first reads, not within autovacuum's minute
    else:
        await autovacuum_turn(pg, vacuumed)
        print(f"autovacuum is off on this server: the run stands in for it every "
              f"{NAPTIME_SECONDS:g} s (VACUUM / ANALYZE of the tables past its thresholds)",
              flush=True)
    connector = aiohttp.TCPConnector(limit=options.clients)
    timeout = aiohttp.ClientTimeout(total=60)
    try:
        async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:
            workload = workload_of(session, recorder)
            started = time.monotonic()
            ends = started + seconds
            interval = options.clients / options.rate if options.rate > 0 else 0.0
            clients = [asyncio.create_task(_client(workload, interval, interval * k /
                                                   options.clients, ends))
                       for k in range(options.clients)]
            await _sample(recorder, server, port, pg, started,
                          await cache_figures(session, metrics_token))
            analyzed = started
            while time.monotonic() < ends:
                await asyncio.sleep(min(options.sample, max(0.0, ends - time.monotonic())))
                await _sample(recorder, server, port, pg, started,
                              await cache_figures(session, metrics_token))
                if stand_in and time.monotonic() - analyzed >= NAPTIME_SECONDS:
                    await autovacuum_turn(pg, vacuumed)
                    analyzed = time.monotonic()
            await asyncio.gather(*clients)
    finally:
        await pg.close()
    return recorder


async def loop_lag(base: str, token: str) -> dict[str, Any]:
    """The server's ``ledger_event_loop_lag_seconds`` (ledger.loop_lag) from its /metrics:
    how many wake-ups were late by more than each bound (cumulative counts). Empty when the
    server does not report it."""
    async with aiohttp.ClientSession() as session:
        text = await metrics_text(session, base + "/metrics", token)
    if not text:
        return {}
    prefix = "ledger_event_loop_lag_seconds_bucket{le=\""
    buckets = {line[len(prefix):].split('"', 1)[0]: float(line.rsplit(" ", 1)[1])
               for line in text.splitlines() if line.startswith(prefix)}
    total = buckets.pop("+Inf", 0.0)
    return {"wakeups": int(total),
            "late_over_s": {bound: int(total - n) for bound, n in buckets.items()}}


async def verify(fleet: Fleet) -> dict[str, Any]:
    """``ledger verify`` on the run's database, as an operator runs it."""
    t0 = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ledger.cli", "verify", cwd=fleet.folder,
        env=fleet.environment(), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    lines = output.decode(errors="replace").strip().splitlines() or [""]
    return {"exit": process.returncode, "seconds": time.monotonic() - t0,
            "last_line": lines[-1][:300], "output": lines[-20:]}


async def run(options: Options) -> dict[str, Any]:
    """Make the database and the server, drive them, check and clean up; the figures."""
    check_loopback(options.dsn)
    name = await create_database(options.dsn)
    dsn = with_database(options.dsn, name)
    folder = Path(tempfile.mkdtemp(prefix="load-"))
    try:
        print(f"database {name}: seeding {options.departures} departures...", flush=True)
        population = await seed(dsn, folder, ORIGIN, options.departures,
                                staggered=not options.growing)
        fleet = Fleet(dsn, folder)
        if options.aggregate_cache is not None:
            fleet.env["LEDGER_AGGREGATE_CACHE_SIZE"] = str(options.aggregate_cache)
        if options.board_cache is not None:
            fleet.env["LEDGER_BOARD_CACHE_SIZE"] = str(options.board_cache)
        served = await fleet.start()
        try:
            await wait_caught_up(dsn, 120)  # the board has every seeded case before reads
            pg = await asyncpg.connect(dsn)
            try:
                at_start = await open_counts(pg)
            finally:
                await pg.close()
            print(f"ledger serve (pid {served.process.pid}) at {served.base}: "
                  f"{'growing' if options.growing else 'steady'} workload, "
                  f"{at_start[0]} open cases, {at_start[1]} open items; "
                  f"{options.clients} clients, "
                  f"{f'{options.rate:g} req/s' if options.rate else 'unpaced'}, "
                  f"{options.minutes:g} min", flush=True)
            vacuumed: Counter[str] = Counter()
            workloads: list[Workload] = []

            def workload_of(session: aiohttp.ClientSession, rec: Recorder) -> Workload:
                workloads.append(Workload(session, population, rec,
                                          steady=not options.growing))
                return workloads[-1]

            recorder = await drive(options, served.base, served.process.pid, dsn,
                                   workload_of, vacuumed,
                                   population.tokens[population.operator])
            lag = await loop_lag(served.base, population.tokens[population.operator])
            logged = await wait_caught_up(dsn, 120)
            pg = await asyncpg.connect(dsn)
            try:
                at_end = await open_counts(pg)
            finally:
                await pg.close()
        finally:
            await fleet.stop()
        result = figures(recorder, options.minutes * 60, options.warmup)
        result["workload"] = "growing" if options.growing else "steady"
        result["open"] = {"start": {"cases": at_start[0], "items": at_start[1]},
                          "end": {"cases": at_end[0], "items": at_end[1]}}
        result["handover_steps"] = dict(sorted(workloads[0].done.items())) if workloads else {}
        result["log_size"] = logged
        result["event_loop_lag"] = lag
        result["autovacuum_stand_in"] = dict(vacuumed)
        result["verify"] = await verify(fleet)
        result["options"] = {k: str(v) for k, v in options.__dict__.items()}
        if result["verify"]["exit"] != 0:
            shutil.copy(served.output, options.out / "serve.log")
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        await drop_database(options.dsn, name)


def parse_args(argv: list[str] | None = None) -> Options:
    parser = bench_parser(__doc__)
    parser.add_argument("--minutes", type=float, default=2.0, help="how long to load (2)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--rate", type=float, default=50.0,
                        help="requests per second in all, 0 for unpaced (50)")
    parser.add_argument("--departures", type=int, default=200,
                        help="cases seeded before the run (200)")
    parser.add_argument("--sample", type=float, default=None,
                        help="seconds between samples (default: 5, fewer for short runs)")
    parser.add_argument("--warmup", type=float, default=None,
                        help="seconds before RSS must stay flat (default: 20%% of the run, "
                             "at most 60)")
    parser.add_argument("--aggregate-cache", type=int, default=None, metavar="N",
                        help="the server's LEDGER_AGGREGATE_CACHE_SIZE (default: its own, "
                             "10000): a small one shows whether RSS grows beyond the cache")
    parser.add_argument("--board-cache", type=int, default=None, metavar="N",
                        help="the server's LEDGER_BOARD_CACHE_SIZE (default: its own, 10000)")
    parser.add_argument("--growing", action="store_true",
                        help="the stress test: cases started and never worked, open items "
                             "growing for the whole run (default: steady, cases handed over "
                             "and closed, as many started as closed)")
    parser.add_argument("--out", type=Path, default=Path("load-report"),
                        help="folder for load.json and load.png (./load-report)")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.clients < 1 or args.rate < 0 or args.departures < 1:
        parser.error("--minutes, --clients and --departures must be positive, --rate not "
                     "negative")
    seconds = args.minutes * 60
    sample = args.sample if args.sample is not None else min(5.0, max(0.5, seconds / 30))
    warmup = args.warmup if args.warmup is not None else min(60.0, seconds / 5)
    return Options(args.dsn, args.minutes, args.clients, args.rate, args.departures, sample,
                   warmup, args.out, args.aggregate_cache, args.board_cache, args.growing)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    options.out.mkdir(parents=True, exist_ok=True)
    try:
        result = asyncio.run(run(options))
    except (BenchError, OSError, asyncpg.PostgresError, AssertionError) as e:
        print(f"load: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    title = (f"ledger serve on PostgreSQL, {'growing' if options.growing else 'steady'} "
             f"workload, {options.minutes:g} min, {options.clients} clients, "
             f"{os.cpu_count()} CPUs")
    (options.out / "load.json").write_text(json.dumps(result, indent=1))
    plot(result, options.out / "load.png", title)
    print_summary(result, title)
    print(f"report: {options.out / 'load.json'}, plot: {options.out / 'load.png'}")
    return 0 if result["errors"] == 0 and result["verify"]["exit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
