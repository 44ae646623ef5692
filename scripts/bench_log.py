"""Benchmark: the transparency log on PostgreSQL: sequencer lag, proof latency, verify rate.

Three phases run one after another in a throw-away database (``bench_<random>``, created
through the ``postgres`` maintenance database on a loopback server and dropped at the end):

1. **ingest + lag.** 16 concurrent writers run the store benchmark's load while an in-process
   ``Sequencer`` (its own asyncio task, woken by ``Ledger(on_append=sequencer.poke)``, default
   batch size and poll interval) sequences the log. ``--load ledger`` (default) is
   ``scripts/bench_store.py``'s ledger workload: ``Ledger.execute(CommentItem)`` by HR, one
   handover item per writer, one chained event per command. ``--load append`` instead calls
   ``store.append`` directly with pre-built single-event streams (a heavier ingest). For each
   event committed in the measured window, lag = time from its append returning to the commit
   of the sequencer transaction that gave it a log index (recorded by wrapping the log store's
   ``sequencing()`` transaction, so no polling). Target: lag p99 < 250 ms at full ingest.
2. **proofs at ``--leaves`` leaves.** The remaining leaves are bulk-loaded: COPY of valid
   single-event entries built with ``ledger.entry.encode_entry`` (shaped like the ingest
   phase's entries) plus their ``log_queue`` rows; a Sequencer with a large batch then
   sequences them (that rate is reported). Then ``LogReader.inclusion`` of random event hashes
   and ``LogReader.consistency`` of random size pairs, one at a time, in-process; every proof
   is checked with ``verify_inclusion``/``verify_consistency`` outside the timed section. The
   same requests also go over HTTP through ``api.app.build_app`` (client and server in this
   process; for information). Target: p99 < 5 ms.
3. **verify.** ``verify_ledger`` (what ``ledger verify`` runs: every entry re-hashed and
   checked against its row and its stream's chain, 10,000 rows per read; the log's tree
   rebuilt and compared with every stored hash, tile and checkpoint, by a child process
   meanwhile from 50,000 entries on, so not with ``--quick``) over every event, events/s,
   beside plain ``hashlib.sha256`` over the same entry bytes read from the database in
   5,000-row position batches (read + hash). Each is run twice, interleaved, and
   the faster run counts (the machine's speed drifts between runs). Target: verify ≥ 25% of
   that hashlib rate. ``ledger verify --strict`` (full
   JSON decode and canonical-form proof of every entry), the in-memory hashlib rate and the
   rate of ``store.read_for_audit`` alone (read, no checks) are printed for information.

With ``--tsa`` and/or ``--witness`` (issue 14), phase 1 runs with a local RFC 3161 TSA and/or
a ``ledger witness``, each its own process on loopback, and the log's timestamper (every
second, the tightest ``LEDGER_TSA_INTERVAL_SECONDS``) and witnesses workers beside the
sequencer (scripts/benchtrust.py). ``--trust`` runs phase 1 only, ``--rounds`` times with
neither and with both, interleaved in ABBA order in one run, each round on a fresh database
with fresh TSA and witness processes (so every round starts from an empty log, as the first
did), and prints the write rate and lag p99 of each, their ratios against the target
(within 10%) and the round trips per checkpoint.

The script exits 0 whatever the figures are; non-zero only when something goes wrong.

    python scripts/bench_log.py                    # 1,000,000 leaves, 20 s ingest
    python scripts/bench_log.py --quick            # 20,000 leaves, 3 s ingest
    python scripts/bench_log.py --profile /tmp/bl  # cProfile each phase to /tmp/bl-<phase>.prof
    python scripts/bench_log.py --keep             # keep the database (name printed)
    python scripts/bench_log.py --reuse bench_ab12 # verify phase only, on a kept database
    python scripts/bench_log.py --tsa --witness    # ingest with a local TSA and a witness
    python scripts/bench_log.py --trust            # ingest only: neither vs TSA + witness
"""

from __future__ import annotations

import asyncio
import cProfile
import datetime as dt
import hashlib
import os
import random
import re
import resource
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from benchdb import (
    BENCH_ERRORS,
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
    percentile,
    run_main,
    serve_loopback,
    with_database,
)
from benchtrust import (
    TrustFigures,
    TrustServices,
    add_round_arguments,
    interleaved,
    verdict_line,
)

from ledger.entry import Entry, decode_entry, encode_entry
from ledger.errors import LedgerError
from ledger.service import commands as c
from ledger.service.context import RequestContext
from ledger.service.ledger import Ledger
from ledger.store.log_port import LogEntryRow
from ledger.store.port import NewEvent
from ledger.store.postgres import PostgresEventStore
from ledger.store.postgres_log import PostgresLogStore
from ledger.tlog.hashing import hash_leaf
from ledger.tlog.note import Signer, Verifier, generate_key, parse_signer_key, parse_verifier_key
from ledger.tlog.proof import verify_consistency, verify_inclusion
from ledger.transparency.reader import LogReader
from ledger.transparency.sequencer import Sequencer
from ledger.verify import LedgerReport, verify_ledger

ORIGIN = "bench.handover-ledger.localhost/log"
CONTEXT = RequestContext(request_id=None, ip="127.0.0.1", user_agent="bench_log", auth="bench")
EVENT_COLUMNS = ("event_id", "stream_type", "stream_id", "version", "event_type",
                 "recorded_at", "entry", "event_hash")
ALL_COLUMNS = ("position, event_id, stream_type, stream_id, version, event_type, event_hash, "
               "entry")
READ_BATCH = 5000  # rows per read of the hashlib baseline
LAG_TARGET_MS = 250.0
PROOF_TARGET_MS = 5.0
VERIFY_TARGET = 0.25


@asynccontextmanager
async def profiled(prefix: str | None, phase: str) -> AsyncIterator[None]:
    """cProfile the block into ``<prefix>-<phase>.prof`` when profiling is on."""
    if prefix is None:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        profiler.dump_stats(f"{prefix}-{phase}.prof")
        print(f"  profile written to {prefix}-{phase}.prof", flush=True)


# --------------------------------------------------------------------------- timed log store


@dataclass(frozen=True)
class BatchTiming:
    """One committed sequencer transaction."""

    committed_at: float  # perf_counter right after COMMIT returned
    leaves: int
    seconds: float  # from opening the transaction to COMMIT returning


class _RecordingBatch:
    """A SequencingBatch that notes the event hashes it appends."""

    def __init__(self, inner: Any, appended: list[bytes]) -> None:
        self._inner = inner
        self._appended = appended

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def append(self, entries: Sequence[LogEntryRow],
                     hashes: Sequence[tuple[int, bytes]]) -> None:
        self._appended.extend(e.event_hash for e in entries)
        await self._inner.append(entries, hashes)


class TimedLog:
    """The PostgreSQL log store, recording when each sequencer transaction commits.

    Everything but ``sequencing`` is the wrapped store's own method.
    """

    def __init__(self, inner: PostgresLogStore) -> None:
        self.inner = inner
        self.included: dict[bytes, float] = {}  # event hash -> commit time of its batch
        self.batches: list[BatchTiming] = []
        self.track_hashes = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @asynccontextmanager
    async def sequencing(self) -> AsyncIterator[_RecordingBatch]:
        appended: list[bytes] = []
        start = time.perf_counter()
        async with self.inner.sequencing() as batch:
            yield _RecordingBatch(batch, appended)
        end = time.perf_counter()  # the transaction has committed
        if self.track_hashes:
            for event_hash in appended:
                self.included[event_hash] = end
        self.batches.append(BatchTiming(end, len(appended), end - start))


# --------------------------------------------------------------------------- phase 1: ingest


@dataclass
class IngestResult:
    """Phase 1's figures."""

    load: str
    writers: int
    seconds: float
    events: int
    leaves: int  # sequenced by batches that committed inside the window
    lags: list[float]
    command_latencies: list[float]
    batches: list[BatchTiming]
    drain_seconds: float
    max_backlog: int
    stream_length: int | None = None
    cosigned: int | None = None  # with --witness: checkpoints a witness cosigned meanwhile
    timestamped: int | None = None  # with --tsa: checkpoints a TSA timestamped meanwhile


WriteOp = Callable[[int, int], Awaitable[bytes]]


async def _ledger_op(ledger: Ledger, writers: int) -> WriteOp:
    await ledger.install_builtin_templates()
    items = await create_items(ledger, writers, HR, MANAGER, SUCCESSOR, CONTEXT)

    async def op(w: int, n: int) -> bytes:
        outcome = await ledger.execute(c.CommentItem(item_id=items[w], text=comment_text(w, n)),
                                       HR, CONTEXT)
        events = outcome.body["events"]
        if not isinstance(events, list) or len(events) != 1:
            raise BenchError(f"CommentItem appended {events!r}")
        return bytes.fromhex(str(events[0]["hash"]))

    return op


def _comment_entry(w: int, n: int) -> NewEvent:
    """A fresh single-event item stream carrying a comment (the ``append`` load)."""
    event_id, stream_id = uuid.uuid4(), uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    raw, event_hash = encode_entry(
        event_id=event_id, stream_type="item", stream_id=stream_id, version=1,
        event_type="ItemCommented", recorded_at=now, actor=HR.as_json(),
        context=CONTEXT.as_json(), payload={"by": HR.id, "text": comment_text(w, n)}, prev=None)
    return NewEvent(event_id, "item", stream_id, 1, "ItemCommented", now, raw, event_hash)


def _append_op(store: PostgresEventStore, sequencer: Sequencer) -> WriteOp:
    async def op(w: int, n: int) -> bytes:
        event = _comment_entry(w, n)
        await store.append([event])
        sequencer.poke()  # what Ledger(on_append=...) does
        return event.event_hash

    return op


async def run_writers(op: WriteOp, writers: int, seconds: float, counters: list[int],
                      committed: list[tuple[bytes, float]] | None,
                      latencies: list[float] | None) -> int:
    """Run ``op`` in ``writers`` tasks for ``seconds``; return how many ops completed."""
    deadline = time.perf_counter() + seconds
    done = [0] * writers

    async def writer(w: int) -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            event_hash = await op(w, counters[w])
            t1 = time.perf_counter()  # append has returned: the event is committed
            if committed is not None:
                committed.append((event_hash, t1))
            if latencies is not None:
                latencies.append(t1 - t0)
            counters[w] += 1
            done[w] += 1

    await asyncio.gather(*(writer(w) for w in range(writers)))
    return sum(done)


def _max_backlog(committed: list[tuple[bytes, float]], included: dict[bytes, float]) -> int:
    """Most measured events committed but not yet in the log at any moment."""
    points = [(t, 1) for _, t in committed] + [(included[h], -1) for h, _ in committed]
    points.sort()
    depth = best = 0
    for _, step in points:
        depth += step
        best = max(best, depth)
    return best


async def ingest_phase(settings: Settings, store: PostgresEventStore, log: TimedLog,
                       signers: list[Signer], trust: TrustServices | None = None, *,
                       tsa: bool = True, witness: bool = True) -> IngestResult:
    """Phase 1: the write load with the sequencer running beside it (and, with ``trust``,
    its timestamper and witnesses workers, as ``ledger serve`` runs them)."""
    sequencer = Sequencer(log, signers, ORIGIN)
    ledger = Ledger(store, on_append=sequencer.poke)
    stop = asyncio.Event()
    await sequencer.step()  # signs the empty checkpoint, as api.app does at start-up
    task = asyncio.create_task(sequencer.run(stop), name="sequencer")
    before = (trust.figures.timestamped, trust.figures.cosigned) if trust else (0, 0)
    running: AbstractAsyncContextManager[None] = (
        nullcontext() if trust is None
        else trust.running(store, log, sequencer, tsa=tsa, witness=witness))
    async with running:
        result = await _ingest(settings, store, log, sequencer, ledger, stop, task)
    if trust is not None:
        result.timestamped = trust.figures.timestamped - before[0] if trust.tsa and tsa else None
        result.cosigned = (trust.figures.cosigned - before[1] if trust.witness and witness
                           else None)
    return result


async def _ingest(settings: Settings, store: PostgresEventStore, log: TimedLog,
                  sequencer: Sequencer, ledger: Ledger, stop: asyncio.Event,
                  task: asyncio.Task[None]) -> IngestResult:
    writers = settings.writers
    try:
        if settings.load == "ledger":
            op = await _ledger_op(ledger, writers)
        else:
            op = _append_op(store, sequencer)
        counters = [0] * writers
        if settings.warmup > 0:
            await run_writers(op, writers, settings.warmup, counters, None, None)
        committed: list[tuple[bytes, float]] = []
        latencies: list[float] = []
        async with profiled(settings.profile, "ingest"):
            start = time.perf_counter()
            events = await run_writers(op, writers, settings.seconds, counters, committed,
                                       latencies)
            end = time.perf_counter()
        waiting = [h for h, _ in committed]
        drain_deadline = end + 120
        while any(h not in log.included for h in waiting):
            if task.done():
                task.result()  # re-raise what killed the sequencer
                raise BenchError("the sequencer stopped before the queue drained")
            if time.perf_counter() > drain_deadline:
                missing = sum(h not in log.included for h in waiting)
                raise BenchError(f"{missing} events still unsequenced 120 s after the load")
            await asyncio.sleep(0.01)
            waiting = [h for h in waiting if h not in log.included]
        drained = max(log.included[h] for h, _ in committed) - end if committed else 0.0
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=60)
        except TimeoutError:
            task.cancel()
    lags = [log.included[h] - t for h, t in committed]
    in_window = [b for b in log.batches if start <= b.committed_at < end]
    longest = None
    if settings.load == "ledger":
        longest = await store.pool.fetchval(
            "SELECT max(version) FROM events WHERE event_type = 'ItemCommented'")
    return IngestResult(settings.load, writers, end - start, events,
                        sum(b.leaves for b in in_window), lags, latencies,
                        in_window, max(drained, 0.0), _max_backlog(committed, log.included),
                        longest)


@dataclass
class TrustResult:
    """``--trust``: the ingest phase's rounds with neither and with both (TSA + witness)."""

    neither: list[IngestResult]
    both: list[IngestResult]
    figures: TrustFigures
    each: dict[str, list[IngestResult]] = field(default_factory=dict)  # --each: one of them


async def trust_phase(settings: Settings, admin_dsn: str, signers: list[Signer]
                      ) -> TrustResult:
    """``--trust``: phase 1 ``--rounds`` times with neither and with both, interleaved.

    Every round starts alike: a fresh database (an empty log, as the first round had: the
    sequencer's cost grows with the tables, so rounds on one database are not alike) and fresh
    TSA and witness processes (a witness keeps the log's size, and a new log starts again at
    0), idle in the rounds with neither."""
    figures = TrustFigures()

    def configuration(tsa: bool, witness: bool) -> Callable[[], Awaitable[IngestResult]]:
        async def one_round() -> IngestResult:
            name = await create_database(admin_dsn)
            store: PostgresEventStore | None = None
            try:
                store = await PostgresEventStore.connect(
                    with_database(admin_dsn, name), min_size=settings.writers + 2,
                    max_size=settings.writers + 6)
                await store.migrate()
                log = TimedLog(PostgresLogStore(store))
                async with TrustServices(signers[0].verifier.vkey, figures=figures) as trust:
                    if not (tsa or witness):
                        return await ingest_phase(settings, store, log, signers)
                    return await ingest_phase(settings, store, log, signers, trust, tsa=tsa,
                                              witness=witness)
            finally:
                if store is not None:
                    await store.close()
                await drop_database(admin_dsn, name)
        return one_round

    configurations = {"neither": configuration(False, False),
                      "both": configuration(True, True)}
    if settings.each:
        configurations["TSA only"] = configuration(True, False)
        configurations["witness only"] = configuration(False, True)
    runs = await interleaved(settings.rounds, configurations)
    return TrustResult(runs.pop("neither"), runs.pop("both"), figures, runs)


def report_trust(result: TrustResult, settings: Settings) -> None:
    """Print ``--trust``'s rounds, the two figures' ratios against the 10% target and the
    round trips per checkpoint."""
    print(f"sequencer lag and write throughput, {settings.writers} writers "
          f"({settings.load} load), {settings.seconds:g} s per run, {settings.rounds} rounds "
          f"(ABBA), {os.cpu_count()} CPUs")
    for name, runs in (("neither", result.neither), ("TSA + witness", result.both),
                       *result.each.items()):
        for n, ing in enumerate(runs, 1):
            extra = "".join(f"; {what} {n}" for what, n in (
                ("timestamped", ing.timestamped), ("cosigned", ing.cosigned)) if n is not None)
            print(f"  {name:<14} round {n}: {ing.events / ing.seconds:7,.0f} events/s, lag p50 "
                  f"{_ms(percentile(ing.lags, 50))}, p99 {_ms(percentile(ing.lags, 99))}"
                  f"{extra}")
    print(verdict_line("events written / s", [i.events / i.seconds for i in result.neither],
                       [i.events / i.seconds for i in result.both],
                       higher_is_better=True, unit="/s"))
    print(verdict_line("sequencer lag p99", [percentile(i.lags, 99) * 1000
                                             for i in result.neither],
                       [percentile(i.lags, 99) * 1000 for i in result.both],
                       higher_is_better=False, unit="ms"))
    for name, runs in result.each.items():
        rate = statistics.median(i.events / i.seconds for i in runs)
        lag = statistics.median(percentile(i.lags, 99) for i in runs)
        print(f"{name} (info): {rate:,.0f} events/s = "
              f"{rate / statistics.median(i.events / i.seconds for i in result.neither):.1%} "
              f"of neither; lag p99 {_ms(lag)} = "
              f"{lag / statistics.median(percentile(i.lags, 99) for i in result.neither):.1%}")
    for line in result.figures.lines():
        print(line)


# --------------------------------------------------------------------------- phase 2: bulk


@dataclass
class BulkResult:
    """Phase 2's loading figures."""

    events: int = 0
    load_seconds: float = 0.0
    leaves: int = 0
    sequence_seconds: float = 0.0
    batch_size: int = 0
    batch_seconds: list[float] = field(default_factory=list)
    size: int = 0


def _build_rows(count: int, template: Entry) -> list[tuple[Any, ...]]:
    """``count`` valid single-event streams shaped like ``template`` (encode_entry each)."""
    rows: list[tuple[Any, ...]] = []
    recorded_at = dt.datetime.now(dt.UTC)
    for _ in range(count):
        event_id, stream_id = uuid.uuid4(), uuid.uuid4()
        raw, event_hash = encode_entry(
            event_id=event_id, stream_type=template.stream_type, stream_id=stream_id, version=1,
            event_type=template.event_type, recorded_at=recorded_at, actor=template.actor,
            context=template.context, payload=template.payload, prev=None)
        rows.append((event_id, template.stream_type, stream_id, 1, template.event_type,
                     recorded_at, raw, event_hash))
    return rows


async def _copy_rows(store: PostgresEventStore, rows: list[tuple[Any, ...]]) -> None:
    """COPY events and queue them for the log, in one transaction (no other writer runs)."""
    async with store.pool.acquire() as conn, conn.transaction():
        before = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
        await conn.copy_records_to_table("events", records=rows, columns=list(EVENT_COLUMNS))
        queued = await conn.execute(
            "INSERT INTO log_queue (position) SELECT position FROM events WHERE position > $1",
            before)
        if queued != f"INSERT 0 {len(rows)}":
            raise BenchError(f"queued {queued!r} for {len(rows)} copied events")


async def bulk_phase(settings: Settings, store: PostgresEventStore, log: TimedLog,
                     signers: list[Signer]) -> BulkResult:
    """Phase 2a: bring the log to ``settings.leaves`` leaves."""
    result = BulkResult(batch_size=settings.bulk_batch)
    have = await store.count_events()
    need = settings.leaves - have
    if need > 0:
        raw = await store.pool.fetchval(
            "SELECT entry FROM events WHERE event_type = 'ItemCommented' "
            "ORDER BY position DESC LIMIT 1")
        if raw is None:
            raise BenchError("no ItemCommented entry to model the bulk entries on")
        template = decode_entry(bytes(raw))
        chunk = 50_000
        sizes = [min(chunk, need - k) for k in range(0, need, chunk)]
        print(f"  bulk-loading {need:,} events in {len(sizes)} COPY chunks...", flush=True)
        start = time.perf_counter()
        pending = asyncio.ensure_future(asyncio.to_thread(_build_rows, sizes[0], template))
        for i in range(len(sizes)):
            rows = await pending
            if i + 1 < len(sizes):  # build the next chunk while this one is copied
                pending = asyncio.ensure_future(
                    asyncio.to_thread(_build_rows, sizes[i + 1], template))
            await _copy_rows(store, rows)
        await store.pool.execute("ANALYZE events")
        await store.pool.execute("ANALYZE log_queue")
        result.events = need
        result.load_seconds = time.perf_counter() - start
        print(f"  loaded {need:,} events in {result.load_seconds:.1f} s", flush=True)
    sequencer = Sequencer(log, signers, ORIGIN,
                          batch_size=settings.bulk_batch)
    log.track_hashes = False
    first = len(log.batches)
    print(f"  sequencing with batch size {settings.bulk_batch:,}...", flush=True)
    async with profiled(settings.profile, "sequence"):
        start = time.perf_counter()
        while added := await sequencer.step():
            result.leaves += added
        result.sequence_seconds = time.perf_counter() - start
    await log.resign()
    result.batch_seconds = [b.seconds for b in log.batches[first:] if b.leaves]
    queued = await store.pool.fetchval("SELECT count(*) FROM log_queue")
    latest = await log.latest_checkpoint()
    result.size = latest.size if latest else 0
    total = await store.count_events()
    if queued or result.size != total:
        raise BenchError(f"after sequencing: {queued} queued, log size {result.size}, "
                         f"{total} events")
    # A log this size would long since have been vacuumed and analysed by autovacuum.
    for table in ("events", "log_queue", "log_entries", "log_hashes", "log_tiles",
                  "checkpoints"):
        await store.pool.execute(f"VACUUM (ANALYZE) {table}")
    print(f"  sequenced {result.leaves:,} leaves in {result.sequence_seconds:.1f} s; "
          f"log size {result.size:,}", flush=True)
    return result


# --------------------------------------------------------------------------- phase 2: proofs


@dataclass
class ProofResult:
    """Phase 2b's latencies, in seconds."""

    size: int
    inclusion: list[float] = field(default_factory=list)
    consistency: list[float] = field(default_factory=list)
    http_inclusion: list[float] = field(default_factory=list)
    http_consistency: list[float] = field(default_factory=list)
    http_error: str | None = None


def _size_pairs(size: int, count: int, rng: random.Random) -> list[tuple[int, int]]:
    pairs = []
    for _ in range(count):
        a, b = rng.randint(1, size), rng.randint(1, size)
        pairs.append((min(a, b), max(a, b)))
    return pairs


async def proof_phase(settings: Settings, store: PostgresEventStore,
                      log: TimedLog) -> ProofResult:
    """Phase 2b: inclusion and consistency proof latency, in-process and over HTTP."""
    reader = LogReader(log.inner)
    latest = await reader.latest()
    size = latest.size
    rng = random.Random(1962)
    count = min(settings.requests, size)
    warm = min(100, count)
    indexes = rng.sample(range(size), count + warm)
    rows = await store.pool.fetch(
        "SELECT idx, event_hash FROM log_entries WHERE idx = ANY($1::bigint[])", indexes)
    by_index = {int(r[0]): bytes(r[1]) for r in rows}
    targets = [(i, by_index[i]) for i in indexes]
    pairs = _size_pairs(size, count + warm, rng)
    result = ProofResult(size)

    async def inclusion(i: int, event_hash: bytes) -> float:
        t0 = time.perf_counter()
        proof = await reader.inclusion(event_hash)
        elapsed = time.perf_counter() - t0
        if proof.index != i:
            raise BenchError(f"inclusion proof of index {i} names index {proof.index}")
        verify_inclusion(proof.index, proof.size, hash_leaf(event_hash), proof.proof,
                         proof.root)
        return elapsed

    async def consistency(a: int, b: int) -> float:
        t0 = time.perf_counter()
        proof = await reader.consistency(a, b)
        elapsed = time.perf_counter() - t0
        verify_consistency(a, b, proof.proof, proof.root1, proof.root2)
        if b == size and proof.root2 != latest.root:
            raise BenchError("consistency proof's root differs from the signed checkpoint")
        return elapsed

    for i, event_hash in targets[:warm]:
        await inclusion(i, event_hash)
    for a, b in pairs[:warm]:
        await consistency(a, b)
    async with profiled(settings.profile, "proofs"):
        result.inclusion = [await inclusion(i, h) for i, h in targets[warm:]]
        result.consistency = [await consistency(a, b) for a, b in pairs[warm:]]
    if settings.http:
        try:
            await _http_proofs(settings, targets, pairs, warm, result)
        except Exception as e:  # optional figures: report why, keep the run going
            result.http_error = f"{type(e).__name__}: {e}"
    return result


async def _http_proofs(settings: Settings, targets: list[tuple[int, bytes]],
                       pairs: list[tuple[int, int]], warm: int, result: ProofResult) -> None:
    """The same requests through api.app.build_app on 127.0.0.1 (server and client here).

    The server side is a Runtime built by ``ledger.bootstrap`` on the benchmark database (its own
    pool; keys in a temporary folder), with no worker started.
    """
    import tempfile
    from pathlib import Path

    from api.app import build_app
    from ledger.bootstrap import bootstrap
    from ledger.settings import Settings as LedgerSettings

    with tempfile.TemporaryDirectory(prefix="bench_log_") as folder:
        runtime = await bootstrap(LedgerSettings(
            database_url=settings.dsn, data_dir=Path(folder), key_dir=Path(folder) / "keys",
            log_origin=ORIGIN))
        try:
            await _serve_and_request(build_app(runtime), targets, pairs,
                                     warm, result)
        finally:
            await runtime.close()


async def _serve_and_request(app: Any, targets: list[tuple[int, bytes]],
                             pairs: list[tuple[int, int]], warm: int, result: ProofResult) -> None:
    """Serve ``app`` on a free loopback port and time the proof requests one at a time."""
    import aiohttp

    async with serve_loopback(app) as base, aiohttp.ClientSession() as session:

        async def get(path: str, params: dict[str, str]) -> float:
            t0 = time.perf_counter()
            async with session.get(base + path, params=params) as response:
                body = await response.json()
            elapsed = time.perf_counter() - t0
            if response.status != 200:
                raise BenchError(f"GET {path} {params}: {response.status} {body}")
            return elapsed

        incl = [("/v1/log/proof/inclusion", {"hash": h.hex()}) for _, h in targets]
        cons = [("/v1/log/proof/consistency", {"from": str(a), "to": str(b)})
                for a, b in pairs]
        for path, params in incl[:warm] + cons[:warm]:
            await get(path, params)
        result.http_inclusion = [await get(p, q) for p, q in incl[warm:]]
        result.http_consistency = [await get(p, q) for p, q in cons[warm:]]


# --------------------------------------------------------------------------- phase 3: verify


@dataclass
class VerifyResult:
    """Phase 3's figures."""

    events: int = 0
    runs: list[float] = field(default_factory=list)  # verify_ledger, integrity depth, seconds
    strict_seconds: float = 0.0  # verify_ledger(strict=True) (ledger verify --strict)
    tree_in_child: bool = False
    hash_rates: list[float] = field(default_factory=list)  # read + hash, events/s
    memory_rate: float = 0.0
    memory_sample: int = 0
    read_only_rate: float = 0.0  # store.read_for_audit alone, no checks
    all_columns_rate: float = 0.0  # read + hash, every column the audit reads

    @property
    def seconds(self) -> float:
        return min(self.runs)

    @property
    def verify_rate(self) -> float:
        return self.events / self.seconds

    @property
    def hash_rate(self) -> float:
        return max(self.hash_rates)


async def _hash_pass(store: PostgresEventStore, sample: list[bytes] | None,
                     columns: str = "position, entry") -> tuple[int, float]:
    """Read every entry in position batches and SHA-256 it; return (events, seconds).

    ``columns`` starts with position and includes entry (selected by name below).
    """
    sha256 = hashlib.sha256
    after, count = 0, 0
    start = time.perf_counter()
    while rows := await store.pool.fetch(
            f"SELECT {columns} FROM events WHERE position > $1 ORDER BY position LIMIT $2",
            after, READ_BATCH):
        for row in rows:
            sha256(row["entry"]).digest()
        count += len(rows)
        after = rows[-1][0]
        if sample is not None and len(sample) < 200_000:
            sample.extend(row["entry"] for row in rows)
    return count, time.perf_counter() - start


async def _verify_once(settings: Settings, store: PostgresEventStore, log: TimedLog,
                       verifier: Verifier, *, strict: bool) -> tuple[float, LedgerReport]:
    """One ``verify_ledger`` run: (seconds, report); a problem found is an error."""
    start = time.perf_counter()
    report = await verify_ledger(store, log.inner, [verifier], ORIGIN, strict=strict,
                                 database_url=settings.dsn)
    seconds = time.perf_counter() - start
    if report.problems:
        raise BenchError(f"ledger verify found {len(report.problems)} problem(s), e.g. "
                         f"{report.problems[0]}")
    if report.log.size != report.chains.events:
        raise BenchError(f"log of {report.log.size} entries for {report.chains.events} events")
    return seconds, report


async def verify_phase(settings: Settings, store: PostgresEventStore, log: TimedLog,
                       verifier: Verifier) -> VerifyResult:
    """Phase 3: ``ledger verify`` (both depths) against read + hashlib."""
    result = VerifyResult()
    sample: list[bytes] = []
    count, seconds = await _hash_pass(store, sample)
    result.hash_rates.append(count / seconds)
    start = time.perf_counter()
    read, after = 0, 0
    while rows := await store.read_for_audit(after, 10_000):
        read += len(rows)
        after = rows[-1][0]
    result.read_only_rate = read / (time.perf_counter() - start)
    # Best of two for verify as for hashlib, interleaved: this machine's speed drifts.
    for run in range(2):
        async with profiled(settings.profile if run == 0 else None, "verify"):
            seconds, report = await _verify_once(settings, store, log, verifier, strict=False)
        result.runs.append(seconds)
        result.events = report.chains.events
        result.tree_in_child = report.tree_in_child
        count, seconds = await _hash_pass(store, None)
        result.hash_rates.append(count / seconds)
    async with profiled(settings.profile, "verify-strict"):
        result.strict_seconds, _ = await _verify_once(settings, store, log, verifier,
                                                      strict=True)
    count, seconds = await _hash_pass(store, None, ALL_COLUMNS)
    result.all_columns_rate = count / seconds
    sha256 = hashlib.sha256
    start = time.perf_counter()
    for entry in sample:
        sha256(entry).digest()
    result.memory_sample = len(sample)
    result.memory_rate = len(sample) / (time.perf_counter() - start)
    return result


# --------------------------------------------------------------------------- report


@dataclass
class Results:
    """Everything measured."""

    ingest: IngestResult | None = None
    trust: TrustResult | None = None
    bulk: BulkResult | None = None
    proofs: ProofResult | None = None
    verify: VerifyResult | None = None


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def report(results: Results, settings: Settings) -> None:
    """Print one table of every figure, with the targets."""
    if results.trust is not None:
        report_trust(results.trust, settings)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 120))
    leaves = results.proofs.size if results.proofs is not None else settings.leaves
    table = Table(title=f"Transparency log on PostgreSQL ({os.cpu_count()} CPUs, "
                        f"{leaves:,} leaves)")
    for column in ("figure", "value", "target", "verdict"):
        table.add_column(column, justify="left" if column == "figure" else "right",
                         no_wrap=column != "figure")

    def row(figure: str, value: str, target: str = "", verdict: str = "") -> None:
        table.add_row(figure, value, target, verdict)

    ing = results.ingest
    if ing is not None:
        load = ("Ledger.execute(CommentItem)" if ing.load == "ledger"
                else "store.append (single-event streams)")
        row(f"ingest load: {ing.writers} writers, {load}",
            f"{ing.events:,} events in {ing.seconds:.1f} s")
        row("  events written / s", f"{ing.events / ing.seconds:,.0f}")
        row("  leaves sequenced / s (same window)", f"{ing.leaves / ing.seconds:,.0f}")
        row("  command latency p50 / p99",
            f"{_ms(percentile(ing.command_latencies, 50))} / "
            f"{_ms(percentile(ing.command_latencies, 99))}")
        p99 = percentile(ing.lags, 99)
        if ing.cosigned is not None:
            row("  checkpoints a witness cosigned meanwhile (--witness)", f"{ing.cosigned:,}")
        if ing.timestamped is not None:
            row("  checkpoints a TSA timestamped meanwhile (--tsa)", f"{ing.timestamped:,}")
        row("  sequencer lag p50", _ms(percentile(ing.lags, 50)))
        row("  sequencer lag p99", _ms(p99), f"< {LAG_TARGET_MS:g} ms",
            _verdict(p99 * 1000 < LAG_TARGET_MS))
        row("  sequencer lag max", _ms(max(ing.lags, default=float("nan"))))
        sizes = [b.leaves for b in ing.batches]
        row("  sequencer batches (window)",
            f"{len(sizes)}, mean {sum(sizes) / max(len(sizes), 1):.1f} leaves")
        seconds = [b.seconds for b in ing.batches]
        row("  batch transaction p50 / p99",
            f"{_ms(percentile(seconds, 50))} / {_ms(percentile(seconds, 99))}")
        row("  max backlog / drain after load",
            f"{ing.max_backlog} events / {_ms(ing.drain_seconds)}")
        if ing.stream_length is not None:
            row("  item streams reached", f"{ing.stream_length} entries")
    bulk = results.bulk
    if bulk is not None:
        if bulk.events:
            row("bulk COPY of valid entries (encode_entry)",
                f"{bulk.events:,} in {bulk.load_seconds:.1f} s "
                f"({bulk.events / bulk.load_seconds:,.0f}/s)")
        if bulk.leaves:
            row(f"bulk sequencing, batch {bulk.batch_size:,}",
                f"{bulk.leaves / bulk.sequence_seconds:,.0f} leaves/s "
                f"({bulk.leaves:,} in {bulk.sequence_seconds:.1f} s)")
            row("  batch transaction p50 / max",
                f"{percentile(bulk.batch_seconds, 50):.2f} s / "
                f"{max(bulk.batch_seconds):.2f} s")
    pr = results.proofs
    if pr is not None:
        target = f"p99 < {PROOF_TARGET_MS:g} ms"
        for name, values in (("inclusion proof", pr.inclusion),
                             ("consistency proof", pr.consistency)):
            p99 = percentile(values, 99)
            row(f"{name} at {pr.size:,} leaves, p50 / p99 ({len(values)} requests)",
                f"{_ms(percentile(values, 50))} / {_ms(p99)}", target,
                _verdict(p99 * 1000 < PROOF_TARGET_MS))
        for name, values in (("  over HTTP: inclusion", pr.http_inclusion),
                             ("  over HTTP: consistency", pr.http_consistency)):
            if values:
                row(f"{name} p50 / p99",
                    f"{_ms(percentile(values, 50))} / {_ms(percentile(values, 99))}",
                    "(info)")
        if pr.http_error:
            row("  over HTTP", f"skipped: {pr.http_error}")
    ver = results.verify
    if ver is not None:
        where = "tree in a child process" if ver.tree_in_child else "all in one process"
        row(f"ledger verify (chains + log), {ver.events:,} events",
            f"{ver.verify_rate:,.0f} events/s (runs: "
            f"{', '.join(f'{ver.events / r:,.0f}' for r in ver.runs)}; {where})")
        row("  ledger verify --strict (info)",
            f"{ver.events / ver.strict_seconds:,.0f} events/s ({ver.strict_seconds:.1f} s)")
        row("hashlib SHA-256, read + hash, same batches",
            f"{ver.hash_rate:,.0f} events/s "
            f"(runs: {', '.join(f'{r:,.0f}' for r in ver.hash_rates)})")
        ratio = ver.verify_rate / ver.hash_rate
        row("  verify / hashlib", f"{ratio:.1%}", f"≥ {VERIFY_TARGET:.0%}",
            _verdict(ratio >= VERIFY_TARGET))
        row("  hashlib in memory (info)",
            f"{ver.memory_rate:,.0f} events/s ({ver.memory_sample:,} entries)")
        row("  read + hash of all event columns (info)",
            f"{ver.all_columns_rate:,.0f} events/s (verify = "
            f"{ver.verify_rate / ver.all_columns_rate:.1%})")
        row("  store.read_for_audit, read only (info)", f"{ver.read_only_rate:,.0f} events/s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    row("peak RSS of this process / of a worker (info)", f"{peak:,.0f} / {child:,.0f} MiB")
    console.print(table)
    if settings.profile:
        console.print("(profiled run: cProfile overhead inflates the profiled phases)",
                      highlight=False)


# --------------------------------------------------------------------------- main


@dataclass
class Settings:
    """Parsed command line."""

    dsn: str
    leaves: int
    seconds: float
    warmup: float
    writers: int
    load: str
    bulk_batch: int
    requests: int
    http: bool
    profile: str | None
    keep: bool = False
    reuse: str | None = None
    witness: bool = False
    tsa: bool = False
    trust: bool = False  # ingest only, rounds with neither and with both (TSA + witness)
    rounds: int = 3
    each: bool = False  # --trust: also rounds with the TSA only and the witness only


async def run(settings: Settings) -> Results:
    """Create the database, run the three phases, drop the database unless ``--keep``.

    With ``--reuse NAME`` only the verify phase runs, against a database an earlier
    ``--keep`` run left (its signing key is read from that database's bench_key table).
    """
    check_loopback(settings.dsn)
    if settings.trust:
        print("ingest + sequencer lag, with neither and with TSA + witness, each round on a "
              "fresh database...", flush=True)
        skey, _ = generate_key(ORIGIN)
        results = Results()
        results.trust = await trust_phase(settings, settings.dsn, [parse_signer_key(skey)])
        return results
    name = settings.reuse or await create_database(settings.dsn)
    dsn = with_database(settings.dsn, name)
    admin_dsn = settings.dsn
    settings.dsn = dsn
    results = Results()
    store: PostgresEventStore | None = None
    try:
        store = await PostgresEventStore.connect(dsn, min_size=settings.writers + 2,
                                                 max_size=settings.writers + 6)
        log = TimedLog(PostgresLogStore(store))
        if settings.reuse:
            vkey = await store.pool.fetchval("SELECT vkey FROM bench_key")
            print(f"database {name} (reused): verify phase only", flush=True)
        else:
            print(f"database {name}: {settings.writers} writers ({settings.load} load) for "
                  f"{settings.seconds:g} s, then {settings.leaves:,} leaves", flush=True)
            await store.migrate()
            skey, vkey = generate_key(ORIGIN)
            signers = [parse_signer_key(skey)]
            await store.pool.execute("CREATE TABLE bench_key (vkey TEXT NOT NULL)")
            await store.pool.execute("INSERT INTO bench_key VALUES ($1)", vkey)
            print("phase 1: ingest + sequencer lag...", flush=True)
            if settings.tsa or settings.witness:
                async with TrustServices(signers[0].verifier.vkey, tsa=settings.tsa,
                                         witness=settings.witness) as trust:
                    results.ingest = await ingest_phase(settings, store, log, signers, trust)
                for line in trust.figures.lines():
                    print(f"  {line}", flush=True)
            else:
                results.ingest = await ingest_phase(settings, store, log, signers)
            ing = results.ingest
            print(f"  {ing.events:,} events in {ing.seconds:.1f} s; lag p99 "
                  f"{_ms(percentile(ing.lags, 99))}", flush=True)
            print("phase 2: bulk load, sequencing, proofs...", flush=True)
            results.bulk = await bulk_phase(settings, store, log, signers)
            results.proofs = await proof_phase(settings, store, log)
            print(f"  inclusion p99 {_ms(percentile(results.proofs.inclusion, 99))}, "
                  f"consistency p99 {_ms(percentile(results.proofs.consistency, 99))}",
                  flush=True)
        print("phase 3: verify vs hashlib...", flush=True)
        results.verify = await verify_phase(settings, store, log, parse_verifier_key(vkey))
    finally:
        if store is not None:
            await store.close()
        if settings.keep or settings.reuse:
            print(f"database {name} kept (drop it with: DROP DATABASE {name})", flush=True)
        else:
            await drop_database(admin_dsn, name)
    return results


def parse_args(argv: list[str] | None = None) -> Settings:
    """Read the command line."""
    parser = bench_parser(__doc__)
    parser.add_argument("--leaves", type=int, default=None,
                        help="log size for the proof and verify phases (1,000,000)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 20,000 leaves, 3 s ingest, 300 proof requests")
    parser.add_argument("--seconds", type=float, default=None,
                        help="measured seconds of the ingest phase (20; 3 with --quick)")
    parser.add_argument("--warmup", type=float, default=None,
                        help="ingest warm-up seconds (2; 0.5 with --quick)")
    parser.add_argument("--writers", type=int, default=16, help="concurrent writers (16)")
    parser.add_argument("--load", choices=("ledger", "append"), default="ledger",
                        help="ingest load: Ledger.execute(CommentItem) as bench_store "
                             "(default) or direct store.append of single-event streams")
    parser.add_argument("--bulk-batch", type=int, default=20_000,
                        help="sequencer batch size for the bulk-loaded leaves (20,000)")
    parser.add_argument("--requests", type=int, default=None,
                        help="timed requests per proof kind (2,000; 300 with --quick)")
    parser.add_argument("--no-http", dest="http", action="store_false",
                        help="skip the proofs over HTTP")
    parser.add_argument("--profile", metavar="PREFIX",
                        help="cProfile each phase into PREFIX-<phase>.prof")
    parser.add_argument("--keep", action="store_true",
                        help="keep the database afterwards (its name is printed)")
    parser.add_argument("--witness", action="store_true",
                        help="ingest with a `ledger witness` process cosigning each new "
                             "checkpoint (the log's witnesses worker running beside it)")
    parser.add_argument("--tsa", action="store_true",
                        help="ingest with a local RFC 3161 TSA process timestamping the newest "
                             "checkpoint every second (the log's timestamper running beside it)")
    parser.add_argument("--trust", action="store_true",
                        help="ingest phase only, --rounds times with neither and with both "
                             "(TSA + witness), interleaved; their ratios against the 10%% target")
    add_round_arguments(parser)
    parser.add_argument("--reuse", metavar="NAME",
                        help="run only the verify phase against a database kept by --keep")
    args = parser.parse_args(argv)
    if args.reuse is not None and not re.fullmatch(r"bench_[0-9a-f]+", args.reuse):
        parser.error("--reuse takes a bench_<hex> database name printed by --keep")
    leaves = args.leaves if args.leaves is not None else (
        20_000 if args.quick else 1_000_000)
    seconds = args.seconds if args.seconds is not None else (3.0 if args.quick else 20.0)
    warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 2.0)
    requests = args.requests if args.requests is not None else (300 if args.quick else 2000)
    if leaves < 1000:
        parser.error("--leaves must be at least 1000")
    if seconds <= 0 or warmup < 0:
        parser.error("--seconds must be positive and --warmup not negative")
    if args.writers < 1 or args.bulk_batch < 1 or requests < 1:
        parser.error("--writers, --bulk-batch and --requests must be positive")
    rounds = args.rounds if args.rounds is not None else (2 if args.quick else 5)
    if rounds < 1:
        parser.error("--rounds must be positive")
    if args.each and not args.trust:
        parser.error("--each goes with --trust")
    if args.trust and (args.tsa or args.witness or args.reuse or args.keep or args.profile):
        parser.error("--trust runs its own rounds: not with --tsa, --witness, --reuse, --keep "
                     "or --profile")
    return Settings(args.dsn, leaves, seconds, warmup, args.writers, args.load,
                    args.bulk_batch, requests, args.http, args.profile, args.keep,
                    args.reuse, args.witness, args.tsa, args.trust, rounds, args.each)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 whatever the figures, 1 on errors."""
    settings = parse_args(argv)
    return run_main("bench_log", lambda: asyncio.run(run(settings)),
                    lambda results: report(results, settings),
                    errors=(*BENCH_ERRORS, LedgerError), show_type=True)


if __name__ == "__main__":
    sys.exit(main())
