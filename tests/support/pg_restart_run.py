"""One run of the PostgreSQL restart fault test (scripts/fault_pg.py;
tests/e2e/test_fault_pg.py): a lone ``ledger serve`` on a cluster of the test's own
(tests/support/private_cluster.py) under the load of tests/support/fault_load.py, while that
cluster is restarted (``pg_ctl restart -m fast``) and crashed (``pg_ctl stop -m immediate``,
held down, started again). The service is never restarted: it must answer 503 with
``Retry-After`` while the database is away and recover by itself; then
tests/support/fault_checks.py examines what it left."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from tests.support.fault_checks import Findings, examine
from tests.support.fault_load import Load, Tally, add_people
from tests.support.fleet import Fleet
from tests.support.kill_run import settle, wait_settled
from tests.support.private_cluster import PrivateCluster

OUTAGES = ("fast restart", "immediate stop")


@dataclass
class Outage:
    """One database outage as the clients and ``/readyz`` saw it."""

    kind: str
    began: float  # monotonic
    back: float  # pg_ctl returned: the server accepts connections again
    answers: Counter[str] = field(default_factory=Counter)  # failed attempts meanwhile
    recovered_after: float | None = None  # from ``back`` to the next 2xx command
    ready_after: float | None = None  # from ``back`` to /readyz 200 again
    readyz_503: int = 0  # /readyz polls answered 503 in the outage
    logging_after: float | None = None  # from ``back`` to the log growing again (sequencer)

    @property
    def down(self) -> float:
        return self.back - self.began


@dataclass
class RestartReport:
    """What a run measured and what the checks found."""

    seconds: float = 0.0
    outages: list[Outage] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    commands: int = 0
    acknowledged: int = 0
    given_up: int = 0
    server_survived: bool = False
    findings: Findings = field(default_factory=Findings)


async def create_database(cluster: PrivateCluster, name: str) -> str:
    conn = await asyncpg.connect(cluster.dsn())
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return cluster.dsn(name)


async def watch_ready(base: str, seen: list[tuple[float, int, int]],
                       stop: asyncio.Event) -> None:
    """Poll ``/readyz`` every 100 ms, keeping (time, status, log size); status 0 for no
    answer, log size -1 when it gave none."""
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            try:
                async with session.get(base + "/readyz",
                                       timeout=aiohttp.ClientTimeout(total=5)) as reply:
                    body = await reply.json(content_type=None)
                    seen.append((time.monotonic(), reply.status, int(body.get("log_size", -1))))
            except (aiohttp.ClientError, TimeoutError, ValueError):
                seen.append((time.monotonic(), 0, -1))
            await asyncio.sleep(0.1)


async def _outage(cluster: PrivateCluster, kind: str, hold: float) -> Outage:
    began = time.monotonic()
    if kind == "fast restart":
        await asyncio.to_thread(cluster.restart, "fast")
    else:
        await asyncio.to_thread(cluster.stop, "immediate")
        await asyncio.sleep(hold)
        await asyncio.to_thread(cluster.start)
    return Outage(kind, began, time.monotonic())


def _measure(outage: Outage, tally: Tally, ready: list[tuple[float, int, int]],
             until: float) -> None:
    """Fill in what the clients and the readiness probe saw from ``outage.began`` to
    ``until`` (the next outage, or the end)."""
    outage.answers = Counter(what for t, what in tally.failures if outage.began <= t < until)
    succeeded = [t for t in tally.successes if outage.back <= t < until]
    outage.recovered_after = succeeded[0] - outage.back if succeeded else None
    outage.readyz_503 = sum(1 for t, s, _ in ready if outage.began <= t < until and s == 503)
    ok = [t for t, s, _ in ready if outage.back <= t < until and s == 200]
    outage.ready_after = ok[0] - outage.back if ok else None
    # the log's size as the database came back (logged before the outage; the sequencer
    # had no database meanwhile), then the first poll that found it larger
    sizes = [(t, n) for t, _, n in ready if outage.back <= t < until and n >= 0]
    grown = [t for t, n in sizes if n > sizes[0][1]] if sizes else []
    outage.logging_after = grown[0] - outage.back if grown else None


async def restart_run(cluster: PrivateCluster, folder: Path, *, rounds: int, every: float,
                      hold: float, clients: int, readers: int = 1) -> RestartReport:
    """Serve a new database on ``cluster`` from ``folder``; ``rounds`` times each outage of
    ``OUTAGES`` (an immediate stop held down ``hold`` seconds), ``every`` seconds apart, under
    load from ``clients``."""
    dsn = await create_database(cluster, "ledger_faults")
    fleet = Fleet(dsn, folder)
    report = RestartReport()
    began = time.monotonic()
    stop, watching = asyncio.Event(), asyncio.Event()
    ready: list[tuple[float, int, int]] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        served = await fleet.start()
        tokens = await add_people(dsn, folder / "data")
        load = Load(lambda: served.base, tokens, clients=clients, readers=readers)
        loading = asyncio.create_task(load.run(stop))
        watcher = asyncio.create_task(watch_ready(served.base, ready, watching))
        tasks += [loading, watcher]
        for _ in range(rounds):
            for kind in OUTAGES:
                await asyncio.sleep(every)
                report.outages.append(await _outage(cluster, kind, hold))
        await asyncio.sleep(every)
        stop.set()
        await loading
        await wait_settled(served.base)
        watching.set()
        await watcher
        report.server_survived = served.process.returncode is None
        await settle(fleet)
    finally:
        stop.set()
        watching.set()
        for task in tasks:
            if not task.done():
                task.cancel()
        await fleet.stop()
    ends = [o.began for o in report.outages[1:]] + [time.monotonic()]
    for outage, until in zip(report.outages, ends, strict=True):
        _measure(outage, load.tally, ready, until)
    await settle_report(report, load, began, dsn, folder, fleet.environment())
    return report


async def settle_report(report: Any, load: Load, began: float, dsn: str,
                        folder: Path, environment: dict[str, str]) -> None:
    """The figures every fault run ends with: its time, the load's tally and what the
    ledger holds of the commands sent (``examine``)."""
    report.seconds = time.monotonic() - began
    report.tally = load.tally
    report.commands, report.acknowledged = len(load.ops), len(load.acknowledged)
    report.given_up = len(load.unacknowledged)
    report.findings = await examine(load.ops, dsn, folder, environment)


def describe(report: RestartReport) -> list[str]:
    """The run's figures, a line each."""
    f = report.findings
    lines = [f"{len(report.outages)} PostgreSQL outages in {report.seconds:.1f}s; the service "
             + ("kept running throughout" if report.server_survived else "DID NOT SURVIVE")]
    for n, o in enumerate(report.outages, 1):
        recovered = "never" if o.recovered_after is None else f"{o.recovered_after:.2f}s"
        ready = "never" if o.ready_after is None else f"{o.ready_after:.2f}s"
        logging = "never" if o.logging_after is None else f"{o.logging_after:.2f}s"
        lines.append(f"  {n}. {o.kind}: database away {o.down:.2f}s; failed attempts "
                     f"{dict(o.answers) or 'none'}; after it was back: next 2xx {recovered}, "
                     f"/readyz 200 {ready}, the log growing {logging}; /readyz 503 "
                     f"x{o.readyz_503}")
    lines += [
        f"commands {report.commands}: acknowledged {report.acknowledged} ({f.replayed} by "
        f"a replay), given up {report.given_up}, recorded though given up {f.unanswered}; "
        f"503 without Retry-After: {report.tally.without_retry_after}; reads answered 2xx "
        f"{report.tally.reads}",
        f"events {f.events} ({f.reminders} reminders by the scheduler), log {f.log_size}; "
        f"ledger verify exit {f.verify_exit}; board {f.board_rows} rows ({f.board_behind} "
        f"entries left to apply), {f.board_differ} differ from a rebuild",
        *(f"FAULT {p}" for p in f.problems()),
    ]
    return lines
