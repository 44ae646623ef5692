"""One run of the hung-database fault test (tests/e2e/test_fault_pg.py; scripts/fault_pg.py
--freeze): a lone ``ledger serve`` on a cluster of the test's own, with short database
timeouts, under the load of tests/support/fault_load.py, while every process of that cluster
is frozen (SIGSTOP: connections are still accepted by the kernel, then nothing answers, as in
a network partition) and thawed again. Meanwhile one GET, one POST and ``/readyz`` are timed:
each must answer 503 with ``Retry-After`` within the timeouts. After the thaw the service must
recover by itself and tests/support/fault_checks.py examine what it left (every acknowledged
command exactly once, ``ledger verify``, the board against a rebuild)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.support.fault_checks import Findings
from tests.support.fault_load import Load, Op, Tally, Tokens, add_people, departure
from tests.support.fleet import Fleet
from tests.support.kill_run import settle, wait_settled
from tests.support.pg_restart_run import create_database, settle_report, watch_ready
from tests.support.private_cluster import PrivateCluster

CONNECT, ACQUIRE, COMMAND = 1.0, 1.0, 1.5  # seconds: the served ledger's database timeouts


@dataclass(frozen=True)
class Probe:
    """One request sent while the database was frozen."""

    status: int  # 0: no answer within the client's own timeout
    retry_after: str | None
    seconds: float


@dataclass
class FreezeReport:
    """What a run measured and what the checks found."""

    timeouts: tuple[float, float, float] = (CONNECT, ACQUIRE, COMMAND)
    seconds: float = 0.0
    frozen: float = 0.0  # how long the cluster was stopped
    processes: int = 0  # how many of its processes were
    probes: dict[str, Probe] = field(default_factory=dict)  # GET, POST, readyz
    answers: Counter[str] = field(default_factory=Counter)  # the load's, while frozen
    slowest: float = 0.0  # the load's slowest answer while frozen (sent during the freeze)
    recovered_after: float | None = None  # from the thaw to the next 2xx command
    ready_after: float | None = None  # from the thaw to /readyz 200
    logging_after: float | None = None  # from the thaw to the log growing again
    probe_acknowledged_after: float | None = None  # the POST's retry under its key: 2xx
    tally: Tally = field(default_factory=Tally)
    commands: int = 0
    acknowledged: int = 0
    given_up: int = 0
    server_survived: bool = False
    findings: Findings = field(default_factory=Findings)


async def _timed(session: aiohttp.ClientSession, method: str, url: str,
                 **arguments: object) -> Probe:
    began = time.monotonic()
    try:
        async with session.request(method, url, timeout=aiohttp.ClientTimeout(total=30),
                                   **arguments) as reply:  # type: ignore[arg-type]
            await reply.read()
            return Probe(reply.status, reply.headers.get("Retry-After"),
                         time.monotonic() - began)
    except (aiohttp.ClientError, TimeoutError):
        return Probe(0, None, time.monotonic() - began)


async def _probe(session: aiohttp.ClientSession, base: str, tokens: Tokens,
                 op: Op) -> dict[str, Probe]:
    """A GET of the board, a POST starting a case (under ``op``'s key) and ``/readyz``, at
    once."""
    auth = {"Authorization": f"Bearer {tokens.hr}"}
    get, post, ready = await asyncio.gather(
        _timed(session, "GET", base + "/v1/departures", headers=auth),
        _timed(session, "POST", base + "/v1/departures", json=departure(999),
               headers={**auth, "Idempotency-Key": op.key, "X-Request-Id": op.key}),
        _timed(session, "GET", base + "/readyz"))
    return {"GET": get, "POST": post, "readyz": ready}


async def _acknowledge(session: aiohttp.ClientSession, load: Load, base: str, op: Op,
                       within: float = 60.0) -> float | None:
    """Send the probe's POST again under its key until acknowledged; when it was."""
    headers = {"Authorization": f"Bearer {load.tokens.hr}", "Idempotency-Key": op.key,
               "X-Request-Id": op.key}
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        op.attempts += 1
        if await load.send(session, base + "/v1/departures", headers, departure(999), None,
                           op) is not None:
            return time.monotonic()
        await asyncio.sleep(0.1)
    return None


def _after(times: list[float], start: float) -> float | None:
    later = [t for t in times if t >= start]
    return later[0] - start if later else None


async def freeze_run(cluster: PrivateCluster, folder: Path, *, hold: float, clients: int,
                     timeouts: tuple[float, float, float] = (CONNECT, ACQUIRE, COMMAND),
                     warm_up: float = 2.0) -> FreezeReport:
    """Serve a new database on ``cluster`` from ``folder`` with the database ``timeouts``
    (connect, acquire, command) under load from ``clients``; freeze the cluster for ``hold``
    seconds (always thawed), then let the service recover."""
    dsn = await create_database(cluster, "ledger_freeze")
    fleet = Fleet(dsn, folder)
    fleet.env.update({f"LEDGER_DB_{name}_TIMEOUT_SECONDS": str(value) for name, value in zip(
        ("CONNECT", "ACQUIRE", "COMMAND"), timeouts, strict=True)})
    report = FreezeReport(timeouts)
    began = time.monotonic()
    stop, watching = asyncio.Event(), asyncio.Event()
    ready: list[tuple[float, int, int]] = []
    tasks: list[asyncio.Task[None]] = []
    op = Op("start", f"freeze-{uuid.uuid4().hex}")
    try:
        served = await fleet.start()
        tokens = await add_people(dsn, folder / "data")
        load = Load(lambda: served.base, tokens, clients=clients, readers=1, timeout=30.0)
        load.ops.append(op)
        tasks += [asyncio.create_task(load.run(stop)),
                  asyncio.create_task(watch_ready(served.base, ready, watching))]
        await asyncio.sleep(warm_up)
        async with aiohttp.ClientSession() as session:
            frozen_at = time.monotonic()
            try:
                report.processes = cluster.freeze()
                report.probes = await _probe(session, served.base, tokens, op)
                await asyncio.sleep(max(0.0, hold - (time.monotonic() - frozen_at)))
            finally:
                cluster.thaw()
            thawed = time.monotonic()
            report.frozen = thawed - frozen_at
            acknowledged = await _acknowledge(session, load, served.base, op)
            report.probe_acknowledged_after = (None if acknowledged is None
                                               else acknowledged - thawed)
        await asyncio.sleep(warm_up)
        stop.set()
        await tasks[0]
        await wait_settled(served.base)
        watching.set()
        await tasks[1]
        report.server_survived = served.process.returncode is None
        await settle(fleet)
    finally:
        cluster.thaw()
        stop.set()
        watching.set()
        for task in tasks:
            if not task.done():
                task.cancel()
        await fleet.stop()
    # the load's attempts sent while the cluster was frozen, as they were answered
    during = [(what, took) for t, what, took in load.tally.timings
              if t - took >= frozen_at and t - took < thawed]
    report.answers = Counter(what for what, _ in during)
    report.slowest = max((took for _, took in during), default=0.0)
    report.recovered_after = _after(load.tally.successes, thawed)
    report.ready_after = _after([t for t, s, _ in ready if s == 200], thawed)
    sizes = [(t, n) for t, _, n in ready if t >= thawed and n >= 0]
    report.logging_after = _after([t for t, n in sizes if n > sizes[0][1]] if sizes else [],
                                  thawed)
    await settle_report(report, load, began, dsn, folder, fleet.environment())
    return report


def unexpected(report: FreezeReport) -> list[str]:
    """The load's answers while frozen that were neither a 503 nor a 2xx (one sent shortly
    before the thaw may be answered after it; one that had no answer in time is named by its
    exception)."""
    return sorted(what for what in report.answers
                  if not what.endswith(" 503") and not what.split()[-1].startswith("2"))


def describe(report: FreezeReport) -> list[str]:
    """The run's figures, a line each."""
    def seconds(value: float | None) -> str:
        return "never" if value is None else f"{value:.2f}s"

    f = report.findings
    connect, acquire, command = report.timeouts
    probes = ", ".join(f"{name} {p.status} (Retry-After {p.retry_after}) in {p.seconds:.2f}s"
                       for name, p in report.probes.items())
    return [
        f"PostgreSQL frozen {report.frozen:.2f}s ({report.processes} processes SIGSTOPped), "
        f"timeouts connect {connect}s, acquire {acquire}s, command {command}s; the service "
        + ("kept running throughout" if report.server_survived else "DID NOT SURVIVE"),
        f"  frozen: {probes}",
        f"  the load's attempts sent while frozen: {dict(report.answers) or 'none'}, the "
        f"slowest answered in {report.slowest:.2f}s",
        f"  after the thaw: next 2xx command {seconds(report.recovered_after)}, the frozen "
        f"POST acknowledged under its key {seconds(report.probe_acknowledged_after)}, "
        f"/readyz 200 {seconds(report.ready_after)}, the log growing "
        f"{seconds(report.logging_after)}",
        f"commands {report.commands}: acknowledged {report.acknowledged} ({f.replayed} by "
        f"a replay), given up {report.given_up}; 503 without Retry-After: "
        f"{report.tally.without_retry_after}",
        f"events {f.events}, log {f.log_size}; ledger verify exit {f.verify_exit}; board "
        f"{f.board_rows} rows, {f.board_differ} differ from a rebuild",
        *(f"FAULT {p}" for p in f.problems()),
    ]
