"""The dispatcher: delivers the outbox, at least once and in order per departure.

Each step claims (in a serial transaction, so two dispatchers never hold events of one
departure at once) the head of each subscription's queue per departure that is due, leases
it for the length of an attempt, sends the claimed messages side by side, then records each
attempt in the delivery log and either marks it delivered or schedules the next attempt with
exponential backoff and jitter (a receiver's Retry-After is honoured); after
``max_attempts`` consecutive failures it is a dead letter, which frees the departure's queue.
A receiver that takes a delivery that had failed is back: its other deliveries waiting out a
back-off after no answer or a 5xx are due at once (one receiver, one outage: the first success
ends it for all; a 429's rate limit is not an outage and keeps its wait).
A crash between sending and recording leaves the lease to expire: the message is sent again
(at least once; receivers deduplicate on ``webhook-id``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from ledger.entry import format_time
from ledger.log_format import fields
from ledger.store.webhook_port import SqlTx, WebhookStore
from ledger.webhooks import repository as repo
from ledger.webhooks.delivery import Outcome, post
from ledger.webhooks.destination import DestinationRefusedError, check_destination
from ledger.webhooks.formats import Outgoing, robot_request
from ledger.webhooks.settings import WebhookSettings
from ledger.webhooks.signing import standard_headers
from ledger.workers import LoopWorker, WorkerHealth

log = logging.getLogger("ledger.webhooks")

SessionFactory = Callable[[], Awaitable[aiohttp.ClientSession]]
LEASE_MARGIN = dt.timedelta(seconds=30)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def backoff(failures: int, settings: WebhookSettings, draw: float,
            retry_after: float | None = None) -> float:
    """Seconds until the next attempt after ``failures`` consecutive failures: the base
    doubled per failure, capped, then scaled by ``0.5 + draw / 2`` (``draw`` in [0, 1)) so
    receivers that failed together are not retried together."""
    delay = min(settings.retry_max_seconds,
                settings.retry_base_seconds * 2 ** min(failures - 1, 40))
    delay *= 0.5 + draw / 2
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.retry_max_seconds))
    return float(delay)


def secrets_in_force(claimed: dict[str, Any], now: dt.datetime) -> list[str]:
    """The current secret, and the rotated one while its grace period lasts."""
    found = [claimed["secret"]]
    if claimed["previous_secret"] and claimed["previous_until"] > format_time(now):
        found.append(claimed["previous_secret"])
    return found


def outgoing(claimed: dict[str, Any], now: dt.datetime) -> Outgoing:
    """The request for one claimed delivery, signed at ``now``."""
    body = str(claimed["body"]).encode()
    if claimed["format"] == "json":
        headers = standard_headers(claimed["id"], int(now.timestamp()), body,
                                   secrets_in_force(claimed, now))
        return Outgoing(claimed["url"], body, headers)
    return robot_request(claimed["format"], claimed["url"], claimed["secret"], body, now)


class Dispatcher:
    """The webhook dispatcher worker (Worker protocol)."""

    def __init__(self, db: WebhookStore, settings: WebhookSettings,
                 session_factory: SessionFactory,
                 clock: Callable[[], dt.datetime] = utc_now,
                 draw: Callable[[], float] = random.random, idle_seconds: float = 0.5) -> None:
        self.db = db
        self.settings = settings
        self._session_factory = session_factory
        self._session: aiohttp.ClientSession | None = None
        self.clock = clock
        self._draw = draw
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_seconds,
                                              sock_connect=settings.connect_timeout_seconds)
        self.worker = LoopWorker("webhooks:dispatcher", self.step, idle_seconds)

    @property
    def name(self) -> str:
        return self.worker.name

    async def start(self) -> None:
        await self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()
        await self.close()

    def health(self) -> WorkerHealth:
        return self.worker.health()

    async def close(self) -> None:
        """Close the HTTP session (if one was opened)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def step(self) -> int:
        """Attempt every delivery due now; the number attempted."""
        now = self.clock()
        lease = now + dt.timedelta(seconds=self.settings.timeout_seconds) + LEASE_MARGIN
        async with self.db.transaction(serial=True) as tx:
            claimed = await repo.claim(tx, format_time(now), format_time(lease),
                                       self.settings.batch)
        if not claimed:
            return 0
        if self._session is None:
            self._session = await self._session_factory()
        outcomes = await asyncio.gather(*(self._attempt(self._session, c) for c in claimed))
        async with self.db.transaction() as tx:
            for c, outcome in zip(claimed, outcomes, strict=True):
                await self._record(tx, c, outcome)
        return len(claimed)

    async def _attempt(self, session: aiohttp.ClientSession,
                       claimed: dict[str, Any]) -> Outcome:
        try:
            await check_destination(claimed["url"], self.settings)
        except DestinationRefusedError as e:
            return Outcome(False, None, 0, str(e), refused=True)
        return await post(session, outgoing(claimed, self.clock()), claimed["format"],
                          self._timeout)

    async def _record(self, tx: SqlTx, claimed: dict[str, Any], outcome: Outcome) -> None:
        now = self.clock()
        at = format_time(now)
        kind = "delivered" if outcome.delivered else "refused" if outcome.refused else "failed"
        failures = 0 if outcome.delivered else int(claimed["failures"]) + 1
        dead = failures >= self.settings.max_attempts
        # The delivery's ids and outcome only: never its URL (it may carry a receiver's
        # secret in its query) nor its signing secret.
        log.info("webhook delivery %s: %s", claimed["id"], kind, extra=fields(
            worker="webhooks:dispatcher", action="delivery", delivery_id=claimed["id"],
            subscription_id=claimed["subscription_id"], outcome="dead" if dead else kind,
            status_code=outcome.status_code, attempt=int(claimed["attempts"]) + 1,
            duration_ms=outcome.duration_ms))
        await repo.record_attempt(tx, claimed["id"], int(claimed["attempts"]) + 1, at,
                                  outcome.status_code, outcome.duration_ms, kind, outcome.error)
        if outcome.delivered:
            await repo.mark_delivered(tx, claimed["id"], at, outcome.status_code)
            if int(claimed["failures"]):  # back after failing: the others need not wait
                await repo.hasten(tx, claimed["subscription_id"], at)
            return
        wait = backoff(failures, self.settings, self._draw(), outcome.retry_after)
        await repo.mark_failed(tx, claimed["id"], "dead" if dead else "pending",
                               format_time(now + dt.timedelta(seconds=wait)),
                               outcome.status_code, outcome.error or kind)
        if outcome.gone:
            await repo.disable(tx, claimed["subscription_id"], at,
                               "the receiver answered 410 Gone")
