"""The event-loop lag monitor: a stall of the loop is reported as lateness, an idle loop as
none to speak of."""

from __future__ import annotations

import asyncio
import time

from ledger.loop_lag import LoopLagMonitor
from ledger.metrics import Metrics


async def test_a_loop_held_by_synchronous_work_is_reported_late_by_that_long() -> None:
    seen: list[float] = []
    monitor = LoopLagMonitor(seen.append, interval=0.01)
    await monitor.start()
    await asyncio.sleep(0.05)
    time.sleep(0.2)  # noqa: ASYNC251 - the loop held, as a full collection over a large heap does
    await asyncio.sleep(0.05)
    await monitor.stop()
    assert max(seen) >= 0.15
    assert min(seen) < 0.05  # the wake-ups around it were on time


async def test_the_lag_is_counted_in_the_metrics_histogram() -> None:
    metrics = Metrics()
    monitor = LoopLagMonitor(metrics.observe_loop_lag, interval=0.01)
    await monitor.start()
    await asyncio.sleep(0.05)
    await monitor.stop()
    text = metrics.render().decode()
    count = next(line for line in text.splitlines()
                 if line.startswith("ledger_event_loop_lag_seconds_count"))
    assert float(count.split()[1]) >= 2
