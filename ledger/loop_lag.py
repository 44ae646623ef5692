"""How late the event loop wakes: the time one synchronous piece of work (a full garbage
collection, a large JSON document, a hash over a big file) holds every request of the
process. A task sleeps ``interval`` seconds and reports how much later than asked it woke;
``ledger serve`` runs one and counts the figures in ``ledger_event_loop_lag_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

INTERVAL_SECONDS = 0.25  # four wake-ups a second: nothing next to a request's cost


class LoopLagMonitor:
    """Reports each wake-up's lateness, in seconds, to ``observe`` until stopped."""

    def __init__(self, observe: Callable[[float], None],
                 interval: float = INTERVAL_SECONDS) -> None:
        self._observe = observe
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Begin sampling in the background (once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="event-loop-lag")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time() + self._interval
            await asyncio.sleep(self._interval)
            self._observe(max(0.0, loop.time() - asked))

    async def stop(self) -> None:
        """Stop sampling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
