"""The timestamper: a worker (ledger.workers) that has the newest checkpoint timestamped, at
most once per ``LEDGER_TSA_INTERVAL_SECONDS``.

Each step looks at the newest checkpoint: when it has no token yet and the newest token is at
least an interval old (by the store's clock, so a restart or another process leading next does
not stamp sooner), it asks the authorities (ledger.timestamp.stamper). A round that got no
token is retried with backoff (doubling from ``retry_base_seconds`` up to
``retry_max_seconds``); when the authorities come back, the worker catches up with the newest
checkpoint then, which covers every earlier one by the log's consistency. Nothing here holds a
lock or a transaction the writers or the sequencer wait for: a TSA failure never blocks writes.
On PostgreSQL one process leads this role (ledger.leadership), like the read models.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from ledger.errors import LedgerError
from ledger.store.log_port import LogStore
from ledger.store.timestamp_port import TimestampStore
from ledger.timestamp.stamper import Stamper, StampOutcome
from ledger.workers import LoopWorker

NAME = "timestamper"


class Timestamper:
    """The worker's step and its retry state; ``worker`` is what ``ledger serve`` runs."""

    def __init__(self, stamper: Stamper, log: LogStore, store: TimestampStore,
                 now: Callable[[], dt.datetime],
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.stamper = stamper
        self.log = log
        self.store = store
        self.settings = stamper.settings
        self._now = now
        self._monotonic = monotonic
        self._failures = 0
        self._retry_at = 0.0
        self.last: StampOutcome | None = None  # the last round that asked an authority
        self.worker = LoopWorker(NAME, self.step,
                                 idle_seconds=min(1.0, self.settings.interval_seconds))
        self.worker.detail = "waiting for the first checkpoint"
        self.worker.describe = self.describe
        self._stamped: tuple[int, dt.datetime] | None = None  # size, when (this clock)
        self._failing: tuple[int, dt.datetime] | None = None  # size, first failed round

    async def step(self) -> int:
        """Timestamp the newest checkpoint if it is due; 1 when a token was stored."""
        if self._monotonic() < self._retry_at:
            return 0
        latest = await self.log.latest_checkpoint()
        if latest is None:
            return 0
        newest = await self.store.newest()
        if newest is not None and newest.size >= latest.size:
            return 0
        if newest is not None and newest.recorded_at is not None:
            waited = (self._now() - newest.recorded_at).total_seconds()
            if waited < self.settings.interval_seconds:
                return 0  # at most one timestamp per interval
        try:
            outcome = await self.stamper.stamp(latest, self.settings.timeout_seconds)
        except LedgerError as e:  # the token could not be stored (the database): retry later
            outcome = StampOutcome(latest.size, failures=[f"could not store a token: {e}"])
        self.last = outcome
        if outcome.stamps:
            self._failures = 0
            self._retry_at = 0.0
            self._stamped, self._failing = (latest.size, self._now()), None
            self.worker.detail = (f"checkpoint {latest.size} timestamped "
                                  f"({len(outcome.stamps)} token(s))")
            return 1
        self._failures += 1
        self._failing = (latest.size, self._failing[1] if self._failing else self._now())
        backoff = min(self.settings.retry_max_seconds,
                      self.settings.retry_base_seconds * 2 ** (self._failures - 1))
        self._retry_at = self._monotonic() + backoff
        self.worker.detail = (f"no authority answered for checkpoint {latest.size} "
                              f"({self._failures} round(s)); next try in {backoff:g} s")
        return 0

    def describe(self) -> str | None:
        """The worker's detail as of now (asked by /readyz through the worker's health), not
        as of its last step: how long ago the last token came, or how long the authorities
        have failed and when the next try is. None before the first round."""
        now = self._now()
        if self._failing is not None:
            size, since = self._failing
            wait = max(0.0, self._retry_at - self._monotonic())
            return (f"no authority answered for checkpoint {size} for "
                    f"{_seconds(now, since)} s ({self._failures} round(s)); "
                    f"next try in {wait:.0f} s")
        if self._stamped is not None:
            size, at = self._stamped
            return f"checkpoint {size} timestamped {_seconds(now, at)} s ago"
        return None


def _seconds(now: dt.datetime, then: dt.datetime) -> int:
    return max(0, round((now - then).total_seconds()))
