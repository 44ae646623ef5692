"""Benchmark: commands per second and p50/p99 latency through HTTP, 32 concurrent clients, on
PostgreSQL, side by side with two ceilings.

Three contenders run one after another in the same invocation, in a throw-away database
(``bench_<random>``, created through the ``postgres`` maintenance database of a loopback server
and dropped at the end). Every server runs in a subprocess of its own and every load generator
in another one, so no contender's clients share an event loop (or a GIL) with its server:

- **ledger**: the real service: ``api.app.build_app`` over ``bootstrap(Settings(...))``
  with its workers running (the sequencer, started once the site is up, as in production), served by
  ``web.AppRunner``/``TCPSite`` on 127.0.0.1 (``access_log=None``, as ``ledger serve``). The
  measured command is ``POST /v1/items/{id}/comments {"text": ...}`` by an HR principal with a
  bearer token; each client comments on its own handover item (created with
  ``runtime.ledger`` before serving), so every request authenticates, reads and verifies the
  item's stream, appends one chained entry and answers 201 with the CommandResult.
- **http ceiling**: a minimal aiohttp app (subprocess, same runner settings) with the same
  route: it reads the same JSON body and does one autocommitted asyncpg INSERT, through a
  pool of the ledger's default size, of a row with the column types and keys of ``events`` and
  an entry of the ledger's average size; answers 201 with a small JSON body.
- **raw ceiling**: the same INSERT straight from asyncpg, one connection per client, no HTTP
  (the load generator process itself).

Clients run closed loops (next request when the previous answer is read) over keep-alive
connections for a warm-up, then for the measured window; requests completing inside the window
count, latency is request sent → body read. Besides requests, req/s and p50/p99, the table
shows the CPU time per request of the server process and of the load-generator process over
the window, and how busy the whole machine was (/proc/stat; PostgreSQL is the rest).

Targets: ledger ≥ 60% of the HTTP ceiling, ledger p99 < 50 ms; both ratios are printed
(ledger / HTTP ceiling, HTTP ceiling / raw ceiling). Note: the ceilings do one INSERT per
request, while the ledger's store coalesces concurrent appends (group commit), so under load
the ledger spends less PostgreSQL time per command than the ceilings do. The script exits 0
whatever the figures are; non-zero only when something goes wrong (a non-201 answer,
bookkeeping that does not add up, no database).

    python scripts/bench_http.py                  # 10 s per contender after 2 s, 32 clients
    python scripts/bench_http.py --quick          # 3 s each
    python scripts/bench_http.py --contenders ledger --profile /tmp/ledger_http.prof
    BENCH_WORKERS=sequencer python scripts/bench_http.py   # the ledger with its sequencer alone
                                                           # (what the other workers cost)
    BENCH_GC=default python scripts/bench_http.py          # CPython's collector settings, not
                                                           # ``ledger serve``'s (ledger.heap)
"""

from __future__ import annotations

import asyncio
import cProfile
import datetime as dt
import hashlib
import inspect
import itertools
import json
import multiprocessing
import os
import sys
import time
import uuid
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import asyncpg
from benchdb import (
    CEILING_DDL,
    CEILING_INSERT,
    HR,
    MANAGER,
    SUCCESSOR,
    BenchError,
    bench_parser,
    bench_runtime,
    check_loopback,
    create_database,
    create_items,
    drop_database,
    parse_contenders,
    percentile,
    run_main,
    serve_loopback,
    with_database,
)

CONTENDERS = ("ledger", "http", "raw")
LABELS = {"ledger": "ledger (HTTP)", "http": "HTTP ceiling", "raw": "raw INSERT ceiling"}
DEFAULT_ENTRY_SIZE = 1100  # used only when the ledger does not run first
# What a load generator sends back: requests in the window, window seconds, their latencies,
# client CPU seconds, rows written (raw load only; 0 for HTTP).
Figures = tuple[int, float, "array[float]", float, int]


def comment_text(client: int, n: int) -> str:
    """The comment every contender sends (the same bytes for the ledger and the ceiling)."""
    return f"Checked the client list with the successor, client {client:02d}, round {n:07d}."


def ceiling_entry(text: str, size: int) -> bytes:
    """An entry of ``size`` bytes carrying the comment, like a ledger entry would."""
    head = json.dumps({"type": "ItemCommented", "text": text}).encode()[:-1] + b',"pad":"'
    return (head + b"x" * size)[: max(size - 2, len(head))] + b'"}'


# --------------------------------------------------------------------------- measurement


@dataclass
class Result:
    """One contender's measured window."""

    name: str
    requests: int
    seconds: float
    latencies: array[float] = field(default_factory=lambda: array("d"))
    client_cpu: float = 0.0
    server_cpu: float | None = None
    machine_busy: float | None = None  # share of all CPUs busy over the window (/proc/stat)
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds (nearest rank: ``benchdb.percentile``)."""
        return percentile(self.latencies, p) * 1000

    @staticmethod
    def per_request_us(cpu: float | None, requests: int) -> str:
        return f"{cpu / requests * 1e6:,.0f}" if cpu is not None and requests else "-"


@dataclass
class Load:
    """What a load-generator process runs."""

    kind: str  # "http" or "raw"
    clients: int
    warmup: float
    seconds: float
    base_url: str = ""
    paths: list[str] = field(default_factory=list)  # one per client
    token: str = ""
    dsn: str = ""
    entry_size: int = DEFAULT_ENTRY_SIZE


async def _closed_loops(clients: int, warmup: float, seconds: float, op: Any,
                        mark: Callable[[str], None]) -> tuple[int, float, array[float], float]:
    """Run ``op(client, n)`` in ``clients`` loops: warm-up, then the measured window, whose
    edges are announced through ``mark``.

    Requests that complete inside the window count (with their latencies).
    """
    latencies = [array("d") for _ in range(clients)]
    counts = [0] * clients
    rounds = [0] * clients
    window = [0.0, 0.0]

    async def loop(c: int) -> None:
        while True:
            t0 = time.perf_counter()
            if t0 >= window[1]:
                return
            await op(c, rounds[c])
            rounds[c] += 1
            t1 = time.perf_counter()
            if window[0] <= t1 <= window[1]:
                latencies[c].append(t1 - t0)
                counts[c] += 1

    start = time.perf_counter()
    window[0], window[1] = start + warmup, start + warmup + seconds
    tasks = [asyncio.create_task(loop(c)) for c in range(clients)]
    await asyncio.sleep(max(0.0, window[0] - time.perf_counter()))
    mark("start")
    cpu0 = time.process_time()
    await asyncio.sleep(max(0.0, window[1] - time.perf_counter()))
    cpu = time.process_time() - cpu0
    mark("end")
    await asyncio.gather(*tasks)
    merged = array("d")
    for lat in latencies:
        merged.extend(lat)
    return sum(counts), seconds, merged, cpu


async def _http_load(load: Load, mark: Callable[[str], None]) -> Figures:
    import aiohttp

    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {load.token}"}
    connector = aiohttp.TCPConnector(limit=load.clients, force_close=False)
    async with aiohttp.ClientSession(load.base_url, connector=connector,
                                     headers=headers) as session:
        async def op(c: int, n: int) -> None:
            body = json.dumps({"text": comment_text(c, n)}).encode()
            async with session.post(load.paths[c], data=body) as response:
                payload = await response.read()
                if response.status != 201:
                    raise BenchError(f"POST {load.paths[c]} answered {response.status}: "
                                     f"{payload[:300]!r}")

        done, seconds, latencies, cpu = await _closed_loops(
            load.clients, load.warmup, load.seconds, op, mark)
    return done, seconds, latencies, cpu, 0


async def _raw_load(load: Load, mark: Callable[[str], None]) -> Figures:
    conns = [await asyncpg.connect(load.dsn) for _ in range(load.clients)]
    try:
        await conns[0].execute(CEILING_DDL)
        streams = [uuid.uuid4() for _ in range(load.clients)]

        async def op(c: int, n: int) -> None:
            entry = ceiling_entry(comment_text(c, n), load.entry_size)
            await conns[c].execute(CEILING_INSERT, uuid.uuid4(), "item", streams[c], n + 1,
                                   "ItemCommented", dt.datetime.now(dt.UTC), entry,
                                   hashlib.sha256(entry).digest())

        done, seconds, latencies, cpu = await _closed_loops(
            load.clients, load.warmup, load.seconds, op, mark)
        rows = await conns[0].fetchval("SELECT count(*) FROM ceiling_events WHERE stream_id = "
                                       "ANY($1::uuid[])", streams)
        return done, seconds, latencies, cpu, int(rows)
    finally:
        for conn in conns:
            await conn.close()


def load_process(load: Load, pipe: Connection) -> None:
    """Entry point of the load-generator subprocess: ("mark", "start"|"end") at the window's
    edges, then ("ok", figures) or ("error", text) on ``pipe``."""
    try:
        runner = _http_load if load.kind == "http" else _raw_load
        pipe.send(("ok", asyncio.run(runner(load, lambda edge: pipe.send(("mark", edge))))))
    except BaseException as e:  # reported by the parent
        pipe.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        pipe.close()


# --------------------------------------------------------------------------- servers


async def _control(pipe: Connection, stop: asyncio.Event, profile_path: str | None) -> None:
    """Serve the parent's requests: cpu (process time), profile on/off, stop."""
    loop = asyncio.get_running_loop()
    profiler = cProfile.Profile() if profile_path else None
    ready = asyncio.Event()
    loop.add_reader(pipe.fileno(), ready.set)
    try:
        while not stop.is_set():
            await ready.wait()
            ready.clear()
            while pipe.poll():
                message = pipe.recv()
                if message == "cpu":
                    pipe.send(time.process_time())
                elif message == "profile-on" and profiler is not None:
                    profiler.enable()
                    pipe.send(True)
                elif message == "profile-off" and profiler is not None and profile_path:
                    profiler.disable()
                    profiler.dump_stats(profile_path)
                    pipe.send(profile_path)
                elif message == "stop":
                    stop.set()
                else:
                    pipe.send(None)
    finally:
        loop.remove_reader(pipe.fileno())


async def _serve_ledger(dsn: str, clients: int, pipe: Connection,
                        profile_path: str | None) -> None:
    from api.app import build_app
    from ledger.principals import new_token
    from ledger.service.context import RequestContext

    async with bench_runtime(dsn, "bench_http_") as runtime:
        token, token_hash = new_token()
        await runtime.principals.add_token(token_hash, HR.id, "bench_http")
        items = [str(i) for i in await create_items(
            runtime.ledger, clients, HR, MANAGER, SUCCESSOR,
            RequestContext(ip="127.0.0.1", user_agent="bench_http", auth="bench"),
            runtime.principals)]
        if os.environ.get("BENCH_WORKERS") == "sequencer":  # a diagnostic: see the docstring
            runtime.workers.workers = [w for w in runtime.workers.workers
                                       if w.name == "sequencer"]
        async with serve_loopback(build_app(runtime)) as base_url:
            await runtime.workers.start()  # as ``ledger serve``: once the site is up
            settle()  # as ``ledger serve``
            try:
                pipe.send(("ready", {"base_url": base_url, "token": token,
                                     "paths": [f"/v1/items/{i}/comments" for i in items]}))
                await _control(pipe, asyncio.Event(), profile_path)
            finally:
                await runtime.workers.stop()


async def _serve_ceiling(dsn: str, clients: int, entry_size: int, pipe: Connection,
                         profile_path: str | None) -> None:
    from aiohttp import web

    from ledger.store.postgres import PostgresEventStore

    # The ledger's default pool size: PostgresEventStore.connect's max_size.
    pool_size = inspect.signature(PostgresEventStore.connect).parameters["max_size"].default
    pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
    try:
        await pool.execute(CEILING_DDL)
        versions: dict[str, itertools.count[int]] = {}

        async def comment(request: web.Request) -> web.Response:
            body = await request.json()
            stream = request.match_info["item_id"]
            entry = ceiling_entry(str(body["text"]), entry_size)
            event_id = uuid.uuid4()
            version = next(versions.setdefault(stream, itertools.count(1)))
            await pool.execute(CEILING_INSERT, event_id, "item", uuid.UUID(stream), version,
                               "ItemCommented", dt.datetime.now(dt.UTC), entry,
                               hashlib.sha256(entry).digest())
            return web.json_response({"event_id": str(event_id), "version": version},
                                     status=201)

        app = web.Application()
        app.router.add_post("/v1/items/{item_id}/comments", comment)
        async with serve_loopback(app) as base_url:
            settle()  # the same collector settings as the ledger's server
            pipe.send(("ready", {"base_url": base_url, "token": "none",
                                 "paths": [f"/v1/items/{uuid.uuid4()}/comments"
                                           for _ in range(clients)]}))
            await _control(pipe, asyncio.Event(), profile_path)
    finally:
        await pool.close()


def server_process(kind: str, dsn: str, clients: int, entry_size: int, pipe: Connection,
                   profile_path: str | None) -> None:
    """Entry point of a server subprocess; sends ("ready", info) or ("error", text)."""
    try:
        if kind == "ledger":
            asyncio.run(_serve_ledger(dsn, clients, pipe, profile_path))
        else:
            asyncio.run(_serve_ceiling(dsn, clients, entry_size, pipe, profile_path))
    except BaseException as e:  # reported by the parent
        pipe.send(("error", f"{type(e).__name__}: {e}"))
        raise
    finally:
        pipe.close()


def settle() -> None:
    """The collector settings of ``ledger serve`` (``ledger.heap``), unless BENCH_GC=default
    asks for CPython's own (to measure what they change)."""
    from ledger.heap import settle_heap

    if os.environ.get("BENCH_GC") != "default":
        settle_heap()


# --------------------------------------------------------------------------- orchestration


def cpu_jiffies() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat (None elsewhere)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_share(start: tuple[int, int] | None, end: tuple[int, int] | None) -> float | None:
    """Share of the machine's CPU time that was busy between two ``cpu_jiffies`` readings."""
    if start is None or end is None or end[1] <= start[1]:
        return None
    return (end[0] - start[0]) / (end[1] - start[1])


class Window:
    """Readings at the load generator's window edges: machine CPU, and the server's."""

    def __init__(self, server: Connection | None = None, profile: bool = False) -> None:
        self.server = server
        self.profile = profile
        self.jiffies: dict[str, tuple[int, int] | None] = {}
        self.server_cpu: dict[str, float] = {}

    def __call__(self, edge: str) -> None:
        if self.server is not None:
            if edge == "start" and self.profile:
                _ask(self.server, "profile-on")
            self.server_cpu[edge] = _ask(self.server, "cpu")
            if edge == "end" and self.profile:
                print(f"  server profile written to {_ask(self.server, 'profile-off')}",
                      flush=True)
        self.jiffies[edge] = cpu_jiffies()

    @property
    def machine_busy(self) -> float | None:
        return busy_share(self.jiffies.get("start"), self.jiffies.get("end"))

    @property
    def server_seconds(self) -> float | None:
        if "start" not in self.server_cpu or "end" not in self.server_cpu:
            return None
        return self.server_cpu["end"] - self.server_cpu["start"]


@dataclass
class Settings:
    """Parsed command line."""

    dsn: str
    clients: int
    seconds: float
    warmup: float
    contenders: tuple[str, ...]
    profile: str | None


def _expect(pipe: Connection, timeout: float, what: str,
            on_mark: Callable[[str], None] | None = None) -> Any:
    """Wait for a subprocess's result, passing its window marks to ``on_mark``."""
    deadline = time.monotonic() + timeout
    while True:
        if not pipe.poll(max(0.0, deadline - time.monotonic())):
            raise BenchError(f"no answer from the {what} within {timeout:g} s")
        status, value = pipe.recv()
        if status == "mark":
            if on_mark is not None:
                on_mark(value)
            continue
        if status not in ("ok", "ready"):
            raise BenchError(f"{what} failed: {value}")
        return value


def _ask(pipe: Connection, message: str, timeout: float = 30) -> Any:
    pipe.send(message)
    if not pipe.poll(timeout):
        raise BenchError(f"the server did not answer {message!r}")
    return pipe.recv()


def run_load(ctx: Any, load: Load, on_mark: Callable[[str], None] | None = None) -> Figures:
    """Run a load generator in a subprocess and wait for its figures."""
    parent, child = ctx.Pipe()
    process = ctx.Process(target=load_process, args=(load, child), name=f"load-{load.kind}")
    process.start()
    child.close()
    try:
        figures: Figures = _expect(parent, load.warmup + load.seconds + 120, "load generator",
                                   on_mark)
    finally:
        process.join(30)
        if process.is_alive():
            process.kill()
    return figures


def bench_server(ctx: Any, settings: Settings, kind: str, dsn: str,
                 entry_size: int) -> Result:
    """Start one server subprocess, drive it from a load-generator subprocess, stop it."""
    parent, child = ctx.Pipe()
    profile = settings.profile if kind == "ledger" else None
    process = ctx.Process(target=server_process, name=f"server-{kind}",
                          args=(kind, dsn, settings.clients, entry_size, child, profile))
    process.start()
    child.close()
    try:
        info = _expect(parent, 300, f"{kind} server")
        load = Load("http", settings.clients, settings.warmup, settings.seconds,
                    base_url=info["base_url"], paths=info["paths"], token=info["token"])
        window = Window(parent, bool(profile))
        done, seconds, latencies, client_cpu, _ = run_load(ctx, load, window)
        result = Result(LABELS[kind], done, seconds, latencies, client_cpu,
                        window.server_seconds, window.machine_busy)
        parent.send("stop")
        process.join(60)
    finally:
        if process.is_alive():
            process.kill()
            process.join(10)
    if process.exitcode not in (0, None):
        raise BenchError(f"the {kind} server exited with {process.exitcode}")
    return result


def bench_raw(ctx: Any, settings: Settings, dsn: str, entry_size: int) -> Result:
    load = Load("raw", settings.clients, settings.warmup, settings.seconds, dsn=dsn,
                entry_size=entry_size)
    window = Window()
    done, seconds, latencies, cpu, rows = run_load(ctx, load, window)
    result = Result(LABELS["raw"], done, seconds, latencies, cpu, None, window.machine_busy)
    result.notes.append(f"{rows} rows written in all (warm-up and tail included)")
    return result


async def _ledger_bookkeeping(dsn: str) -> tuple[int, int, int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("SELECT count(*), coalesce(avg(octet_length(entry)), 0)::int "
                                  "FROM events WHERE event_type = 'ItemCommented'")
        queued = await conn.fetchval("SELECT count(*) FROM log_queue")
        logged = await conn.fetchval("SELECT count(*) FROM log_entries")
        return int(row[0]), int(row[1]), int(queued), int(logged)
    finally:
        await conn.close()


async def _http_ceiling_rows(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM ceiling_events"))
    finally:
        await conn.close()


def run(settings: Settings) -> dict[str, Result]:
    """Create the database, run the chosen contenders, always drop the database."""
    check_loopback(settings.dsn)
    name = asyncio.run(create_database(settings.dsn))
    dsn = with_database(settings.dsn, name)
    ctx = multiprocessing.get_context("spawn")
    print(f"database {name}: {settings.clients} clients, {settings.seconds:g} s per contender "
          f"after a {settings.warmup:g} s warm-up; {os.cpu_count()} CPUs", flush=True)
    results: dict[str, Result] = {}
    entry_size = DEFAULT_ENTRY_SIZE
    try:
        # The ledger runs first: the ceilings write entries of the ledger's average size.
        for key in ("ledger", "http", "raw"):
            if key not in settings.contenders:
                continue
            print(f"running {LABELS[key]}...", flush=True)
            if key == "raw":
                results[key] = bench_raw(ctx, settings, dsn, entry_size)
            else:
                results[key] = bench_server(ctx, settings, key, dsn, entry_size)
            r = results[key]
            if key == "ledger":
                events, size, queued, logged = asyncio.run(_ledger_bookkeeping(dsn))
                if events < r.requests:
                    raise BenchError(f"ledger: {r.requests} requests answered 201 in the "
                                     f"window but only {events} ItemCommented events stored")
                entry_size = size or DEFAULT_ENTRY_SIZE
                r.notes.append(f"{events} ItemCommented events stored in all, average entry "
                               f"{size} bytes; log: {logged} entries sequenced, {queued} "
                               f"still queued at shutdown")
            elif key == "http":
                rows = asyncio.run(_http_ceiling_rows(dsn))
                if rows < r.requests:
                    raise BenchError(f"http ceiling: {r.requests} answers but {rows} rows")
                r.notes.append(f"{rows} rows written in all, {entry_size}-byte entries")
            print(f"  {r.requests} requests in {r.seconds:.2f} s = {r.rate:,.0f}/s", flush=True)
            for note in r.notes:
                print(f"  {note}", flush=True)
    finally:
        asyncio.run(drop_database(settings.dsn, name))
    return results


# --------------------------------------------------------------------------- report


def report(results: dict[str, Result], settings: Settings) -> None:
    """Print the table, the two ratios and the latency target."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 132))
    table = Table(title=f"POST /v1/items/{{id}}/comments, {settings.clients} concurrent "
                        f"clients (PostgreSQL, {os.cpu_count()} CPUs)")
    columns = ("contender", "requests", "seconds", "req/s", "p50 ms", "p99 ms",
               "server CPU µs/req", "client CPU µs/req", "machine busy")
    for column in columns:
        table.add_column(column, justify="left" if column == "contender" else "right",
                         no_wrap=True)
    for key in CONTENDERS:
        if key in results:
            r = results[key]
            table.add_row(r.name, str(r.requests), f"{r.seconds:.2f}", f"{r.rate:,.0f}",
                          f"{r.percentile(50):.2f}", f"{r.percentile(99):.2f}",
                          Result.per_request_us(r.server_cpu, r.requests),
                          Result.per_request_us(r.client_cpu, r.requests),
                          "-" if r.machine_busy is None else f"{r.machine_busy:.0%}")
    console.print(table)
    ledger, http, raw = results.get("ledger"), results.get("http"), results.get("raw")
    if ledger is not None and http is not None and http.rate > 0:
        ratio = ledger.rate / http.rate
        verdict = "met" if ratio >= 0.6 else "NOT met"
        console.print(f"ledger / HTTP ceiling       = {ratio:.1%}  (target ≥ 60%: {verdict})",
                      highlight=False)
    if http is not None and raw is not None and raw.rate > 0:
        console.print(f"HTTP ceiling / raw ceiling  = {http.rate / raw.rate:.1%}  (info)",
                      highlight=False)
    if ledger is not None and raw is not None and raw.rate > 0:
        console.print(f"ledger / raw ceiling        = {ledger.rate / raw.rate:.1%}  (info)",
                      highlight=False)
    if ledger is not None:
        p99 = ledger.percentile(99)
        verdict = "met" if p99 < 50 else "NOT met"
        console.print(f"ledger p99                  = {p99:.1f} ms  (target < 50 ms: "
                      f"{verdict})", highlight=False)


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> Settings:
    """Read the command line."""
    parser = bench_parser(__doc__)
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (32)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="measured seconds per contender (default 10; 3 with --quick)")
    parser.add_argument("--warmup", type=float, default=None,
                        help="warm-up seconds per contender (default 2; 1 with --quick)")
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help="comma-separated subset of ledger,http,raw")
    parser.add_argument("--profile", metavar="PATH",
                        help="cProfile the ledger server's measured window into PATH (its "
                             "figures are then not representative)")
    args = parser.parse_args(argv)
    contenders = parse_contenders(parser, args.contenders, CONTENDERS)
    if args.clients < 1:
        parser.error("--clients must be at least 1")
    seconds = args.seconds if args.seconds is not None else (3.0 if args.quick else 10.0)
    warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    if seconds <= 0 or warmup < 0:
        parser.error("--seconds must be positive and --warmup not negative")
    return Settings(args.dsn, args.clients, seconds, warmup, contenders, args.profile)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 whatever the figures, 1 on errors."""
    settings = parse_args(argv)
    return run_main("bench_http", lambda: run(settings),
                    lambda results: report(results, settings))


if __name__ == "__main__":
    sys.exit(main())
