"""Background workers: one protocol for everything ``ledger serve`` runs beside the HTTP app
(the sequencer, the projection runner, the scheduler, the webhook dispatcher).

A worker is started once and stopped once; ``stop`` lets the current batch finish. ``health``
is cheap and synchronous: ``/readyz`` and ``ledger projections status`` read it. A worker that
stopped on an error stays stopped and says so (the error names what it stopped at); it never
skips past it. A PushbackError (the database busy or away, a full disk) is not such an error:
nothing was done, so the worker waits, backing off, and tries the same step again, unhealthy
until it succeeds. ``WorkerGroup`` starts workers in order and stops them in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ledger.errors import PushbackError
from ledger.log_format import fields

log = logging.getLogger("ledger.workers")
RETRY_FIRST_SECONDS = 0.5  # after a PushbackError; doubled per failure in a row, capped
RETRY_MAX_SECONDS = 5.0


@dataclass(frozen=True)
class WorkerHealth:
    """What a worker says of itself: ``ok`` False means it is not doing its work, either
    ``retrying`` (its storage refused it for now: it goes on by itself once that answers) or
    stopped (it needs an operator)."""

    name: str
    ok: bool
    detail: str
    retrying: bool = False


class Worker(Protocol):
    """Something that runs in the background of a process until stopped."""

    @property
    def name(self) -> str:
        """A stable name (``sequencer``, ``projection:board``, ``scheduler``)."""
        ...

    async def start(self) -> None:
        """Begin running (returns once the work runs in the background)."""
        ...

    async def stop(self) -> None:
        """Finish the current batch and return; a stopped worker may not be restarted."""
        ...

    def health(self) -> WorkerHealth:
        """How it is doing now."""
        ...


class LoopWorker:
    """A worker that runs ``step`` in a loop: ``step`` returns how much it did, and the loop
    waits ``idle_seconds`` (or until ``poke``) when it did nothing. An exception stops the
    loop and is kept for ``health``: the worker does not go on past what it cannot do.

    With ``full``, a step that did less than ``full`` found everything there was (a batch
    that was not full): the loop then waits for the next poke (or the idle interval) instead
    of running a step that would find nothing. A read model poked each time the log grows
    thus runs one batch per growth, not one plus an empty one; with ``pace_seconds``, at most
    one such batch in that interval.

    With a ``gate`` (ledger.leadership: this process leads the worker's role), a step runs
    only while ``gate()`` is true; meanwhile the worker stands by, healthy, waiting for a poke
    (the gate opening) or the idle interval."""

    def __init__(self, name: str, step: Callable[[], Awaitable[int]],
                 idle_seconds: float = 0.5, full: int | None = None,
                 pace_seconds: float = 0.0) -> None:
        self._name = name
        self._step = step
        self._idle_seconds = idle_seconds
        self._full = full
        # After a step that did something but was not full, wait at least this long before
        # the next one (pokes that arrive meanwhile are kept): under load, fewer and larger
        # batches, each with its fixed cost (a transaction, a row per item touched).
        self._pace = pace_seconds
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None
        self.waiting: PushbackError | None = None  # the step is retried after this error
        self._failures = 0
        self.detail = "not started"
        # Says the detail when asked (health, so /readyz), for a worker whose detail is a
        # matter of time ("next try in 3 s"); None: ``detail`` as the last step left it.
        self.describe: Callable[[], str | None] | None = None
        self.gate: Callable[[], bool] | None = None
        self.log_idle = False  # log a step that found nothing too (the scheduler's runs)

    @property
    def name(self) -> str:
        return self._name

    def poke(self) -> None:
        """Run the next step now instead of waiting out the idle interval."""
        self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self.detail = "running"
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            # Cleared before the step, so a poke that arrives during it runs the next step at
            # once (cleared after, that poke would be lost until the idle interval ran out).
            self._wake.clear()
            if self.gate is not None and not self.gate():
                await self._idle()  # another process leads this role
                continue
            started = time.perf_counter()
            try:
                done = await self._step()
            except PushbackError as e:  # nothing was done: wait, then try the same again
                await self._back_off(e)
                continue
            except Exception as e:  # kept and shown; the loop ends here
                self.error = e
                log.critical("worker %s stopped: %s", self._name, e,
                             extra=fields(worker=self._name, action="stopped"))
                return
            self.waiting, self._failures = None, 0
            if done or self.log_idle:  # a projection batch, a dispatcher step, a scheduler run
                log.info("worker %s: %d done", self._name, done, extra=fields(
                    worker=self._name, action="step", done=done,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1)))
            caught_up = done == 0 or (self._full is not None and done < self._full)
            if done and caught_up and self._pace:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._pace)
            if caught_up:
                await self._idle()

    async def _back_off(self, error: PushbackError) -> None:
        """Wait before retrying a step refused with ``error`` (pokes do not shorten it)."""
        self.waiting = error
        self._failures += 1
        wait = min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2 ** min(self._failures - 1, 10))
        log.warning("worker %s: %s; retrying in %.1fs", self._name, error, wait,
                    extra=fields(worker=self._name, action="retry"))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), wait)

    async def _idle(self) -> None:
        """Wait for a poke, a stop or the idle interval, whichever comes first."""
        waits = [asyncio.ensure_future(self._wake.wait()),
                 asyncio.ensure_future(self._stopping.wait())]
        _, pending = await asyncio.wait(waits, timeout=self._idle_seconds,
                                        return_when=asyncio.FIRST_COMPLETED)
        for w in pending:
            w.cancel()

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
        if self.error is None:
            self.detail = "stopped"

    def health(self) -> WorkerHealth:
        if self.error is not None:
            return WorkerHealth(self._name, False, f"stopped: {self.error}")
        if self.waiting is not None:
            return WorkerHealth(self._name, False, f"retrying: {self.waiting}", retrying=True)
        said = self.describe() if self.describe is not None and not (
            self._stopping.is_set()) else None
        detail = said or self.detail
        if self.gate is None or self._task is None or self._task.done():
            return WorkerHealth(self._name, True, detail)
        if not self.gate():
            return WorkerHealth(self._name, True, "standing by (another process leads)")
        return WorkerHealth(self._name, True, f"leading; {detail}")


class WorkerGroup:
    """The workers of one process: started in order, stopped in reverse."""

    def __init__(self, workers: Sequence[Worker] = ()) -> None:
        self.workers: list[Worker] = list(workers)

    async def start(self) -> None:
        for worker in self.workers:
            await worker.start()

    async def stop(self) -> None:
        for worker in reversed(self.workers):
            await worker.stop()

    def health(self) -> list[WorkerHealth]:
        return [w.health() for w in self.workers]
