"""What a process holds once the composition root (ledger.bootstrap) has wired it."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from ledger.bundle.export import BundleExporter
from ledger.metrics import Metrics
from ledger.projections.runner import ProjectionRunner
from ledger.service.ledger import Ledger
from ledger.settings import Settings
from ledger.storage import Storage as Storage  # re-exported: it moved there
from ledger.store.auth_failure_factory import auth_failure_store_for
from ledger.store.auth_failure_port import AuthFailureStore
from ledger.store.blob_port import BlobStore
from ledger.store.cosignatures import CosignatureStore, cosignature_store_for
from ledger.store.log_port import LogStore
from ledger.store.port import EventStore
from ledger.store.postgres_replica import ReplicaRoute
from ledger.store.principal_port import PrincipalStore
from ledger.store.projection_port import ProjectionStore
from ledger.store.timestamp_port import TimestampStore
from ledger.store.webhook_port import WebhookStore
from ledger.timestamp.stamper import Stamper
from ledger.tlog.note import Verifier
from ledger.transparency.reader import LogReader
from ledger.transparency.sequencer import Sequencer
from ledger.workers import WorkerGroup

Clock = Callable[[], dt.datetime]
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)


@dataclass
class Runtime:
    """Everything a process needs, wired once at the entry point. ``workers`` run beside the
    HTTP app (``ledger serve`` starts them once it serves and stops them on shutdown)."""

    settings: Settings
    store: EventStore
    log: LogStore
    ledger: Ledger
    reader: LogReader
    sequencer: Sequencer
    verifiers: list[Verifier]
    principals: PrincipalStore
    blobs: BlobStore
    projections: ProjectionStore
    webhooks: WebhookStore
    board: ProjectionRunner  # the board read model's runner (its worker is in ``workers``)
    clock: Clock
    exporter: BundleExporter  # evidence bundles, signed with the sequencer's keys
    workers: WorkerGroup = field(default_factory=WorkerGroup)
    metrics: Metrics = field(default_factory=Metrics)  # this process's (ledger.metrics)
    http: aiohttp.ClientSession | None = None  # made on first use by ``http_client``
    # LEDGER_READ_DATABASE_URL's streaming replica: ``projections``, ``reader`` and the
    # exporter's log reads go through it (``log`` and everything else stay on the primary)
    replica: ReplicaRoute | None = None
    # RFC 3161 timestamps over checkpoints (ledger.timestamp): where they are kept (served by
    # GET /log/checkpoint/{size}/timestamps), and, with LEDGER_TSA_URLS, what obtains them
    timestamps: TimestampStore | None = None
    stamper: Stamper | None = None

    @functools.cached_property
    def auth_failures(self) -> AuthFailureStore:
        """Failed authentications (api.ratelimit), on the primary every process shares."""
        return auth_failure_store_for(self.store)

    @functools.cached_property
    def cosignatures(self) -> CosignatureStore:
        """The witness cosignatures of the log's checkpoints (ledger.witness), on the primary."""
        return cosignature_store_for(self.store)

    def http_client(self) -> aiohttp.ClientSession:
        """The process's one outbound HTTP client (webhooks, TSAs), created on first use (inside the
        running event loop) and closed with the runtime."""
        if self.http is None:
            self.http = aiohttp.ClientSession(timeout=HTTP_TIMEOUT)
        return self.http

    async def close(self) -> None:
        """Stop the report renderer's processes, close the HTTP client, give up sequencer
        leadership, then release the database. The workers are stopped first, by whoever
        started them."""
        try:
            await self.exporter.close()
            if self.http is not None:
                await self.http.close()
        finally:
            await self.log.resign()
            if self.replica is not None:
                await self.replica.close()
            await self.store.close()
