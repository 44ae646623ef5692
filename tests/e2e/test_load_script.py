"""scripts/load.py, run for a few seconds as an operator runs it: a real ``ledger serve`` on a
fresh PostgreSQL database under the mixed workload, its report and plot written, no request
failed, ``ledger verify`` passed, and the database it made gone afterwards. The steady
workload (the default) hands cases over to their close and starts as many as it closes; the
growing one (``--growing``) only starts cases, which pile up."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def _run(tmp_path: Path, *options: str) -> tuple[subprocess.CompletedProcess[str],
                                                   dict[str, Any]]:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--dsn", PG_ADMIN_DSN, "--clients", "4", "--rate", "40",
         "--sample", "0.4", "--out", str(tmp_path), *options],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report: dict[str, Any] = json.loads((tmp_path / "load.json").read_text())
    return run, report


@pytest.mark.postgres
def test_a_short_run_reports_every_route_without_errors_and_verifies(
        pg_worker_database: str, tmp_path: Path) -> None:
    run, report = _run(tmp_path, "--minutes", "0.1", "--departures", "5")
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
    # and its caches, read from its /metrics (ledger_cache_bytes, ledger_cache_entries)
    assert all(s["cache_mib"] > 0 and s["cache_entries"] > 0 for s in report["samples"])
    assert "of which the caches' packed entries" in run.stdout
    assert (tmp_path / "load.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "target read p99 < 50 ms" in run.stdout
    made = re.search(r"database (bench_[0-9a-f]+):", run.stdout)
    assert made is not None, run.stdout[:500]
    assert not _database_exists(made.group(1))  # dropped at the end
    # The steady workload: cases handed over through to their close, new ones started for them
    assert report["workload"] == "steady"
    steps = report["handover_steps"]
    assert steps.get("submit", 0) >= 1 and steps.get("confirm", 0) >= 1, steps
    assert steps.get("sign", 0) >= 3 and steps.get("close", 0) >= 1, steps
    for route in ("POST /v1/items/{id}/submit", "POST /v1/items/{id}/confirm",
                  "POST /v1/departures/{id}/confirmation/signatures",
                  "POST /v1/departures/{id}/close", "POST /v1/items/{id}/evidence"):
        assert report["routes"][route]["requests"] >= 1, route
    # as many cases open at the end as at the start (a closed one's replacement counts once
    # it is started; one still being started at the end is one fewer)
    opened = report["open"]
    assert opened["start"]["cases"] == 5
    assert opened["end"]["cases"] >= opened["start"]["cases"] - 1, opened
    assert 0 < opened["start"]["items"] < 5 * 28  # the seeded cases stand at every stage
    assert all(s["open_cases"] >= 4 for s in report["samples"])
    assert "steady workload: open cases 5 → " in run.stdout


@pytest.mark.postgres
def test_the_growing_workload_only_opens_cases(pg_worker_database: str,
                                               tmp_path: Path) -> None:
    """``--growing``, the stress test kept from before: nothing is handed over or closed,
    new cases are started and approved (their checklists applied), so open items grow."""
    run, report = _run(tmp_path, "--minutes", "0.1", "--departures", "3", "--growing")
    assert "growing workload: open cases 3 → " in run.stdout
    assert report["errors"] == 0 and report["workload"] == "growing"
    assert report["verify"]["exit"] == 0, report["verify"]["output"]
    assert report["handover_steps"] == {}
    assert "POST /v1/departures/{id}/close" not in report["routes"]
    assert "POST /v1/items/{id}/submit" not in report["routes"]
    opened = report["open"]
    assert opened["start"] == {"cases": 3, "items": 3 * 28}  # fresh: nothing handed over
    assert opened["end"]["cases"] > 3 and opened["end"]["items"] > 3 * 28, opened


def test_refuses_a_dsn_off_loopback(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--dsn", "postgresql://postgres@192.0.2.1:5432/x",
         "--minutes", "0.1", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 1
    assert "not a loopback address" in run.stderr
    assert not (tmp_path / "load.json").exists()
