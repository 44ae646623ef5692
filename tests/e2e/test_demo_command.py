"""``ledger demo`` as a user runs it, then ``ledger verify``: the demo's events are in the
signed log (not left queued for a server that never ran), and the ledger checks out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _ledger(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["LEDGER_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "ledger.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_the_demo_leaves_every_event_in_the_signed_log_and_verify_passes(
        tmp_path: Path) -> None:
    played = _ledger("demo", data_dir=tmp_path)
    assert played.returncode == 0, played.stderr
    counts = played.stdout.strip().splitlines()[-1]
    events = counts.split(" events in the ledger, ")[0]
    assert counts == f"{events} events in the ledger, {events} in its signed log"
    verified = _ledger("verify", data_dir=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "(0 queued)" in verified.stdout
