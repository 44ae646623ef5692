"""Each fuzz target of tests/fuzz/targets.py runs under atheris (libFuzzer, coverage-guided) in
a process of its own, bounded: ``FUZZ_SECONDS`` (default 6) of fuzzing or ``FUZZ_RUNS`` inputs
(default 200,000), whichever comes first, each input within 10 s and the process within
2 GiB. Seeds are real, valid inputs (tests/fuzz/seeds.py; for the bundle target, a bundle the
real exporter made), so the mutations start deep in each parser.

A crash (an exception outside the documented errors), a hang or memory past the limit fails
the test with libFuzzer's report and the input that did it; the inputs found so far are
replayed as regression tests in test_fuzz_regressions.py. Run one target longer by hand::

    FUZZ_SECONDS=600 .venv/bin/pytest tests/fuzz -k bundle -n0
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.seeds import write_seeds
from tests.support.bundle_cases import build_cases

ROOT = Path(__file__).resolve().parents[2]
SECONDS = int(os.environ.get("FUZZ_SECONDS", "6"))
RUNS = int(os.environ.get("FUZZ_RUNS", "200000"))
TARGETS = ("entry", "tile", "proof", "note", "multipart", "bundle")


@pytest.fixture(scope="module")
def exported_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, str]:
    folder = tmp_path_factory.mktemp("fuzz-bundle")
    cases = asyncio.run(build_cases(f"sqlite:///{folder}/ledger.db", folder))
    return cases.interim.data, cases.vkey


def run_target(target: str, seeds: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    artifacts = seeds.parent / f"{target}-artifacts"
    artifacts.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "tests.fuzz.targets", target, str(seeds), f"-runs={RUNS}",
         f"-max_total_time={SECONDS}", "-timeout=10", "-rss_limit_mb=2048",
         "-print_final_stats=1", f"-artifact_prefix={artifacts}/", *flags],
        cwd=ROOT, capture_output=True, text=True, timeout=SECONDS + 120, check=False)


@pytest.mark.parametrize("target", TARGETS)
def test_only_documented_errors_escape(target: str, tmp_path: Path,
                                       request: pytest.FixtureRequest) -> None:
    bundle = request.getfixturevalue("exported_bundle") if target == "bundle" else None
    seeds = write_seeds(tmp_path / target, target, bundle)
    done = run_target(target, seeds)
    report = "\n".join(line for line in done.stderr.splitlines()
                       if not line.startswith("INFO: Instrumenting"))[-8000:]
    assert done.returncode == 0, f"{target}: libFuzzer found a failure\n{report}"
    executed = [line for line in done.stderr.splitlines() if "stat::number_of_executed_units"
                in line]
    assert executed and int(executed[0].split(":")[-1]) > len(list(seeds.iterdir())), report
