"""The sequencer as a worker (ledger.workers): what ``ledger serve`` runs beside the HTTP app.

``start`` sequences one batch first (a new, empty log gets its signed checkpoint of size 0
before anyone asks for it), then leads in the background; ``stop`` lets the current batch
commit and gives up leadership. Database trouble costs the loop a pause, never its life
(Sequencer.run); a refusal to sign ends it, and ``health`` then says so until a restart.
"""

from __future__ import annotations

import asyncio
import logging

from ledger.transparency.sequencer import Sequencer
from ledger.workers import WorkerHealth

log = logging.getLogger("ledger.sequencer")
STOP_TIMEOUT = 30.0  # seconds the current batch may take to commit on shutdown


class SequencerWorker:
    """Runs one Sequencer's loop from ``start`` to ``stop``."""

    def __init__(self, sequencer: Sequencer, stop_timeout: float = STOP_TIMEOUT) -> None:
        self.sequencer = sequencer
        self._stop_timeout = stop_timeout
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return "sequencer"

    async def start(self) -> None:
        if self._task is not None:
            return
        await self.sequencer.step()
        self._task = asyncio.create_task(self.sequencer.run(self._stopping), name=self.name)
        self._task.add_done_callback(_report_end)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is None:
            return
        _, pending = await asyncio.wait([self._task], timeout=self._stop_timeout)
        for task in pending:  # a batch that would not commit in time: abandon it
            task.cancel()
            await asyncio.wait([task])

    def health(self) -> WorkerHealth:
        task = self._task
        if task is None:
            return WorkerHealth(self.name, True, "not started")
        if not task.done():
            if self._stopping.is_set():
                return WorkerHealth(self.name, True, "stopping")
            return WorkerHealth(self.name, True, "leading" if self.sequencer.leading
                                else "standing by (another process sequences)")
        if not task.cancelled() and (error := task.exception()) is not None:
            return WorkerHealth(self.name, False, f"stopped: {error}")
        return WorkerHealth(self.name, True, "stopped")


def _report_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.critical("the sequencer stopped: %r; the log no longer grows until restart",
                     task.exception())
