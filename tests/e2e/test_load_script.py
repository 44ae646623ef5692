"""scripts/load.py, run for a few seconds as an operator runs it: a real ``ledger serve`` on a
fresh PostgreSQL database under the mixed workload, its report and plot written, no request
failed, ``ledger verify`` passed, and the database it made gone afterwards."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.conftest import PG_ADMIN_DSN
from tests.support.fleet import ROOT

SCRIPT = ROOT / "scripts" / "load.py"


def _database_exists(name: str) -> bool:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s",
                           (name,)).fetchone()
    return bool(row and row[0])


@pytest.mark.postgres
def test_a_short_run_reports_every_route_without_errors_and_verifies(
        pg_worker_database: str, tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--dsn", PG_ADMIN_DSN, "--minutes", "0.07",
         "--departures", "5", "--clients", "4", "--rate", "40", "--sample", "0.4",
         "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads((tmp_path / "load.json").read_text())
    assert report["errors"] == 0
    assert report["verdicts"]["error rate 0"] is True
    assert report["verify"]["exit"] == 0, report["verify"]["output"]
    assert report["requests"] > 40
    kinds = {f["kind"] for f in report["routes"].values()}
    assert kinds == {"read", "command"}
    assert "GET /v1/boards/hr" in report["routes"]
    assert len(report["samples"]) >= 5
    # the server's own event-loop lateness, read from its /metrics (ledger.loop_lag)
    assert report["event_loop_lag"]["wakeups"] >= 4
    assert all(s["rss_mib"] > 0 and s["pg_connections"] > 0 for s in report["samples"])
    assert (tmp_path / "load.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "target read p99 < 50 ms" in run.stdout
    made = re.search(r"database (bench_[0-9a-f]+):", run.stdout)
    assert made is not None, run.stdout[:500]
    assert not _database_exists(made.group(1))  # dropped at the end


def test_refuses_a_dsn_off_loopback(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--dsn", "postgresql://postgres@192.0.2.1:5432/x",
         "--minutes", "0.1", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 1
    assert "not a loopback address" in run.stderr
    assert not (tmp_path / "load.json").exists()
