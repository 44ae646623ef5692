"""What the HTTP app needs of its process, and the application key handlers find it under.

The API defines this protocol and never imports the composition root: the root's Runtime
satisfies it, and ``ledger serve`` (or a test) is where the two meet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Protocol

from aiohttp import web

from ledger.bundle.export import BundleExporter
from ledger.metrics import Metrics
from ledger.service.ledger import Ledger
from ledger.settings import Settings
from ledger.store.auth_failure_port import AuthFailureStore
from ledger.store.blob_port import BlobStore
from ledger.store.cosignatures import CosignatureStore
from ledger.store.log_port import LogStore
from ledger.store.principal_port import PrincipalStore
from ledger.store.projection_port import ProjectionStore
from ledger.store.read_scope import WritePositions
from ledger.store.timestamp_port import TimestampStore
from ledger.store.webhook_port import WebhookStore
from ledger.tlog.note import Verifier
from ledger.transparency.reader import LogReader
from ledger.workers import WorkerHealth


class Workers(Protocol):
    """The process's background workers, as readiness sees them."""

    def health(self) -> list[WorkerHealth]:
        """Each worker's health, in start order."""
        ...


class Services(Protocol):
    """The parts of a process the handlers use (ledger.runtime.Runtime is one)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def log(self) -> LogStore: ...
    @property
    def reader(self) -> LogReader: ...
    @property
    def verifiers(self) -> Sequence[Verifier]: ...
    @property
    def principals(self) -> PrincipalStore: ...
    @property
    def blobs(self) -> BlobStore: ...
    @property
    def workers(self) -> Workers: ...
    @property
    def projections(self) -> ProjectionStore: ...
    @property
    def webhooks(self) -> WebhookStore: ...
    @property
    def exporter(self) -> BundleExporter: ...
    @property
    def cosignatures(self) -> CosignatureStore: ...
    @property
    def auth_failures(self) -> AuthFailureStore: ...
    @property
    def metrics(self) -> Metrics: ...
    @property
    def replica(self) -> WritePositions | None: ...
    @property
    def timestamps(self) -> TimestampStore | None: ...
    @property
    def clock(self) -> Callable[[], dt.datetime]: ...


RUNTIME: web.AppKey[Services] = web.AppKey("runtime")
