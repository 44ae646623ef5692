"""Benchmark: single-event commands per second on PostgreSQL, 16 concurrent writers.

Three contenders run one after another in the same invocation, each against its own tables in
a throw-away database (``bench_<random>``, created through the ``postgres`` maintenance
database and dropped at the end):

- **ceiling**: raw asyncpg, one connection per writer, one autocommitted single-row INSERT per
  "command" into a table with the column types and keys of ``events`` (no triggers, no
  log-queue row, no read); the entry bytes have the average size of the ledger's entries.
- **ledger**: ``Ledger.execute(CommentItem(...))`` by HR on a PostgresEventStore; each writer
  comments on its own handover item, so every command reads and verifies streams and appends
  exactly one chained entry.
- **peer**: eventsourcing's own ``Application`` with its PostgreSQL recorder; each writer thread
  does ``repository.get`` → ``comment`` → ``save`` on its own aggregate.

Targets (from the issue): ledger ≥ 50% of the ceiling and ≥ 4x the peer. The script exits 0
whatever the figures are; non-zero only when something goes wrong.

    python scripts/bench_store.py                 # 10 s per contender, 16 writers
    python scripts/bench_store.py --quick         # short smoke run
    python scripts/bench_store.py --commands 2000 --contenders ledger --profile /tmp/l.prof
    python scripts/bench_store.py --trust         # ledger: neither vs TSA + witness, 5 rounds

``--trust`` (issue 14) measures only the ledger, with the log's sequencer running (as under
``ledger serve``), ``--rounds`` times with neither and with both a local RFC 3161 TSA and a
``ledger witness`` (each its own process on loopback, scripts/benchtrust.py) and the log's
timestamper and witnesses workers, interleaved in ABBA order in one run; it prints both
throughputs, their ratio against the target (within 10%) and the round trips per checkpoint.
"""

from __future__ import annotations

import asyncio
import cProfile
import datetime as dt
import hashlib
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg
from benchdb import (
    CEILING_DDL,
    CEILING_INSERT,
    HR,
    MANAGER,
    SUCCESSOR,
    BenchError,
    bench_parser,
    check_loopback,
    comment_text,
    create_database,
    create_items,
    drop_database,
    parse_contenders,
    percentile,
    run_main,
    with_database,
)
from benchtrust import (
    TrustFigures,
    TrustServices,
    add_round_arguments,
    interleaved,
    verdict_line,
)
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from ledger.aggregates.item import HandoverItem
from ledger.service import commands as c
from ledger.service.context import RequestContext
from ledger.service.ledger import Ledger
from ledger.store.postgres import PostgresEventStore
from ledger.store.postgres_log import PostgresLogStore
from ledger.tlog.note import generate_key, parse_signer_key
from ledger.transparency.sequencer import Sequencer

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
CONTENDERS = ("ceiling", "ledger", "peer")
CONTEXT = RequestContext(request_id=None, ip="127.0.0.1", user_agent="bench_store", auth="bench")
ITEM_ATTRIBUTES = (
    "departure_id", "category", "title", "label", "acceptance_criteria", "giver_id",
    "receiver", "mandatory", "priority", "due_date", "template_item_key",
)

# --------------------------------------------------------------------------- measurement


@dataclass
class Phase:
    """How long to run: a fixed number of commands in total, or a duration."""

    seconds: float | None = None
    commands: int | None = None

    def quota(self, writers: int, writer: int) -> int | None:
        """Commands for one writer (None: run until the deadline)."""
        if self.commands is None:
            return None
        return self.commands // writers + (1 if writer < self.commands % writers else 0)


@dataclass
class Result:
    """One contender's measured phase."""

    name: str
    commands: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0  # this process's CPU time (all threads) during the phase

    @property
    def rate(self) -> float:
        return self.commands / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_per_command_us(self) -> float:
        return self.cpu_seconds / self.commands * 1e6 if self.commands else float("nan")

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds (nearest rank: ``benchdb.percentile``)."""
        return percentile(self.latencies, p) * 1000


AsyncOp = Callable[[int, int], Awaitable[None]]
SyncOp = Callable[[int, int], None]


async def run_async_phase(name: str, writers: int, op: AsyncOp, phase: Phase,
                          counters: list[int], profiler: cProfile.Profile | None = None
                          ) -> Result:
    """Run ``op(writer, n)`` in ``writers`` concurrent tasks; ``counters`` count per writer."""
    latencies: list[list[float]] = [[] for _ in range(writers)]
    done = [0] * writers
    deadline = 0.0

    async def writer(w: int) -> None:
        quota = phase.quota(writers, w)
        lat = latencies[w]
        while (done[w] < quota) if quota is not None else (time.perf_counter() < deadline):
            t0 = time.perf_counter()
            await op(w, counters[w])
            lat.append(time.perf_counter() - t0)
            counters[w] += 1
            done[w] += 1

    start = time.perf_counter()
    cpu_start = time.process_time()
    deadline = start + (phase.seconds or 0.0)
    if profiler is not None:
        profiler.enable()
    try:
        await asyncio.gather(*(writer(w) for w in range(writers)))
    finally:
        if profiler is not None:
            profiler.disable()
    elapsed = time.perf_counter() - start
    return Result(name, sum(done), elapsed, [x for lat in latencies for x in lat],
                  time.process_time() - cpu_start)


def run_thread_phase(name: str, writers: int, op: SyncOp, phase: Phase,
                     counters: list[int]) -> Result:
    """Run ``op(writer, n)`` in ``writers`` threads started together."""
    latencies: list[list[float]] = [[] for _ in range(writers)]
    done = [0] * writers
    errors: list[BaseException] = []
    barrier = threading.Barrier(writers + 1)
    deadline = [0.0]

    def writer(w: int) -> None:
        quota = phase.quota(writers, w)
        lat = latencies[w]
        barrier.wait()
        try:
            while (done[w] < quota) if quota is not None else (
                    time.perf_counter() < deadline[0]):
                t0 = time.perf_counter()
                op(w, counters[w])
                lat.append(time.perf_counter() - t0)
                counters[w] += 1
                done[w] += 1
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(w,), daemon=True) for w in range(writers)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    cpu_start = time.process_time()
    deadline[0] = start + (phase.seconds or 0.0)
    barrier.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise BenchError(f"{name}: a writer failed: {errors[0]!r}") from errors[0]
    return Result(name, sum(done), elapsed, [x for lat in latencies for x in lat],
                  time.process_time() - cpu_start)


# --------------------------------------------------------------------------- contenders


@dataclass
class Settings:
    """Parsed command line."""

    dsn: str
    writers: int
    measure: Phase
    warmup: Phase
    contenders: tuple[str, ...]
    profile: str | None
    trust: bool = False  # the ledger only: neither vs TSA + witness, interleaved
    rounds: int = 5
    each: bool = False  # --trust: also rounds with the TSA only and the witness only


@dataclass
class Shared:
    """What one contender hands to the next."""

    entry_size: int | None = None
    item_state: dict[str, Any] | None = None


async def bench_ledger(settings: Settings, dsn: str, shared: Shared) -> Result:
    """Our ledger: CommentItem by HR, one item per writer."""
    writers = settings.writers
    store = await PostgresEventStore.connect(dsn, min_size=writers, max_size=writers + 4)
    try:
        await store.migrate()
        ledger = Ledger(store)
        await ledger.install_builtin_templates()
        items = await create_items(ledger, writers, HR, MANAGER, SUCCESSOR, CONTEXT)
        first = await ledger.load(HandoverItem, items[0])
        shared.item_state = {name: getattr(first, name) for name in ITEM_ATTRIBUTES}
        base = await store.count_events()

        async def op(w: int, n: int) -> None:
            command = c.CommentItem(item_id=items[w], text=comment_text(w, n))
            outcome = await ledger.execute(command, HR, CONTEXT)
            if len(outcome.body["events"]) != 1:  # type: ignore[arg-type]
                raise BenchError(f"CommentItem appended {outcome.body['events']!r}")

        counters = [0] * writers
        await run_async_phase("ledger", writers, op, settings.warmup, counters)
        profiler = cProfile.Profile()
        result = await run_async_phase("ledger (Ledger.execute)", writers, op, settings.measure,
                                       counters, profiler if settings.profile else None)
        if settings.profile:
            profiler.dump_stats(settings.profile)
        issued = sum(counters)
        appended = await store.count_events() - base
        rows = await store.pool.fetch(
            "SELECT count(*), avg(octet_length(entry))::int FROM events "
            "WHERE event_type = 'ItemCommented'"
        )
        if appended != issued or rows[0][0] != issued:
            raise BenchError(f"ledger: {issued} commands issued but {appended} events "
                             f"appended ({rows[0][0]} ItemCommented)")
        shared.entry_size = int(rows[0][1])
        longest = await store.pool.fetchval(
            "SELECT max(version) FROM events WHERE event_type = 'ItemCommented'")
        print(f"  checked: {issued} commands issued = {appended} events appended; item streams "
              f"reached {longest} entries", flush=True)
        return result
    finally:
        await store.close()


async def bench_ceiling(settings: Settings, dsn: str, shared: Shared) -> Result:
    """Raw asyncpg single-row INSERTs of entries of the ledger's average size."""
    writers = settings.writers
    size = shared.entry_size or 1024
    entry = (b'{"bench":"' + b"x" * size)[: size - 2] + b'"}'
    event_hash = hashlib.sha256(entry).digest()
    print(f"  ceiling rows carry {size}-byte entries"
          + ("" if shared.entry_size else " (no ledger run: default size)"), flush=True)
    conns = [await asyncpg.connect(dsn) for _ in range(writers)]
    try:
        await conns[0].execute(CEILING_DDL)
        streams = [uuid.uuid4() for _ in range(writers)]

        async def op(w: int, n: int) -> None:
            await conns[w].execute(CEILING_INSERT, uuid.uuid4(), "item", streams[w], n + 1,
                                   "ItemCommented", dt.datetime.now(dt.UTC), entry, event_hash)

        counters = [0] * writers
        await run_async_phase("ceiling", writers, op, settings.warmup, counters)
        result = await run_async_phase("ceiling (raw asyncpg)", writers, op,
                                       settings.measure, counters)
        rows = await conns[0].fetchval("SELECT count(*) FROM ceiling_events")
        if rows != sum(counters):
            raise BenchError(f"ceiling: {sum(counters)} inserts issued but {rows} rows")
        return result
    finally:
        for conn in conns:
            await conn.close()


class PeerItem(Aggregate):
    """The peer's handover item: the same creation fields, and a comment event."""

    @event("Created")
    def __init__(self, departure_id: str, category: str, title: str, label: str,
                 acceptance_criteria: str, giver_id: str, receiver: str, mandatory: bool,
                 priority: str, due_date: str | None, template_item_key: str | None) -> None:
        self.departure_id = departure_id
        self.category = category
        self.title = title
        self.label = label
        self.acceptance_criteria = acceptance_criteria
        self.giver_id = giver_id
        self.receiver = receiver
        self.mandatory = mandatory
        self.priority = priority
        self.due_date = due_date
        self.template_item_key = template_item_key
        self.state = "open"

    @event("Commented")
    def comment(self, by: str, text: str) -> None:
        """Record a comment."""


class PeerApplication(Application[uuid.UUID]):
    """eventsourcing's Application, stock settings apart from the pool size."""

    name = "BenchPeer"


def _peer_env(dsn: str, writers: int) -> dict[str, str]:
    parts = urlsplit(dsn)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/"),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_POOL_SIZE": str(writers),
        "POSTGRES_MAX_OVERFLOW": "0",
    }


def bench_peer(settings: Settings, dsn: str, shared: Shared) -> Result:
    """eventsourcing Application: get → comment → save, one aggregate per writer thread."""
    writers = settings.writers
    state = shared.item_state or {
        "departure_id": str(uuid.uuid4()), "category": "clients", "title": "Client list",
        "label": "Client list", "acceptance_criteria": "All clients listed.",
        "giver_id": "emp-bench-1", "receiver": SUCCESSOR, "mandatory": True,
        "priority": "high", "due_date": dt.date.today().isoformat(),
        "template_item_key": "client-list",
    }
    app = PeerApplication(env=_peer_env(dsn, writers))
    try:
        items = []
        for _ in range(writers):
            item = PeerItem(**state)
            app.save(item)
            items.append(item.id)

        def op(w: int, n: int) -> None:
            item: PeerItem = app.repository.get(items[w])
            item.comment(by=HR.id, text=comment_text(w, n))
            app.save(item)

        counters = [0] * writers
        run_thread_phase("peer", writers, op, settings.warmup, counters)
        result = run_thread_phase("peer (eventsourcing)", writers, op,
                                  settings.measure, counters)
        total = sum(app.repository.get(i).version - 1 for i in items)
        if total != sum(counters):
            raise BenchError(f"peer: {sum(counters)} commands issued but {total} events")
        return result
    finally:
        app.close()


@dataclass
class TrustComparison:
    """``--trust``: the ledger's measured runs with neither and with both."""

    neither: list[Result]
    both: list[Result]
    figures: TrustFigures
    each: dict[str, list[Result]] = field(default_factory=dict)  # --each: one of them


async def bench_trust(settings: Settings, dsn: str) -> TrustComparison:
    """The ledger (CommentItem by HR, one item per writer) with the sequencer running,
    ``settings.rounds`` times with neither and with both TSA and witness, interleaved."""
    writers = settings.writers
    origin = "bench.handover-ledger.localhost/log"
    store = await PostgresEventStore.connect(dsn, min_size=writers + 2, max_size=writers + 6)
    try:
        await store.migrate()
        log = PostgresLogStore(store)
        skey, vkey = generate_key(origin)
        sequencer = Sequencer(log, [parse_signer_key(skey)], origin)
        ledger = Ledger(store, on_append=sequencer.poke)
        await ledger.install_builtin_templates()
        items = await create_items(ledger, writers, HR, MANAGER, SUCCESSOR, CONTEXT)
        await sequencer.step()
        stop = asyncio.Event()
        task = asyncio.create_task(sequencer.run(stop), name="sequencer")

        async def op(w: int, n: int) -> None:
            await ledger.execute(c.CommentItem(item_id=items[w], text=comment_text(w, n)),
                                 HR, CONTEXT)

        counters = [0] * writers
        try:
            async with TrustServices(vkey) as trust:
                await run_async_phase("ledger", writers, op, settings.warmup, counters)

                async def neither() -> Result:
                    return await run_async_phase("neither", writers, op, settings.measure,
                                                 counters)

                def with_trust(name: str, tsa: bool, witness: bool
                               ) -> Callable[[], Awaitable[Result]]:
                    async def measured() -> Result:
                        async with trust.running(store, log, sequencer, tsa=tsa,
                                                 witness=witness):
                            return await run_async_phase(name, writers, op, settings.measure,
                                                         counters)
                    return measured

                configurations = {"neither": neither,
                                  "both": with_trust("TSA + witness", True, True)}
                if settings.each:
                    configurations["TSA only"] = with_trust("TSA only", True, False)
                    configurations["witness only"] = with_trust("witness only", False, True)
                runs = await interleaved(settings.rounds, configurations)
        finally:
            stop.set()
            await task
        appended = await store.pool.fetchval(
            "SELECT count(*) FROM events WHERE event_type = 'ItemCommented'")
        if appended != sum(counters):
            raise BenchError(f"ledger: {sum(counters)} commands issued but {appended} "
                             f"ItemCommented events")
        return TrustComparison(runs.pop("neither"), runs.pop("both"), trust.figures, runs)
    finally:
        await store.close()


def report_trust(comparison: TrustComparison, settings: Settings) -> None:
    """Print ``--trust``'s runs, the throughput ratio against the 10% target and the round
    trips per checkpoint."""
    print(f"ledger (Ledger.execute(CommentItem), sequencer running), {settings.writers} "
          f"writers, {settings.rounds} round(s) in ABBA order, {os.cpu_count()} CPUs")
    for name, runs in (("neither", comparison.neither), ("TSA + witness", comparison.both),
                       *comparison.each.items()):
        for n, r in enumerate(runs, 1):
            print(f"  {name:<14} round {n}: {r.commands:6} commands in {r.seconds:5.2f} s = "
                  f"{r.rate:7,.0f}/s, p50 {r.percentile(50):.2f} ms, p99 "
                  f"{r.percentile(99):.2f} ms")
    print(verdict_line("commands / s", [r.rate for r in comparison.neither],
                       [r.rate for r in comparison.both], higher_is_better=True, unit="/s"))
    neither = statistics.median(r.rate for r in comparison.neither)
    for name, runs in comparison.each.items():
        rate = statistics.median(r.rate for r in runs)
        print(f"{name} (info): {rate:,.0f} commands/s = {rate / neither:.1%} of neither")
    for line in comparison.figures.lines():
        print(line)


# --------------------------------------------------------------------------- report


def report(results: dict[str, Result], settings: Settings) -> None:
    """Print the table and the two ratios against their targets."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 110))
    table = Table(title=f"Single-event commands, {settings.writers} concurrent writers "
                        f"(PostgreSQL, {os.cpu_count()} CPUs)")
    columns = ("contender", "commands", "seconds", "commands/s", "p50 ms", "p99 ms",
               "client CPU µs/cmd")
    for column in columns:
        table.add_column(column, justify="left" if column == "contender" else "right",
                         no_wrap=True)
    for key in CONTENDERS:
        if key in results:
            r = results[key]
            table.add_row(r.name, str(r.commands), f"{r.seconds:.2f}", f"{r.rate:,.0f}",
                          f"{r.percentile(50):.2f}", f"{r.percentile(99):.2f}",
                          f"{r.cpu_per_command_us:,.0f}")
    console.print(table)
    ledger = results.get("ledger")
    if ledger is None:
        return
    if "ceiling" in results and results["ceiling"].rate > 0:
        ratio = ledger.rate / results["ceiling"].rate
        verdict = "met" if ratio >= 0.5 else "NOT met"
        console.print(f"ledger / raw ceiling       = {ratio:.1%}  (target ≥ 50%: {verdict})",
                      highlight=False)
    if "peer" in results and results["peer"].rate > 0:
        ratio = ledger.rate / results["peer"].rate
        verdict = "met" if ratio >= 4 else "NOT met"
        console.print(f"ledger / eventsourcing peer = {ratio:.2f}×  (target ≥ 4×: {verdict})",
                      highlight=False)


# --------------------------------------------------------------------------- main


async def run(settings: Settings) -> dict[str, Result]:
    """Create the database, run the chosen contenders, always drop the database."""
    check_loopback(settings.dsn)
    name = await create_database(settings.dsn)
    dsn = with_database(settings.dsn, name)
    print(f"database {name}: {settings.writers} writers, "
          + (f"{settings.measure.commands} commands" if settings.measure.commands
             else f"{settings.measure.seconds:g} s")
          + f" per contender after a {settings.warmup.seconds:g} s warm-up", flush=True)
    results: dict[str, Result] = {}
    shared = Shared()
    try:
        # The ledger runs first: the ceiling writes entries of the ledger's average size.
        for key in ("ledger", "ceiling", "peer"):
            if key not in settings.contenders:
                continue
            print(f"running {key}...", flush=True)
            if key == "ledger":
                results[key] = await bench_ledger(settings, dsn, shared)
            elif key == "ceiling":
                results[key] = await bench_ceiling(settings, dsn, shared)
            else:
                results[key] = await asyncio.to_thread(bench_peer, settings, dsn, shared)
            r = results[key]
            print(f"  {r.commands} commands in {r.seconds:.2f} s = {r.rate:,.0f}/s", flush=True)
        if shared.entry_size is not None:
            print(f"average ItemCommented entry: {shared.entry_size} bytes", flush=True)
    finally:
        await drop_database(settings.dsn, name)
    return results


async def run_trust(settings: Settings) -> TrustComparison:
    """``--trust`` in a fresh database, always dropped."""
    check_loopback(settings.dsn)
    name = await create_database(settings.dsn)
    print(f"database {name}: {settings.writers} writers, "
          + (f"{settings.measure.commands} commands" if settings.measure.commands
             else f"{settings.measure.seconds:g} s")
          + f" per run, {settings.rounds} round(s), neither vs TSA + witness", flush=True)
    try:
        return await bench_trust(settings, with_database(settings.dsn, name))
    finally:
        await drop_database(settings.dsn, name)


def parse_args(argv: list[str] | None = None) -> Settings:
    """Read the command line."""
    parser = bench_parser(__doc__, DEFAULT_DSN)
    parser.add_argument("--writers", type=int, default=16, help="concurrent writers (16)")
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--seconds", type=float, default=None,
                     help="measured seconds per contender (default 10)")
    how.add_argument("--commands", type=int, default=None,
                     help="measured commands per contender instead of a duration")
    parser.add_argument("--warmup", type=float, default=None,
                        help="warm-up seconds per contender (default 2; 0.5 with --quick)")
    parser.add_argument("--quick", action="store_true", help="short smoke run (2 s each)")
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help="comma-separated subset of ceiling,ledger,peer")
    parser.add_argument("--profile", metavar="PATH",
                        help="write a cProfile of the ledger's measured phase to PATH")
    parser.add_argument("--trust", action="store_true",
                        help="the ledger only, with the sequencer running: --rounds runs with "
                             "neither and with both a TSA and a witness, interleaved")
    add_round_arguments(parser)
    args = parser.parse_args(argv)
    rounds = args.rounds if args.rounds is not None else (2 if args.quick else 5)
    if rounds < 1:
        parser.error("--rounds must be positive")
    if args.trust and args.profile:
        parser.error("--trust is not profiled")
    if args.each and not args.trust:
        parser.error("--each goes with --trust")
    contenders = parse_contenders(parser, args.contenders, CONTENDERS)
    if args.writers < 1:
        parser.error("--writers must be at least 1")
    if args.commands is not None:
        if args.commands < args.writers:
            parser.error("--commands must be at least --writers")
        measure = Phase(commands=args.commands)
    else:
        seconds = args.seconds if args.seconds is not None else (2.0 if args.quick else 10.0)
        if seconds <= 0:
            parser.error("--seconds must be positive")
        measure = Phase(seconds=seconds)
    warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 2.0)
    return Settings(args.dsn, args.writers, measure, Phase(seconds=max(warmup, 0.0)),
                    contenders, args.profile, args.trust, rounds, args.each)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 whatever the figures, 1 on errors."""
    settings = parse_args(argv)
    if settings.trust:
        return run_main("bench_store", lambda: asyncio.run(run_trust(settings)),
                        lambda comparison: report_trust(comparison, settings))
    return run_main("bench_store", lambda: asyncio.run(run(settings)),
                    lambda results: report(results, settings))


if __name__ == "__main__":
    sys.exit(main())
