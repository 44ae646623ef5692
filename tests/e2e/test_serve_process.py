"""``ledger serve`` as a user runs it: a real process on a loopback port, zero configuration,
keys made on first run (0600), a bootstrap token printed once, graceful stop on SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _wait_for_line(process: subprocess.Popen[str], needle: str, lines: list[str]) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return
    raise AssertionError(f"{needle!r} never printed; output: {''.join(lines)}")


def test_serve_starts_with_zero_configuration_and_stops_gracefully(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "ledger.cli", "serve", "--port", "0"], cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        _wait_for_line(process, "serving on", lines)
        # The process binds the port the system chose and prints it: no port picked beforehand
        # that another test (or xdist worker) could take in between.
        served = re.search(r"serving on http://127\.0\.0\.1:(\d+) ", lines[-1])
        assert served is not None, lines[-1]
        port = int(served.group(1))
        assert port != 0
        token = next(line.split()[-1] for line in lines if "bootstrap operator token" in line)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/templates", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            keys = {t["key"] for t in json.load(response)["items"]}
        assert {"sales", "technical", "management", "clearance"} <= keys
        # the event loop's lateness is sampled from the start (ledger.loop_lag)
        time.sleep(0.6)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            scraped = response.read().decode()
        lag_count = re.search(r"^ledger_event_loop_lag_seconds_count (\S+)$", scraped, re.M)
        assert lag_count is not None and float(lag_count.group(1)) >= 1
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/log/checkpoint",
                                    timeout=10) as response:
            assert response.read().decode().startswith("handover-ledger.localhost/log\n")
        # the web console is served beside the API: / leads to its sign-in page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert response.url.endswith("/console/sign-in?next=/console/")
            assert 'name="csrf"' in response.read().decode()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        rest = (process.stdout.read() if process.stdout else "")
        # the log says why it stopped and that it stopped whole (an operator reads only that)
        assert '"signal": "SIGTERM"' in rest or "signal=SIGTERM" in rest, rest
        assert "stopped: requests finished, workers stopped" in rest, rest
    finally:
        if process.poll() is None:
            process.kill()
    skeys = list((tmp_path / "ledger-data" / "keys").glob("*.skey"))
    assert len(skeys) == 1
    assert stat.S_IMODE(skeys[0].stat().st_mode) == 0o600
    assert (tmp_path / "ledger-data" / "ledger.db").exists()
