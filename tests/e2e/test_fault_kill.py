"""A lone ``ledger serve`` killed with SIGKILL at random moments under concurrent HTTP load
(commands with idempotency keys, file uploads) and started again, on each store: every
command a 2xx acknowledged is in the ledger exactly once, nothing is half-written,
``ledger verify`` passes and the board equals a rebuild. The short version of
scripts/fault_kill.py (tests/support/kill_run.py)."""

from __future__ import annotations

import random
from pathlib import Path

from tests.support.kill_run import KillReport, describe, kill_run

KILLS, EVERY, CLIENTS = 2, 1.0, 4


def _judge(report: KillReport, store: str, seed: int) -> None:
    figures = "\n".join(describe(report, store))
    print(f"seed {seed}\n{figures}")
    assert len(report.restarts) == KILLS, figures
    assert not report.findings.problems(), f"seed {seed}\n{figures}"
    assert report.acknowledged > 50 and report.given_up == 0, figures
    # the load went through the kills: some attempts were cut off and retried
    assert sum(report.tally.answers.values()) > 0, figures


async def test_sigkill_under_load_loses_nothing_acknowledged_on_sqlite(tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    report = await kill_run(f"sqlite:///{tmp_path}/data/ledger.db", tmp_path, kills=KILLS,
                            every=EVERY, clients=CLIENTS, seed=seed)
    _judge(report, "sqlite", seed)


async def test_sigkill_under_load_loses_nothing_acknowledged_on_postgresql(
        pg_dsn: str, tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    report = await kill_run(pg_dsn, tmp_path, kills=KILLS, every=EVERY, clients=CLIENTS,
                            seed=seed)
    _judge(report, "postgresql", seed)
