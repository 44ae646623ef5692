"""Benchmark: GET throughput of boards and log reads with and without a read replica, and
where the database work went.

Makes a throw-away PostgreSQL primary and its streaming replica on loopback ports (the test
suite's ``tests/support/streaming_replica.py``: initdb, ``pg_basebackup -R -X stream``;
removed at the end), loads ``--cases`` open departures with the sales checklist through the
ledger's own commands, sequences them and builds the board. Then three contenders run one
after another, each a ``ledger``-like server process (``web.site.build_site`` over
``bootstrap``) loaded by ``--clients`` closed-loop HTTP clients in this process:

- **primary**: no LEDGER_READ_DATABASE_URL: every read on the primary;
- **replica**: LEDGER_READ_DATABASE_URL set: the GETs' reads on the replica;
- **replica+wait**: the same, each GET waiting for the board to reach the log's size
  (``min_position``), so each also asks the primary for its WAL position and, if the replica
  has not been seen there yet, the replica for its replay position (read-your-writes' cost).

The mix, per client in turn: the HR dashboard (20 cases), one case's board, the log's
checkpoint, an entry bundle and a hash tile (the HR inbox is left out: at ~0.5 s a request
with 60 cases it would be all the benchmark measured). For each: requests/s, p50/p99, and the
CPU time a request of the ledger's server process and of the primary's and the replica's
PostgreSQL processes (every backend, from /proc): where the work went. On one machine both
clusters and the server share its cores, so requests/s measures the routing's cost here, not a
scale-out (docs/scaling.md). Last, the replay lag: how long after a small write's commit the
replica has replayed it.

    python scripts/bench_replica.py                # 200 cases, 16 clients, 2 x 8 s each
    python scripts/bench_replica.py --quick        # 60 cases, 1 x 3 s each
"""

from __future__ import annotations

import asyncio
import multiprocessing
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchdb import HR, MANAGER, SUCCESSOR, BenchError, add_people, percentile, start_case

from tests.support.streaming_replica import StreamingPair, make_pair, server_programs

CONTENDERS = ("primary", "replica", "replica+wait")
DATABASE = "bench_replica"


def cluster_cpu(folder: Path) -> float:
    """CPU seconds of a cluster's postmaster and every live child, plus its exited children
    (/proc: utime + stime, and cutime + cstime of the postmaster)."""
    import os

    tick = os.sysconf("SC_CLK_TCK")
    postmaster = int((folder / "postmaster.pid").read_text().split()[0])
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if pid == postmaster:
            total += sum(int(x) for x in fields[11:15])
        elif ppid == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process so far, from /proc."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _prepare(dsn: str, root: Path, cases: int) -> tuple[str, list[str]]:
    """The departures, sequenced and on the board; an HR token and the cases' ids."""
    from ledger.bootstrap import bootstrap
    from ledger.principals import Principal, new_token
    from ledger.service.context import RequestContext
    from ledger.settings import Settings

    runtime = await bootstrap(Settings(database_url=dsn, data_dir=root, key_dir=root / "keys"))
    try:
        await runtime.ledger.install_builtin_templates()
        await runtime.principals.add_principal(Principal(HR.id, "Bench HR", ("hr",)))
        context = RequestContext(ip="127.0.0.1", user_agent="bench_replica", auth="bench")
        await add_people(runtime.principals, MANAGER.id, SUCCESSOR)
        ids = [str((await start_case(runtime.ledger, n, HR, MANAGER, SUCCESSOR, context,
                                     principals=runtime.principals))[0])
               for n in range(1, cases + 1)]
        while await runtime.sequencer.step():
            pass
        await runtime.board.catch_up()
        token, token_hash = new_token()
        await runtime.principals.add_token(token_hash, HR.id, "bench_replica")
        return token, ids
    finally:
        await runtime.close()


async def _serve(dsn: str, read_dsn: str | None, root: Path, pipe: Connection) -> None:
    from benchdb import serve_loopback

    from ledger.bootstrap import bootstrap
    from ledger.settings import Settings
    from web.site import build_site

    settings = Settings(database_url=dsn, read_database_url=read_dsn, data_dir=root,
                        key_dir=root / "keys", scheduler=False)
    runtime = await bootstrap(settings, migrate=False, sequencer=False)
    try:
        if runtime.replica is not None and not runtime.replica.up:
            raise BenchError("the replica is not streaming")
        async with serve_loopback(build_site(runtime)) as base_url:
            pipe.send(base_url)
            await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        pipe.send(dict(runtime.replica.served) if runtime.replica is not None else {})
    finally:
        await runtime.close()


def server_process(dsn: str, read_dsn: str | None, root: Path, pipe: Connection) -> None:
    """A server subprocess: sends its URL, serves until told, sends its read counts."""
    asyncio.run(_serve(dsn, read_dsn, root, pipe))


@dataclass
class Figures:
    """One contender's window."""

    name: str
    requests: int
    seconds: float
    latencies: list[float]
    primary_cpu: float
    replica_cpu: float
    server_cpu: float
    served: dict[str, int]

    def plus(self, other: Figures) -> Figures:
        """Two windows of the same contender as one."""
        served = {k: self.served.get(k, 0) + other.served.get(k, 0)
                  for k in {*self.served, *other.served}}
        return Figures(self.name, self.requests + other.requests, self.seconds + other.seconds,
                       self.latencies + other.latencies, self.primary_cpu + other.primary_cpu,
                       self.replica_cpu + other.replica_cpu, self.server_cpu + other.server_cpu,
                       served)

    def row(self) -> str:
        per = 1e6 / max(self.requests, 1)
        return (f"{self.name:<13} {self.requests:>7} {self.requests / self.seconds:>8.0f} "
                f"{percentile(self.latencies, 50) * 1e3:>7.1f} "
                f"{percentile(self.latencies, 99) * 1e3:>7.1f} "
                f"{self.server_cpu * per:>8.0f} "
                f"{self.primary_cpu * per:>9.0f} {self.replica_cpu * per:>9.0f}   "
                f"{self.served.get('replica', 0):>7} / {self.served.get('primary', 0)}")


async def _load(base_url: str, token: str, ids: list[str], clients: int, warmup: float,
                seconds: float, wait: bool, pair: StreamingPair,
                server: int) -> tuple[int, list[float], tuple[float, float, float]]:
    import aiohttp

    suffix = "min_position=1" if wait else ""
    paths = ["/v1/boards/hr?limit=20", "/v1/boards/departures/{id}", "/log/checkpoint",
             "/log/tile/entries/000", "/log/tile/0/000"]
    latencies: list[float] = []
    window = [0.0, 0.0]
    cpu: dict[str, tuple[float, float, float]] = {}
    async with aiohttp.ClientSession(base_url, headers={"Authorization": f"Bearer {token}"},
                                     connector=aiohttp.TCPConnector(limit=clients)) as session:
        async def client(c: int) -> None:
            n = c
            while (t0 := time.perf_counter()) < window[1]:
                path = paths[n % len(paths)].replace("{id}", ids[n % len(ids)])
                if suffix and path.startswith("/v1/boards"):
                    path += ("&" if "?" in path else "?") + suffix
                async with session.get(path) as response:
                    body = await response.read()
                    if response.status != 200:
                        raise BenchError(f"GET {path}: {response.status} {body[:200]!r}")
                t1 = time.perf_counter()
                if window[0] <= t1 <= window[1]:
                    latencies.append(t1 - t0)
                n += 1

        start = time.perf_counter()
        window[:] = [start + warmup, start + warmup + seconds]
        tasks = [asyncio.create_task(client(c)) for c in range(clients)]
        await asyncio.sleep(warmup)
        cpu["start"] = (cluster_cpu(pair.folder / "primary"), cluster_cpu(pair.folder / "replica"),
                        process_cpu(server))
        await asyncio.sleep(max(0.0, window[1] - time.perf_counter()))
        cpu["end"] = (cluster_cpu(pair.folder / "primary"), cluster_cpu(pair.folder / "replica"),
                      process_cpu(server))
        await asyncio.gather(*tasks)
    used = (cpu["end"][0] - cpu["start"][0], cpu["end"][1] - cpu["start"][1],
            cpu["end"][2] - cpu["start"][2])
    return len(latencies), latencies, used


def _contender(name: str, pair: StreamingPair, root: Path, token: str, ids: list[str],
               clients: int, warmup: float, seconds: float) -> Figures:
    read_dsn = None if name == "primary" else pair.replica_dsn(DATABASE)
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=server_process,
                                     args=(pair.primary_dsn(DATABASE), read_dsn, root, child))
    server.start()
    try:
        if not parent.poll(60):
            raise BenchError(f"{name}: the server did not start")
        base_url = parent.recv()
        done, latencies, (primary_cpu, replica_cpu, server_cpu) = asyncio.run(_load(
            base_url, token, ids, clients, warmup, seconds, name.endswith("wait"), pair,
            server.pid or 0))
        parent.send("stop")
        served = parent.recv() if parent.poll(30) else {}
    finally:
        server.join(30)
        if server.is_alive():
            server.kill()
    return Figures(name, done, seconds, latencies, primary_cpu, replica_cpu, server_cpu, served)


async def replay_lag(pair: StreamingPair, writes: int = 200) -> list[float]:
    """Seconds from a small write's commit on the primary until the replica has replayed
    it (polled every 0.5 ms): what a reader holding that write's token may wait."""
    import asyncpg

    from ledger.store.read_scope import parse_lsn

    primary = await asyncpg.connect(pair.primary_dsn(DATABASE))
    replica = await asyncpg.connect(pair.replica_dsn(DATABASE))
    lags: list[float] = []
    try:
        await primary.execute("CREATE TABLE IF NOT EXISTS bench_lag (n INTEGER)")
        for n in range(writes):
            await primary.execute("INSERT INTO bench_lag VALUES ($1)", n)
            t0 = time.perf_counter()
            after = parse_lsn(await primary.fetchval("SELECT pg_current_wal_insert_lsn()::text"))
            while True:
                replayed = await replica.fetchval("SELECT pg_last_wal_replay_lsn()::text")
                if parse_lsn(replayed) >= after:
                    break
                await asyncio.sleep(0.0005)
            lags.append(time.perf_counter() - t0)
    finally:
        await primary.close()
        await replica.close()
    return lags


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2, help="windows per contender, in turns")
    parser.add_argument("--quick", action="store_true", help="60 cases, 3 s a contender, 1 round")
    args = parser.parse_args(argv)
    if args.quick:
        args.cases, args.seconds, args.rounds = 60, 3.0, 1
    programs = server_programs()
    if programs is None:
        print("bench_replica: PostgreSQL's server programs are not installed", file=sys.stderr)
        return 1
    pair = make_pair(programs)
    root = Path(tempfile.mkdtemp(prefix="bench_replica_"))
    try:
        pair.create_database(DATABASE)
        token, ids = asyncio.run(_prepare(pair.primary_dsn(DATABASE), root, args.cases))
        time.sleep(1.0)  # the replica replays the load
        print(f"{args.cases} cases, {args.clients} clients, {args.rounds} x {args.seconds:g} s "
              "a contender; CPU in µs a request")
        print(f"{'contender':<13} {'reqs':>7} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'server':>8} {'primary':>9} {'replica':>9}   reads on replica / primary")
        rows = [_contender(name, pair, root, token, ids, args.clients, 2.0, args.seconds)
                for name in CONTENDERS]
        for _ in range(args.rounds - 1):  # in turns, so that a busy spell hits all alike
            for n, name in enumerate(CONTENDERS):
                rows[n] = rows[n].plus(_contender(name, pair, root, token, ids, args.clients,
                                                  2.0, args.seconds))
        for figures in rows:
            print(figures.row(), flush=True)
        base = max(rows[0].requests, 1) / rows[0].seconds
        for figures in rows[1:]:
            print(f"{figures.name} / primary: {figures.requests / figures.seconds / base:.2f}x "
                  "requests/s")
        lags = asyncio.run(replay_lag(pair))
        print(f"replay lag of a small write, {len(lags)} writes: p50 "
              f"{percentile(lags, 50) * 1e3:.1f} ms, p99 {percentile(lags, 99) * 1e3:.1f} ms")
    finally:
        pair.remove()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
