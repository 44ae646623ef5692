"""Benchmark: ``ledger verify``'s peak memory and speed as the ledger grows, streams held fixed.

Fills a throw-away ledger (PostgreSQL: a fresh ``bench_<random>`` database on a loopback
server, dropped at the end; SQLite: a file in a temporary folder, removed at the end) to each
size in ``--sizes`` in turn, always over the same ``--streams`` item streams (events go round
robin, each chained onto its stream's last one, as a long-lived ledger's cases grow), and
sequences every event into the log with the real ``Sequencer`` (``--batch`` events per signed
checkpoint). At each size it then runs, side by side:

* **read + SHA-256**: every entry read in position order (5,000 rows per read) and hashed with
  ``hashlib`` in this process: the floor any verification must pay, measured before and after
  each verify run (each run is compared with the faster of its two);
* **``ledger verify --skip-files``**, the real command in a child process (``python -m
  ledger.cli``), timed from start to exit (Python's start and imports included), its peak
  resident memory (VmHWM) sampled every 20 ms from ``/proc`` for it and for the child process
  that audits the log's tree meanwhile; their sum is the peak the targets are held to.

``--rounds`` (3) verify runs per size, each between two floor passes; the median round's
ratio is reported, with every round's figures printed.

Targets (issue 13): peak RSS under 250 MiB at 1,000,000 events, under 20% growth from the
first size to the last, and verify at least 25% of the read + SHA-256 rate.

Filling is the slow part: events are encoded here (``ledger.entry.encode_entry``) and written
with COPY (PostgreSQL) or one ``executemany`` per 50,000 rows (SQLite), bypassing the service.

    python scripts/bench_verify_memory.py --store postgres --sizes 1000000
    python scripts/bench_verify_memory.py --store sqlite --sizes 1000000,3000000
    python scripts/bench_verify_memory.py --quick     # 20,000 and 60,000 events, SQLite

Exits 0 whatever the figures are; non-zero when something goes wrong (a verify that fails).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from benchdb import (
    BenchError,
    check_loopback,
    create_database,
    drop_database,
    run_main,
    with_database,
)

from ledger.entry import encode_entry, format_time
from ledger.store.factory import log_store_for, open_store
from ledger.transparency.keys import ensure_signers
from ledger.transparency.sequencer import Sequencer

ORIGIN = "bench.handover-ledger.localhost/log"
EVENT_COLUMNS = ("event_id", "stream_type", "stream_id", "version", "event_type",
                 "recorded_at", "entry", "event_hash")
CHUNK = 50_000
READ_BATCH = 5000
RSS_TARGET_MIB = 250.0
GROWTH_TARGET = 0.20
RATIO_TARGET = 0.25
ACTOR = {"id": "hr.bench", "role": "hr"}
CONTEXT = {"auth": "bench", "ip": "127.0.0.1", "request_id": None, "user_agent": "bench"}


@dataclass
class Figures:
    """What one size measured."""

    events: int
    streams: int
    verify_seconds: float
    hash_rate: float
    rss_verify_mib: float
    rss_worker_mib: float
    rusage_max_mib: float
    output: str
    code: str = "installed"

    @property
    def verify_rate(self) -> float:
        return self.events / self.verify_seconds

    @property
    def ratio(self) -> float:
        return self.verify_rate / self.hash_rate

    @property
    def peak_mib(self) -> float:
        """The command's peak, its log worker's included (both run at once)."""
        return self.rss_verify_mib + self.rss_worker_mib


class Filler:
    """Builds chained item-comment events round robin over a fixed set of streams."""

    def __init__(self, streams: int) -> None:
        self.streams = [uuid.uuid4() for _ in range(streams)]
        self.last: list[bytes | None] = [None] * streams
        self.count = 0
        self.recorded_at = dt.datetime.now(dt.UTC)

    def rows(self, count: int) -> list[tuple[Any, ...]]:
        rows = []
        for _ in range(count):
            k = self.count % len(self.streams)
            version = self.count // len(self.streams) + 1
            event_id, stream_id = uuid.uuid4(), self.streams[k]
            raw, event_hash = encode_entry(
                event_id=event_id, stream_type="item", stream_id=stream_id, version=version,
                event_type="ItemCommented", recorded_at=self.recorded_at, actor=ACTOR,
                context=CONTEXT, payload={"by": "hr.bench", "text": f"comment {self.count}"},
                prev=self.last[k])
            self.last[k] = event_hash
            rows.append((event_id, "item", stream_id, version, "ItemCommented",
                         self.recorded_at, raw, event_hash))
            self.count += 1
        return rows


class Target:
    """One throw-away ledger: how to fill it, read it and name it to ``ledger verify``."""

    url: str

    async def insert(self, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    async def hash_pass(self) -> tuple[int, float]:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class PostgresTarget(Target):
    def __init__(self, dsn: str, name: str) -> None:
        self.dsn, self.name = dsn, name
        self.url = with_database(dsn, name)
        self.conn: asyncpg.Connection | None = None

    async def _connection(self) -> asyncpg.Connection:
        if self.conn is None:
            self.conn = await asyncpg.connect(self.url)
        return self.conn

    async def insert(self, rows: list[tuple[Any, ...]]) -> None:
        conn = await self._connection()
        async with conn.transaction():
            before = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
            await conn.copy_records_to_table("events", records=rows, columns=EVENT_COLUMNS)
            await conn.execute("INSERT INTO log_queue (position) SELECT position FROM events "
                               "WHERE position > $1", before)

    async def hash_pass(self) -> tuple[int, float]:
        conn = await self._connection()
        sha256 = hashlib.sha256
        after, count = 0, 0
        start = time.perf_counter()
        while rows := await conn.fetch("SELECT position, entry FROM events WHERE position > $1 "
                                       "ORDER BY position LIMIT $2", after, READ_BATCH):
            for row in rows:
                sha256(row[1]).digest()
            count += len(rows)
            after = rows[-1][0]
        return count, time.perf_counter() - start

    async def vacuum(self) -> None:
        conn = await self._connection()
        for table in ("events", "log_queue", "log_entries", "log_hashes", "log_tiles",
                      "checkpoints"):
            await conn.execute(f"VACUUM (ANALYZE) {table}")

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()
        await drop_database(self.dsn, self.name)


class SQLiteTarget(Target):
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "ledger.db"
        self.url = f"sqlite:///{self.path}"

    async def insert(self, rows: list[tuple[Any, ...]]) -> None:
        await asyncio.to_thread(self._insert, rows)

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        db = sqlite3.connect(self.path)
        try:
            with db:
                before = db.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0]
                db.executemany(
                    "INSERT INTO events (event_id, stream_type, stream_id, version, event_type, "
                    "recorded_at, entry, event_hash) VALUES (?,?,?,?,?,?,?,?)",
                    [(str(e), t, str(s), v, et, format_time(at), raw, h)
                     for e, t, s, v, et, at, raw, h in rows])
                db.execute("INSERT INTO log_queue (position) SELECT position FROM events "
                           "WHERE position > ?", (before,))
        finally:
            db.close()

    async def hash_pass(self) -> tuple[int, float]:
        return await asyncio.to_thread(self._hash_pass)

    def _hash_pass(self) -> tuple[int, float]:
        db = sqlite3.connect(self.path)
        sha256 = hashlib.sha256
        after, count = 0, 0
        start = time.perf_counter()
        try:
            while rows := db.execute("SELECT position, entry FROM events WHERE position > ? "
                                     "ORDER BY position LIMIT ?", (after, READ_BATCH)).fetchall():
                for row in rows:
                    sha256(row[1]).digest()
                count += len(rows)
                after = rows[-1][0]
        finally:
            db.close()
        return count, time.perf_counter() - start

    async def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _vm_hwm_kib(pid: int) -> int:
    """The process's peak resident set (VmHWM) in KiB, 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except (OSError, ValueError):
        pass
    return found


def run_verify(url: str, key_dir: Path, data_dir: Path,
               code: Path | None) -> tuple[float, float, float, float, str]:
    """Run ``ledger verify --skip-files`` (the ``ledger`` package in ``code`` when given):
    (seconds, peak MiB of the command, of its log worker, wait4's ru_maxrss in MiB, its
    output)."""
    env = {**os.environ, "LEDGER_DATABASE_URL": url, "LEDGER_KEY_DIR": str(key_dir),
           "LEDGER_DATA_DIR": str(data_dir), "LEDGER_LOG_ORIGIN": ORIGIN}
    cwd = None
    if code is not None and str(code) != "-":
        # ``-m`` puts the working folder first on the path: run in ``code`` too, or a run
        # started from another checkout would measure that checkout's package instead.
        env["PYTHONPATH"], cwd = str(code), str(code)
    peaks: dict[int, int] = {}
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "ledger.cli", "verify", "--skip-files"],
                             env=env, cwd=cwd, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in [child.pid, *_children(child.pid)]:
                peaks[pid] = max(peaks.get(pid, 0), _vm_hwm_kib(pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    if child.stdout is None:
        raise BenchError("no pipe from ledger verify")
    output = child.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    sampler.join()
    if child.returncode != 0:
        raise BenchError(f"ledger verify exited {child.returncode}: {output[-2000:]}")
    own = peaks.pop(child.pid, 0) / 1024
    worker = max(peaks.values(), default=0) / 1024
    return seconds, own, worker, usage.ru_maxrss / 1024, output.strip()


async def fill_to(target: Target, filler: Filler, size: int,
                  sequence: Callable[[], Any]) -> None:
    need = size - filler.count
    start = time.perf_counter()
    print(f"  filling {need:,} events over {len(filler.streams):,} streams...", flush=True)
    while filler.count < size:
        rows = await asyncio.to_thread(filler.rows, min(CHUNK, size - filler.count))
        await target.insert(rows)
    loaded = time.perf_counter() - start
    added = await sequence()
    print(f"  loaded in {loaded:.0f} s; sequenced {added:,} in "
          f"{time.perf_counter() - start - loaded:.0f} s", flush=True)


async def measure(target: Target, size: int, streams: int, key_dir: Path,
                  data_dir: Path, code: Path | None, rounds: int = 3) -> Figures:
    """``rounds`` rounds of read + SHA-256 then verify, and one last read + SHA-256: each
    verify is compared with the faster of the floors measured just before and just after it
    (this machine's speed drifts by tens of percent over minutes), and the median round is
    reported; the peaks are the highest of any round."""
    if isinstance(target, PostgresTarget):
        await target.vacuum()
    count, seconds = await target.hash_pass()
    floors = [count / seconds]
    runs = []
    for _ in range(rounds):
        runs.append(await asyncio.to_thread(run_verify, target.url, key_dir, data_dir, code))
        count, seconds = await target.hash_pass()
        if count != size:
            raise BenchError(f"read {count} events, expected {size}")
        floors.append(count / seconds)
    ratios = [size / run[0] / max(floors[k], floors[k + 1]) for k, run in enumerate(runs)]
    middle = sorted(range(rounds), key=ratios.__getitem__)[rounds // 2]
    verify_seconds, _, _, _, output = runs[middle]
    if rounds > 1:
        print("  rounds (verify s, floor ev/s, ratio): " + "; ".join(
            f"{run[0]:.2f} s, {max(floors[k], floors[k + 1]):,.0f}/s, {ratios[k]:.1%}"
            for k, run in enumerate(runs)), flush=True)
    print(f"  {output}", flush=True)
    label = "installed" if code is None or str(code) == "-" else code.name
    return Figures(size, streams, verify_seconds, max(floors[middle], floors[middle + 1]),
                   max(r[1] for r in runs), max(r[2] for r in runs),
                   max(r[3] for r in runs), output, label)


async def reuse(args: argparse.Namespace) -> list[Figures]:
    """Measure the SQLite ledgers an earlier ``--keep`` run left (filling is the slow part)."""
    folder: Path = args.reuse
    figures = []
    for size in args.sizes:
        target = SQLiteTarget(folder)
        target.path = folder / f"ledger-{size}.db"
        target.url = f"sqlite:///{target.path}"
        print(f"sqlite (kept): {size:,} events", flush=True)
        for code in args.code or [None]:
            figures.append(await measure(target, size, args.streams, folder / "keys", folder,
                                         code, args.rounds))
            report("sqlite", figures)
    return figures


async def run(args: argparse.Namespace) -> list[Figures]:
    if args.reuse is not None:
        return await reuse(args)
    folder = Path(tempfile.mkdtemp(prefix="bench-verify-", dir=args.tmp))
    key_dir, data_dir = folder / "keys", folder / "data"
    data_dir.mkdir()
    target: Target
    if args.store == "postgres":
        check_loopback(args.dsn)
        target = PostgresTarget(args.dsn, await create_database(args.dsn))
    else:
        target = SQLiteTarget(folder)
    figures: list[Figures] = []
    try:
        store = await open_store(target.url)
        try:
            await store.migrate()
            log = log_store_for(store)
            signers = ensure_signers(key_dir, ORIGIN)
            sequencer = Sequencer(log, signers, ORIGIN, batch_size=args.batch)

            async def sequence() -> int:
                added = 0
                while step := await sequencer.step():
                    added += step
                await log.resign()
                return added

            filler = Filler(args.streams)
            for size in args.sizes:
                print(f"{args.store}: {size:,} events", flush=True)
                await fill_to(target, filler, size, sequence)
                for code in args.code or [None]:
                    figures.append(await measure(target, size, args.streams, key_dir,
                                                 data_dir, code, args.rounds))
                    report(args.store, figures)
                if args.keep is not None and isinstance(target, SQLiteTarget):
                    args.keep.mkdir(parents=True, exist_ok=True)
                    with sqlite3.connect(target.path) as db:  # the copy must hold the WAL
                        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    shutil.copytree(key_dir, args.keep / "keys", dirs_exist_ok=True)
                    shutil.copyfile(target.path, args.keep / f"ledger-{size}.db")
        finally:
            await store.close()
    finally:
        await target.close()
        shutil.rmtree(folder, ignore_errors=True)
    return figures


def report(store: str, figures: list[Figures]) -> None:
    print(f"\nledger verify on {store}, {figures[0].streams:,} streams (side by side):")
    print(f"  {'code':>20} {'events':>10} {'verify s':>9} {'verify ev/s':>12} "
          f"{'read+sha ev/s':>14} {'ratio':>6} {'RSS cmd':>8} {'RSS worker':>10} "
          f"{'sum MiB':>8}")
    for f in figures:
        print(f"  {f.code[-20:]:>20} {f.events:>10,} {f.verify_seconds:>9.1f} "
              f"{f.verify_rate:>12,.0f} {f.hash_rate:>14,.0f} {f.ratio:>6.1%} "
              f"{f.rss_verify_mib:>8.0f} {f.rss_worker_mib:>10.0f} {f.peak_mib:>8.0f}")
    figures = [f for f in figures if f.code == figures[-1].code]  # the targets: the last code
    first, last = figures[0], figures[-1]
    ok_rss = all(f.peak_mib < RSS_TARGET_MIB for f in figures if f.events <= 1_000_000)
    print(f"  peak (command + worker) < {RSS_TARGET_MIB:.0f} MiB up to 1M events: "
          f"{'met' if ok_rss else 'NOT met'}")
    if len(figures) > 1:
        growth = last.peak_mib / first.peak_mib - 1
        print(f"  growth {first.events:,} -> {last.events:,} events: {growth:+.1%} "
              f"(target < {GROWTH_TARGET:.0%}: {'met' if growth < GROWTH_TARGET else 'NOT met'})")
    worst = min(f.ratio for f in figures)
    print(f"  verify / read+SHA-256, worst: {worst:.1%} (target >= {RATIO_TARGET:.0%}: "
          f"{'met' if worst >= RATIO_TARGET else 'NOT met'})", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from benchdb import bench_parser

    parser = bench_parser(__doc__)
    parser.add_argument("--store", choices=("postgres", "sqlite"), default="sqlite")
    parser.add_argument("--sizes", default="1000000,3000000",
                        help="comma-separated ledger sizes, ascending (1000000,3000000)")
    parser.add_argument("--streams", type=int, default=30_000,
                        help="item streams the events go to (30,000: ~1,000 cases)")
    parser.add_argument("--batch", type=int, default=50_000,
                        help="events per sequencer step and signed checkpoint (50,000)")
    parser.add_argument("--tmp", default=None, help="folder for the SQLite file and keys")
    parser.add_argument("--code", type=Path, action="append", default=None,
                        help="run the ledger package found in this folder (an older checkout, "
                             "for a before/after comparison) instead of the installed one; "
                             "repeatable ('-' is the installed one), each measured in turn")
    parser.add_argument("--keep", type=Path, default=None,
                        help="SQLite: keep a copy of the ledger at each size in this folder")
    parser.add_argument("--reuse", type=Path, default=None,
                        help="SQLite: measure the ledgers a --keep run left in this folder")
    parser.add_argument("--rounds", type=int, default=3,
                        help="verify runs per size and code, each between two read + SHA-256 "
                             "passes; the median round is reported (3)")
    parser.add_argument("--quick", action="store_true", help="20,000 and 60,000 events")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.streams, args.batch = "20000,60000", 2000, 5000
    args.sizes = [int(s) for s in str(args.sizes).split(",")]
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.sizes != sorted(args.sizes) or args.sizes[0] < 1:
        parser.error("--sizes must be ascending positive numbers")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_main("bench_verify_memory", lambda: asyncio.run(run(args)),
                    lambda figures: None)


if __name__ == "__main__":
    sys.exit(main())
