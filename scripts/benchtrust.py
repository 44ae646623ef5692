"""Shared by the benchmarks that run the log with trusted time and witnesses (issue 14):
bench_log.py ``--tsa``/``--witness``/``--trust`` and bench_store.py ``--trust``.

``TrustServices`` starts, each as its own process on 127.0.0.1, a real RFC 3161 authority
(``openssl ts -reply`` behind aiohttp, with a throwaway CA: tests/support/tsa.py, run by this
file as ``benchtrust.py tsa FOLDER``) and ``ledger witness`` (bench_witness.start_witness),
and keeps them up for the whole run. ``running`` then runs, for one measured block, the log's
timestamper (ledger.timestamp.worker, every ``LEDGER_TSA_INTERVAL_SECONDS=1``, the tightest
setting) and witnesses worker (ledger.witness.submitter, paced at one round a second) beside
a sequencer, as ``ledger serve`` does, and records each round trip on loopback (the HTTP
exchange) and each whole round (ask, verify, store) per checkpoint.

``interleaved`` runs the configurations in turn, round after round, in ABBA order (so a
steady drift of the machine's speed falls on both alike), as the other benchmarks run a
contender beside its floor.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import aiohttp
from benchdb import BenchError, percentile

from ledger.store.cosignatures import cosignature_store_for
from ledger.store.log_port import LogStore
from ledger.store.port import EventStore
from ledger.store.timestamp_factory import timestamp_store_for
from ledger.timestamp.client import TsaClient
from ledger.timestamp.settings import TimestampSettings
from ledger.timestamp.stamper import Stamper
from ledger.timestamp.token import load_roots
from ledger.timestamp.worker import NAME, Timestamper
from ledger.transparency.reader import LogReader
from ledger.transparency.sequencer import Sequencer
from ledger.witness.cosignature import parse_witness_vkey
from ledger.witness.submitter import PACE_SECONDS, WitnessSubmitter
from ledger.workers import LoopWorker

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.10  # the issue: throughput and sequencer lag within 10% with both enabled
T = TypeVar("T")


@dataclass
class TrustFigures:
    """Per-checkpoint costs seen while the trust workers ran (seconds)."""

    tsa_http: list[float] = field(default_factory=list)
    witness_http: list[float] = field(default_factory=list)
    tsa_rounds: list[float] = field(default_factory=list)  # ask + verify + store a token
    witness_rounds: list[float] = field(default_factory=list)  # proof + post + verify + store
    timestamped: int = 0
    cosigned: int = 0
    # CPU seconds each stand-in process used over the whole run (with its children: the TSA's
    # openssl processes), on the same cores as the measured load; a real TSA or witness
    # runs elsewhere
    process_cpu: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The figures, one line each (p50 / p99 / max in ms, and how many)."""
        out = []
        for name, values in (("TSA round trip (HTTP, loopback)", self.tsa_http),
                             ("  whole timestamp round per checkpoint", self.tsa_rounds),
                             ("witness round trip (HTTP, loopback)", self.witness_http),
                             ("  whole witness round per checkpoint", self.witness_rounds)):
            if values:
                out.append(f"{name}: p50 {percentile(values, 50) * 1000:.1f} ms, p99 "
                           f"{percentile(values, 99) * 1000:.1f} ms, max "
                           f"{max(values) * 1000:.1f} ms ({len(values)})")
        out.append(f"checkpoints timestamped {self.timestamped}, cosigned {self.cosigned}")
        if self.process_cpu:
            out.append("CPU of the stand-ins on these cores over the run: " + ", ".join(
                f"{name} {seconds:.1f} s" for name, seconds in self.process_cpu.items()))
        return out


def _child_env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": str(ROOT) + (os.pathsep + path if path else "")}


def start_tsa(folder: Path) -> tuple[subprocess.Popen[str], str, Path]:
    """The local authority as its own process: the process, its URL and its CA file."""
    process = subprocess.Popen(  # noqa: S603 - this interpreter, this file
        [sys.executable, str(Path(__file__).resolve()), "tsa", str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_child_env())
    ca_file = None
    for line in process.stdout or ():
        if line.startswith("ca file: "):
            ca_file = Path(line.removeprefix("ca file: ").strip())
        served = re.search(r"serving on (http://127\.0\.0\.1:\d+/)", line)
        if served and ca_file is not None:
            return process, served.group(1), ca_file
    raise BenchError("the local time-stamping authority did not start")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU of process ``pid`` and its waited-for children (Linux /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class TrustServices:
    """The TSA and witness processes and the HTTP client the log's workers use."""

    def __init__(self, log_vkey: str, *, tsa: bool = True, witness: bool = True,
                 figures: TrustFigures | None = None) -> None:
        self.log_vkey = log_vkey
        self.tsa, self.witness = tsa, witness
        # one run's figures may gather several services' lifetimes (bench_log's rounds)
        self.figures = figures if figures is not None else TrustFigures()
        self._processes: dict[str, subprocess.Popen[str]] = {}
        self._witness_size: int | None = None

    async def __aenter__(self) -> TrustServices:
        from bench_witness import start_witness

        self._folder = tempfile.TemporaryDirectory(prefix="benchtrust-")
        folder = Path(self._folder.name)
        self.tsa_url = self.witness_url = self.witness_vkey = ""
        if self.tsa:
            process, self.tsa_url, ca_file = await asyncio.to_thread(start_tsa, folder / "tsa")
            self._processes["TSA (openssl ts -reply)"] = process
            self.roots = load_roots(ca_file.read_bytes())
            self.ca_file = ca_file
        if self.witness:
            (folder / "witness").mkdir()
            process, self.witness_url, self.witness_vkey = await asyncio.to_thread(
                start_witness, folder / "witness", self.log_vkey)
            self._processes["ledger witness"] = process
        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(self._request_start)
        trace.on_request_end.append(self._request_end)
        self.session = aiohttp.ClientSession(trace_configs=[trace])
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()
        for name, process in self._processes.items():
            seconds = _cpu_seconds(process.pid)
            if seconds is not None:
                cpu = self.figures.process_cpu
                cpu[name] = cpu.get(name, 0.0) + seconds
            await asyncio.to_thread(_stop, process)
        self._folder.cleanup()

    async def _request_start(self, _: Any, context: SimpleNamespace, __: Any) -> None:
        context.started = time.perf_counter()

    async def _request_end(self, _: Any, context: SimpleNamespace,
                           params: aiohttp.TraceRequestEndParams) -> None:
        seconds = time.perf_counter() - context.started
        url = str(params.url)
        if self.tsa and url.startswith(self.tsa_url):
            self.figures.tsa_http.append(seconds)
        elif self.witness and url.startswith(self.witness_url):
            self.figures.witness_http.append(seconds)

    @asynccontextmanager
    async def running(self, store: EventStore, log: LogStore, sequencer: Sequencer, *,
                      tsa: bool = True, witness: bool = True) -> AsyncIterator[None]:
        """The timestamper and witnesses workers over ``log`` for the block (those of the
        services started, and asked for by ``tsa`` and ``witness``), poked as ``sequencer``
        grows the log (the timestamper wakes on its own, every second)."""
        tsa, witness = tsa and self.tsa, witness and self.witness
        workers: list[LoopWorker] = []
        if tsa:
            settings = TimestampSettings(urls=(self.tsa_url,), ca_file=self.ca_file,
                                         interval_seconds=1)
            stamper = Stamper(settings, TsaClient(lambda: self.session),
                              timestamp_store_for(store), self.roots)
            timestamper = Timestamper(stamper, log, stamper.store,
                                      lambda: dt.datetime.now(dt.UTC))
            # the worker ledger serve runs, its step timed
            workers.append(LoopWorker(NAME, self._timed_stamp(timestamper),
                                      idle_seconds=min(1.0, settings.interval_seconds)))
        if witness:
            submitter = WitnessSubmitter(LogReader(log), cosignature_store_for(store),
                                         [(self.witness_url,
                                           parse_witness_vkey(self.witness_vkey))],
                                         lambda: self.session)
            submitter.states[0].size = self._witness_size
            witnesses = LoopWorker("witnesses", self._timed(submitter.step),
                                   idle_seconds=1.0, full=2, pace_seconds=PACE_SECONDS)
            sequencer.on_grown.append(witnesses.poke)
            workers.append(witnesses)
        for worker in workers:
            worker.gate = lambda: True
            await worker.start()
        try:
            yield
        finally:
            for worker in workers:
                await worker.stop()
            if witness:
                sequencer.on_grown.remove(witnesses.poke)
                self._witness_size = submitter.states[0].size
            for worker in workers:
                if worker.error is not None:
                    raise BenchError(f"{worker.name} stopped: {worker.error!r}")

    def _timed_stamp(self, timestamper: Timestamper) -> Callable[[], Awaitable[int]]:
        async def step() -> int:
            done = await timestamper.step()
            if done and timestamper.last is not None:
                self.figures.tsa_rounds.append(timestamper.last.seconds)
                self.figures.timestamped += 1
            return done
        return step

    def _timed(self, step: Callable[[], Awaitable[int]]) -> Callable[[], Awaitable[int]]:
        async def timed() -> int:
            started = time.perf_counter()
            done = await step()
            if done:
                self.figures.witness_rounds.append(time.perf_counter() - started)
                self.figures.cosigned += done
            return done
        return timed


async def interleaved(rounds: int, configurations: dict[str, Callable[[], Awaitable[T]]]
                      ) -> dict[str, list[T]]:
    """Each configuration once per round, in ABBA order; the results by name, in run order."""
    names = list(configurations)
    results: dict[str, list[T]] = {name: [] for name in names}
    for n in range(rounds):
        order = names if n % 2 == 0 else names[::-1]
        for name in order:
            print(f"  round {n + 1}/{rounds}: {name}...", flush=True)
            results[name].append(await configurations[name]())
    return results


def add_round_arguments(parser: argparse.ArgumentParser) -> None:
    """``--rounds`` and ``--each``, which both scripts' ``--trust`` takes."""
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds of --trust (5; 2 with --quick)")
    parser.add_argument("--each", action="store_true",
                        help="--trust: also rounds with the TSA only and the witness only")


def verdict_line(figure: str, neither: list[float], both: list[float], *,
                 higher_is_better: bool, unit: str) -> str:
    """``figure``'s median with neither and with both, their ratio, and the verdict against
    the 10% target (throughput may fall, or lag rise, by at most 10%)."""
    a, b = statistics.median(neither), statistics.median(both)
    ratio = b / a if a else float("nan")
    met = ratio >= 1 - TARGET if higher_is_better else ratio <= 1 + TARGET
    bound = f"≥ {1 - TARGET:.0%}" if higher_is_better else f"≤ {1 + TARGET:.0%}"
    rounds = ", ".join(f"{y / x:.0%}" if x else "n/a" for x, y in zip(neither, both, strict=True))
    best = max if higher_is_better else min
    return (f"{figure}: neither {a:,.2f} {unit}, TSA + witness {b:,.2f} {unit} (medians): "
            f"both / neither = {ratio:.1%} (target {bound}: {'met' if met else 'MISSED'}; "
            f"per round {rounds}; best of each {best(both) / best(neither):.1%})")


def _serve_tsa(folder: Path) -> None:
    """``benchtrust.py tsa FOLDER``: a throwaway CA and TSA in FOLDER, served until killed."""
    from tests.support.tsa import LocalTsa, make_pki

    async def serve() -> None:
        pki = make_pki(folder, label="bench")
        tsa = await LocalTsa(pki).start()
        print(f"ca file: {pki.ca_file}", flush=True)
        print(f"serving on {tsa.url}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "tsa":
        raise SystemExit("usage: benchtrust.py tsa FOLDER")
    _serve_tsa(Path(sys.argv[2]))
