"""A projection runner killed with SIGKILL in the middle of a batch resumes where its last
committed batch ended: every entry counted once, on both stores."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
from pathlib import Path

from ledger.bootstrap import bootstrap, open_storage
from ledger.demo_scenarios import play_all
from ledger.projections.runner import ProjectionRunner
from ledger.settings import Settings
from tests.conftest import TEST_ORIGIN, drain
from tests.support.counting import CountingProjector

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import asyncio, sys
from pathlib import Path
from ledger.bootstrap import open_storage
from ledger.projections.runner import ProjectionRunner
from ledger.settings import Settings
from tests.support.counting import CountingProjector

async def main() -> None:
    storage = await open_storage(Settings(database_url=sys.argv[1], data_dir=Path(sys.argv[2])))
    runner = ProjectionRunner(storage.projections, CountingProjector(slow=0.004), batch=40)
    while await runner.step():
        print("batch", flush=True)

asyncio.run(main())
"""


async def test_a_runner_killed_mid_batch_resumes_without_double_counting(
        database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path, key_dir=tmp_path / "keys",
                        log_origin=TEST_ORIGIN)
    runtime = await bootstrap(settings)
    try:
        await play_all(runtime.ledger, dt.date(2026, 11, 2), runtime.blobs, runtime.principals)
        await drain(runtime.sequencer)
        size = await runtime.projections.log_size()
    finally:
        await runtime.close()
    assert size > 200
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, database_url, str(tmp_path), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert child.stdout is not None
    first = await asyncio.wait_for(child.stdout.readline(), 60)
    assert first.strip() == b"batch"  # one batch committed ...
    await asyncio.sleep(0.08)  # ... and the next one half applied (40 events × 4 ms)
    child.send_signal(signal.SIGKILL)
    await asyncio.wait_for(child.wait(), 30)
    storage = await open_storage(settings)
    try:
        state = {s.name: s for s in await storage.projections.states()}["counting"]
        assert 40 <= state.position < size  # killed with some batches committed, not all
        counted = await storage.projections.fetch("SELECT sum(n) AS n FROM counting_g1")
        assert int(counted[0]["n"]) == state.position  # the half batch left nothing
        runner = ProjectionRunner(storage.projections, CountingProjector(), batch=40)
        await runner.catch_up()
        counted = await storage.projections.fetch("SELECT sum(n) AS n FROM counting_g1")
        assert int(counted[0]["n"]) == size  # every entry once
    finally:
        await storage.close()
