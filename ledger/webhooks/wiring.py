"""What the composition root needs to run webhooks: the outbox projection's runner and the
dispatcher worker, built from the process's store, projection store and settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import aiohttp

from ledger.projections.runner import ProjectionRunner
from ledger.store.port import EventStore
from ledger.store.projection_port import ProjectionStore
from ledger.store.webhook_factory import webhook_store_for
from ledger.webhooks.destination import GuardedResolver
from ledger.webhooks.dispatcher import Dispatcher, SessionFactory, utc_now
from ledger.webhooks.outbox import OutboxProjector
from ledger.webhooks.settings import WebhookSettings


def guarded_session_factory(settings: WebhookSettings) -> SessionFactory:
    """Sessions whose connections go only to addresses the allow-list lets through, and that
    ignore proxy variables (a proxy would connect on our behalf, unchecked)."""
    async def open_session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(resolver=GuardedResolver(settings),
                                         use_dns_cache=False, limit=settings.batch)
        return aiohttp.ClientSession(connector=connector, trust_env=False)
    return open_session


class OutboxRunner(ProjectionRunner):
    """The outbox projection's runner; wakes the dispatcher once a batch queued something."""

    def __init__(self, store: ProjectionStore, projector: OutboxProjector,
                 on_queued: Callable[[], None]) -> None:
        self.outbox = projector
        self._on_queued = on_queued
        super().__init__(store, projector)

    async def step(self) -> int:
        before = self.outbox.queued
        done = await super().step()
        if self.outbox.queued > before:
            self._on_queued()
        return done


def build_webhooks(store: EventStore, projections: ProjectionStore, settings: WebhookSettings,
                   session_factory: SessionFactory | None = None,
                   clock: Callable[[], dt.datetime] = utc_now) -> tuple[OutboxRunner, Dispatcher]:
    """The outbox runner (run its ``worker``; poke it when the log grows, as the board's)
    and the dispatcher (a Worker). Without ``session_factory`` the dispatcher opens a
    guarded session of its own."""
    dispatcher = Dispatcher(webhook_store_for(store), settings,
                            session_factory or guarded_session_factory(settings), clock=clock)
    runner = OutboxRunner(projections, OutboxProjector(clock), dispatcher.worker.poke)
    return runner, dispatcher
