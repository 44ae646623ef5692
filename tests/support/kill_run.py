"""One run of the SIGKILL fault test (scripts/fault_kill.py; tests/e2e/test_fault_kill.py): a
lone ``ledger serve`` under the load of tests/support/fault_load.py is killed with SIGKILL at
random moments and started again, ``kills`` times; then the load stops, the server catches
up and stops, and tests/support/fault_checks.py examines what it left."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.fault_checks import Findings, examine
from tests.support.fault_load import Load, Tally, add_people
from tests.support.fleet import Fleet


@dataclass
class KillReport:
    """What a run measured and what the checks found."""

    seconds: float
    restarts: list[float] = field(default_factory=list)  # SIGKILL → serving again (s)
    acknowledged_at_kill: list[int] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    commands: int = 0
    acknowledged: int = 0
    given_up: int = 0
    findings: Findings = field(default_factory=Findings)


async def wait_settled(base: str, within: float = 60.0) -> dict[str, Any]:
    """Wait until ``/readyz`` says the server is ready, the sequencer has logged every event
    and each projection is at the log's end; its last answer."""
    deadline = time.monotonic() + within
    body: dict[str, Any] = {}
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(base + "/readyz",
                                       timeout=aiohttp.ClientTimeout(total=5)) as reply:
                    body = await reply.json(content_type=None)
                    lags = [int(p["lag"]) for p in body.get("projections", [])]
                    if (reply.status == 200 and body.get("sequencer_lag") == 0
                            and lags and not any(lags)):
                        return body
            except (aiohttp.ClientError, TimeoutError, ValueError):
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"not settled within {within}s: {body}")


async def settle(fleet: Fleet) -> None:
    """Stop the server, then serve the ledger once more with no scheduler (which would go on
    recording reminders) until everything committed is logged and projected, and stop it:
    the state a next start would reach, for the checks to compare."""
    await fleet.stop()
    fleet.env["LEDGER_SCHEDULER"] = "off"
    try:
        await wait_settled((await fleet.start()).base)
    finally:
        del fleet.env["LEDGER_SCHEDULER"]
        await fleet.stop()


async def kill_run(database_url: str, folder: Path, *, kills: int, every: float,
                   clients: int, seed: int | None = None) -> KillReport:
    """Serve ``database_url`` from ``folder`` (a Fleet of one), kill it ``kills`` times, about
    every ``every`` seconds (uniformly 0.3 to 1.7 times that), under load from ``clients``."""
    chance = random.Random(seed)
    fleet = Fleet(database_url, folder)
    began = time.monotonic()
    report = KillReport(0.0)
    stop = asyncio.Event()
    loading: asyncio.Task[None] | None = None
    try:
        await fleet.start()
        tokens = await add_people(database_url, folder / "data")
        load = Load(lambda: fleet.alive[0].base if fleet.alive else None, tokens,
                    clients=clients)
        loading = asyncio.create_task(load.run(stop))
        for _ in range(kills):
            await asyncio.sleep(chance.uniform(0.3 * every, 1.7 * every))
            report.acknowledged_at_kill.append(len(load.acknowledged))
            killed_at = time.monotonic()
            await fleet.kill(fleet.alive[0])
            await fleet.start()
            report.restarts.append(time.monotonic() - killed_at)
        await asyncio.sleep(every)  # acknowledged work after the last restart, too
        stop.set()
        await loading
        await settle(fleet)
    finally:
        stop.set()
        if loading is not None and not loading.done():
            loading.cancel()
        await fleet.stop()
    report.seconds = time.monotonic() - began
    report.tally = load.tally
    report.commands, report.acknowledged = len(load.ops), len(load.acknowledged)
    report.given_up = len(load.unacknowledged)
    report.findings = await examine(load.ops, database_url, folder, fleet.environment())
    return report


def describe(report: KillReport, store: str) -> list[str]:
    """The run's figures, a line each."""
    f = report.findings
    restarts = sorted(report.restarts)
    return [
        f"[{store}] {len(restarts)} SIGKILLs in {report.seconds:.1f}s; back serving after "
        + (f"min {restarts[0]:.2f}s, max {restarts[-1]:.2f}s" if restarts else "-"),
        f"[{store}] commands {report.commands}: acknowledged {report.acknowledged} "
        f"({f.replayed} by a replay of a commit whose answer the kill lost), "
        f"given up {report.given_up}, recorded though given up {f.unanswered}",
        f"[{store}] failed attempts: {dict(report.tally.answers) or 'none'}",
        f"[{store}] events {f.events} ({f.reminders} reminders by the scheduler), log "
        f"{f.log_size}; ledger verify exit {f.verify_exit}; board {f.board_rows} rows "
        f"({f.board_behind} entries left to apply), {f.board_differ} differ from a rebuild",
        *(f"[{store}] FAULT {p}" for p in f.problems()),
    ]
