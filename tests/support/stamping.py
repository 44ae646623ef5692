"""A served ledger with a real local TSA (tests/support/tsa.py) and a timestamper whose
clocks the test moves: what the timestamp and bundle-timestamp tests start from."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.timestamp.settings import TimestampSettings
from ledger.timestamp.worker import Timestamper
from tests.integration.http_fixtures import Api, serve
from tests.support.tsa import LocalTsa, Pki, make_pki


@dataclass
class Clock:
    """A wall clock and a monotonic clock the test moves forward."""

    offset: float = 0.0

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return time.monotonic() + self.offset


@dataclass
class Stamped:
    """The served ledger, its TSA and that TSA's PKI, the clocks and the timestamper."""

    api: Api
    tsa: LocalTsa
    pki: Pki
    clock: Clock
    timestamper: Timestamper


@contextlib.asynccontextmanager
async def stamping(tmp_path: Path, **settings: Any) -> AsyncIterator[Stamped]:
    """A served ledger with a local TSA, and a timestamper whose clocks the test moves."""
    pki = make_pki(tmp_path / "pki")
    tsa = await LocalTsa(pki).start()
    given = {"interval_seconds": 60, "retry_base_seconds": 5, "ready_max_age_seconds": 30,
             "export_wait_seconds": 1, **settings}
    clock = Clock()  # the runtime's clock too (what /readyz reads the time from)
    try:
        async with serve(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path, clock.now,
                         timestamps=TimestampSettings(urls=(tsa.url,), ca_file=pki.ca_file,
                                                      **given)) as api:
            runtime = api.runtime
            assert runtime.stamper is not None and runtime.timestamps is not None
            timestamper = Timestamper(runtime.stamper, runtime.log, runtime.timestamps,
                                      clock.now, clock.monotonic)
            yield Stamped(api, tsa, pki, clock, timestamper)
    finally:
        await tsa.stop()


