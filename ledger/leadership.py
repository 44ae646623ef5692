"""Leadership of the background roles when several ``ledger serve`` processes share one
PostgreSQL database (the sequencer leads on its own lock: ledger.transparency.sequencer).

Each process runs one ``Leadership`` worker, started before the workers it leads and stopped
after them. Every ``RETRY_SECONDS`` it checks its database session (ledger.store.lease_port)
and tries to take each role it does not hold: the first process to ask leads a role and the
others stand by. A leader killed outright loses its session, the server releases its locks,
and a standby takes each role at its next try: within ``RETRY_SECONDS`` plus the time the
server takes to see the connection closed (immediate when the process dies: its sockets are
closed by the kernel). A session that stops answering costs its process every role at once
(it steps down before another can take over). A led worker that stopped on an error gives
its role up, so another process tries (and, if the error is in the data, stops on it too).

A led worker is a ``LoopWorker`` whose gate is this process's hold on its role: standing by
is healthy, and ``/readyz`` says which it is doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from ledger.store.lease_port import LeaseStore
from ledger.workers import LoopWorker, WorkerHealth

log = logging.getLogger("ledger.leadership")
RETRY_SECONDS = 1.0


class Leadership:
    """Takes, keeps and gives up this process's roles (Worker protocol)."""

    name = "leadership"

    def __init__(self, leases: LeaseStore, retry_seconds: float = RETRY_SECONDS) -> None:
        self._leases = leases
        self._retry = retry_seconds
        self._led: dict[str, LoopWorker] = {}
        self._held: set[str] = set()
        self._open = False
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._problem: str | None = None
        # Called each time the log grows in any process (the read models' pokes).
        self.on_log_grown: list[Callable[[], None]] = []

    def lead(self, worker: LoopWorker) -> None:
        """Run ``worker``'s steps only while this process leads the role named as it."""
        role = worker.name
        self._led[role] = worker
        worker.gate = lambda: role in self._held

    def leads(self, role: str) -> bool:
        """Whether this process leads ``role`` now."""
        return role in self._held

    async def start(self) -> None:
        if self._task is None:
            await self._turn()  # a lone process leads from its first step
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._retry)
            if not self._stopping.is_set():
                await self._turn()

    async def _turn(self) -> None:
        try:
            if self._open:
                await self._leases.check()
            else:
                await self._leases.open(self._lost, self._grown)
                self._open = True
            for role, worker in self._led.items():
                await self._settle(role, worker)
            self._problem = None
        except Exception as e:  # the session is gone or unusable: every role goes with it
            self._problem = f"no database session ({type(e).__name__}); retrying"
            log.warning("leadership session failed, standing by: %r", e)
            self._lost()
            self._open = False
            await self._close_quietly()

    async def _settle(self, role: str, worker: LoopWorker) -> None:
        # A worker retrying (its storage away or full for now) keeps its role: the trouble is
        # everyone's, and giving the role up would leave it to nobody once the worker is
        # unhealthy here. Only one stopped on an error gives it up.
        health = worker.health()
        stopped = not health.ok and not health.retrying
        if role in self._held and stopped:
            log.warning("giving up %s: its worker stopped on an error", role)
            self._held.discard(role)
            await self._leases.give_up(role)
        elif role not in self._held and not stopped and await self._leases.try_take(role):
            log.info("leading %s", role)
            self._held.add(role)
            worker.poke()

    def _lost(self) -> None:
        if self._held:
            log.warning("stepped down from %s: the leadership session ended",
                        ", ".join(sorted(self._held)))
            self._held.clear()

    def _grown(self) -> None:
        for listener in self.on_log_grown:
            listener()

    async def _close_quietly(self) -> None:
        try:
            await self._leases.close()
        except Exception as e:  # closing a broken session: it is gone either way
            log.info("closing the leadership session failed: %r", e)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
        self._held.clear()
        self._open = False
        await self._close_quietly()

    def health(self) -> WorkerHealth:
        if self._problem is not None:
            return WorkerHealth(self.name, True, self._problem)
        if self._task is None:
            return WorkerHealth(self.name, True, "not started")
        leading = sorted(self._held)
        standing = sorted(set(self._led) - self._held)
        parts = ([f"leading {', '.join(leading)}"] if leading else []) + (
            [f"standing by for {', '.join(standing)}"] if standing else [])
        return WorkerHealth(self.name, True, "; ".join(parts) or "nothing to lead")
