"""``ledger witness`` as an operator runs it: a real process on a loopback port, its key made
on first run with mode 0600 and its verifier key printed, cosigning a trusted log and
keeping its state across a restart (the same key, the same recorded size)."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from ledger.tlog.note import split_note
from ledger.witness.cosignature import parse_witness_vkey, verify_cosignatures
from tests.e2e.test_serve_process import ROOT, _wait_for_line
from tests.support.witness import ToyLog


def _run(tmp_path: Path, log: ToyLog) -> tuple[subprocess.Popen[str], list[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "ledger.cli", "witness", "--name", "witness.example/w1",
         "--log", log.signer.verifier.vkey, "--port", "0"], cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    _wait_for_line(process, "serving on", lines)
    served = re.search(r"serving on (http://127\.0\.0\.1:\d+)", lines[-1])
    assert served is not None, lines
    return process, lines, served.group(1)


def _post(url: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(url + "/add-checkpoint", data=body,  # noqa: S310
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


def test_witness_command_makes_its_key_and_cosigns(tmp_path: Path) -> None:
    log = ToyLog().grow(3)
    process, lines, url = _run(tmp_path, log)
    try:
        vkey = next(line.split()[-1] for line in lines if "witness verifier key" in line)
        key = parse_witness_vkey(vkey)
        key_file = tmp_path / "witness-data" / "witness.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert any("witness key written" in line for line in lines)
        status, text = _post(url, log.submission(0))
        assert status == 200, text
        body, sigs = split_note(log.note() + text.encode())
        assert [c.key for c in verify_cosignatures(body, sigs, [key])] == [key]
    finally:
        _stop(process)
    process, lines, url = _run(tmp_path, log.grow(2))
    try:
        assert any(vkey in line for line in lines)  # the same key
        assert not any("witness key written" in line for line in lines)
        assert _post(url, log.submission(0)) == (409, "3\n")
        assert _post(url, log.submission(3))[0] == 200
    finally:
        _stop(process)
    assert process.stdout is not None
    printed = "\n".join(lines) + process.stdout.read()
    assert "refused checkpoint" in printed and "cosigned checkpoint" in printed  # the log


def test_ledger_serve_asks_a_witness_process(tmp_path: Path) -> None:
    """The whole deployment as processes: ``ledger migrate --keys`` makes the log's key, a
    ``ledger witness`` trusts its ``.vkey`` file, and ``ledger serve`` with LEDGER_WITNESS_URLS
    and LEDGER_WITNESS_KEYS serves its checkpoint cosigned."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["PYTHONPATH"] = str(ROOT)
    subprocess.run([sys.executable, "-m", "ledger.cli", "migrate", "--keys"], cwd=tmp_path,
                   env=env, check=True, capture_output=True, timeout=120)
    [vkey_file] = (tmp_path / "ledger-data" / "keys").glob("*.vkey")
    witness = subprocess.Popen(
        [sys.executable, "-m", "ledger.cli", "witness", "--name", "witness.example/w1",
         "--log", str(vkey_file), "--port", "0"], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        _wait_for_line(witness, "serving on", lines)
        witness_url = lines[-1].split()[-1]
        witness_key = next(line.split()[-1] for line in lines if "verifier key" in line)
        serve = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", "serve", "--port", "0"], cwd=tmp_path,
            env={**env, "LEDGER_WITNESS_URLS": witness_url, "LEDGER_WITNESS_KEYS": witness_key},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        served: list[str] = []
        try:
            _wait_for_line(serve, "serving on", served)
            base = served[-1].split()[2]
            key = parse_witness_vkey(witness_key)
            deadline = time.monotonic() + 30
            while True:
                with urllib.request.urlopen(base + "/log/checkpoint",  # noqa: S310
                                            timeout=10) as response:
                    note = response.read()
                body, sigs = split_note(note)
                if verify_cosignatures(body, sigs, [key]):
                    break
                assert time.monotonic() < deadline, note
                time.sleep(0.1)
        finally:
            _stop(serve)
    finally:
        _stop(witness)
