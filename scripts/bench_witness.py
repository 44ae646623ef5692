"""Benchmark: the witness round trip a log adds per checkpoint, on loopback.

Starts ``ledger witness`` as its own process on 127.0.0.1 (a port the system chooses, key and
state in a temporary folder), then submits ``--rounds`` checkpoints of a growing toy log one
after another, each with the previous size and its consistency proof, as the log's
``witnesses`` worker does: one ``POST /add-checkpoint`` per checkpoint over a kept-alive
connection, timed from sending to the verified cosignature. The witness verifies the log's
signature and the proof, records the new size in its SQLite file (fsync) and cosigns. The
proofs and notes are built before the timed section. Prints p50, p90, p99 and max in ms.

    PYTHONPATH=. .venv/bin/python scripts/bench_witness.py [--rounds 300] [--grow 7]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from ledger.tlog.note import split_note
from ledger.witness.cosignature import parse_witness_vkey, verify_cosignatures


def start_witness(folder: Path, vkey: str) -> tuple[subprocess.Popen[str], str, str]:
    """``ledger witness`` trusting the log key ``vkey``, key and state in ``folder``: the
    process, its URL and its verifier key (bench_log.py --witness uses it too)."""
    process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "ledger.cli", "witness", "--name", "bench.example/witness",
         "--log", vkey, "--port", "0", "--key-file", str(folder / "w.key"),
         "--state", str(folder / "w.db")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    witness_key = ""
    for line in process.stdout or ():
        if line.startswith("witness verifier key: "):
            witness_key = line.split()[-1]
        served = re.search(r"serving on (http://127\.0\.0\.1:\d+)", line)
        if served:
            return process, served.group(1), witness_key
    raise SystemExit("the witness did not start")


async def _bench(url: str, witness_vkey: str, rounds: int, grow: int) -> list[float]:
    from tests.support.witness import ToyLog

    log = ToyLog()
    key = parse_witness_vkey(witness_vkey)
    bodies, texts, old = [], [], 0
    for _ in range(rounds):
        log.grow(grow)
        bodies.append(log.submission(old))
        texts.append(split_note(log.note())[0])
        old = len(log.entries)
    seconds = []
    async with aiohttp.ClientSession() as session:
        for body, text in zip(bodies, texts, strict=True):
            started = time.perf_counter()
            async with session.post(url + "/add-checkpoint", data=body) as resp:
                answer = await resp.text()
            if resp.status != 200 or not verify_cosignatures(text, [answer], [key]):
                raise SystemExit(f"witness answered {resp.status}: {answer}")
            seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--grow", type=int, default=7, help="entries added per checkpoint")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        from tests.support.witness import ToyLog

        process, url, witness_vkey = start_witness(Path(tmp), ToyLog().signer.verifier.vkey)
        try:
            seconds = asyncio.run(_bench(url, witness_vkey, args.rounds, args.grow))
        finally:
            process.terminate()
            process.wait(timeout=30)
    ms = sorted(s * 1000 for s in seconds)
    q = statistics.quantiles(ms, n=100)
    print(f"witness round trip per checkpoint over {len(ms)} checkpoints (loopback, separate "
          f"process): p50 {q[49]:.2f} ms, p90 {q[89]:.2f} ms, p99 {q[98]:.2f} ms, "
          f"max {ms[-1]:.2f} ms")


if __name__ == "__main__":
    main()
