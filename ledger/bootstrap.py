"""The composition root (cosmicpython's ``bootstrap``): settings, clock, HTTP client and
adapters are chosen here, once, and every entry point builds through it: ``ledger serve``,
each CLI command group, the tests and the benchmarks. Tests override any part by keyword.

Two levels. ``open_storage`` (in ledger.storage, light to import) opens the adapters over one
database (event, log, principal and blob stores) and nothing else: no signing key is made or
bound, so the CLI's reading and admin commands never change the key folder. ``bootstrap``
adds the signing keys, the sequencer, the ledger and the process's workers.

A new background capability is one more worker in ``build_workers``: ``ledger serve`` starts
the group once the HTTP site is up and stops it, in reverse, on shutdown; ``/readyz`` reports
each worker's health.
"""

from __future__ import annotations

import aiohttp

from ledger.bundle.export import BundleExporter
from ledger.leadership import Leadership
from ledger.metrics import Metrics
from ledger.projections.board import BoardProjector
from ledger.projections.runner import ProjectionRunner
from ledger.runtime import Clock, Runtime
from ledger.scheduler import Scheduler
from ledger.service.cache import AggregateCache
from ledger.service.ledger import Ledger
from ledger.service.unit_of_work import utc_now
from ledger.settings import Settings
from ledger.storage import Storage
from ledger.storage import open_storage as open_storage  # re-exported: it moved there
from ledger.store.blob_port import BlobStore
from ledger.store.cosignatures import cosignature_store_for
from ledger.store.factory import sqlite_path, token_feed_for
from ledger.store.lease_factory import lease_store_for
from ledger.store.log_port import LogStore
from ledger.store.port import EventStore
from ledger.store.postgres_replica import ReplicaRoute, open_replica_route
from ledger.store.principal_port import PrincipalStore
from ledger.store.replica_stores import RoutedLogStore, RoutedProjectionStore
from ledger.store.timestamp_factory import timestamp_store_for
from ledger.timestamp.wiring import build_stamper, build_timestamper
from ledger.transparency.keys import ensure_signers, load_verifiers
from ledger.transparency.log_identity import bind_keys_to_log, refuse_new_database_for_bound_keys
from ledger.transparency.reader import LogReader
from ledger.transparency.sequencer import Sequencer
from ledger.transparency.sequencer_worker import SequencerWorker
from ledger.webhooks.wiring import build_webhooks
from ledger.witness.submitter import WitnessMetrics, WitnessSubmitter
from ledger.workday import WorkingCalendar
from ledger.workers import Worker, WorkerGroup


async def bootstrap(settings: Settings, *, migrate: bool = True, sequencer: bool = True,
                    clock: Clock = utc_now, calendar: WorkingCalendar | None = None,
                    http_client: aiohttp.ClientSession | None = None,
                    store: EventStore | None = None, log: LogStore | None = None,
                    principals: PrincipalStore | None = None,
                    blobs: BlobStore | None = None, operator: bool = False) -> Runtime:
    """Open everything; generates a signing key on first run (mode 0600). ``sequencer``
    False leaves the sequencer out of the worker group (``ledger serve --no-sequencer``:
    another process sequences). ConfigurationError when the keys already signed another
    database's log, or this database's log was begun under other keys
    (ledger.transparency.log_identity). ``operator``: as ``open_storage``."""
    sqlite_file = sqlite_path(settings.database_url)
    refuse_new_database_for_bound_keys(settings.key_dir, settings.database_url,
                                       sqlite_file is not None and not sqlite_file.exists())
    storage = await open_storage(settings, migrate=migrate, store=store, log=log,
                                 principals=principals, blobs=blobs, operator=operator)
    replica: ReplicaRoute | None = None
    try:
        await storage.blobs.sweep_abandoned()  # what a killed process's uploads left
        replica = await open_replica_route(storage.store, settings.read_database_url)
        signers = ensure_signers(settings.key_dir, settings.log_origin)
        await bind_keys_to_log(storage.log, settings.key_dir, signers, settings.log_origin,
                               settings.database_url)
        sequencing = Sequencer(storage.log, signers, settings.log_origin)
        metrics = Metrics()
        ledger = _ledger(settings, storage, sequencing, clock, calendar, metrics)
        board_projector = BoardProjector(settings.board_cache_size)
        board = ProjectionRunner(storage.projections, board_projector)
        await board.prepare()
        metrics.watch_caches(lambda: {"aggregates": ledger.cache.held()})
        metrics.watch_caches(board_projector.held)
        sequencing.on_grown.append(board.worker.poke)
        # The read side: boards, inboxes, the public log and bundles' proofs read through
        # these, on the replica within GET requests (ledger.store.read_scope).
        projections, reads = storage.projections, storage.log
        if replica is not None:
            projections = RoutedProjectionStore(storage.projections, replica)
            reads = RoutedLogStore(storage.log, replica)
        timestamps = timestamp_store_for(storage.store)
        # The TSA client reaches the runtime's HTTP client once the runtime exists (on the
        # first request, inside the running loop).
        stamper = build_stamper(settings.timestamps, timestamps, lambda: runtime.http_client(),
                                clock)
        exporter = BundleExporter(ledger, reads, storage.blobs, signers,
                                  settings.time_zone, clock, poke=sequencing.poke,
                                  stamper=stamper,
                                  stamp_wait_seconds=settings.timestamps.export_wait_seconds,
                                  cosignatures=cosignature_store_for(storage.store))
        runtime = Runtime(settings, storage.store, storage.log, ledger, LogReader(reads),
                          sequencing, load_verifiers(settings.key_dir), storage.principals,
                          storage.blobs, projections, storage.webhooks, board, clock,
                          exporter, http=http_client, replica=replica, metrics=metrics,
                          timestamps=timestamps, stamper=stamper)
        runtime.workers = WorkerGroup(build_workers(runtime, sequencer=sequencer))
        return runtime
    except BaseException:
        if replica is not None:
            await replica.close()
        await storage.store.close()
        raise


def _ledger(settings: Settings, storage: Storage, sequencing: Sequencer, clock: Clock,
            calendar: WorkingCalendar | None, metrics: Metrics) -> Ledger:
    if calendar is None:
        calendar = WorkingCalendar.for_setting(settings.working_calendar, settings.time_zone)
    return Ledger(storage.store, on_append=sequencing.poke, keys=storage.principals,
                  cache=AggregateCache(settings.aggregate_cache_size),
                  directory=storage.principals, links=storage.principals,
                  separation_of_duties=settings.separation_of_duties, calendar=calendar,
                  clock=clock, close_requires_confirmation=settings.close_requires_confirmation,
                  auto_apply_checklists=settings.auto_apply_checklists,
                  on_appended=metrics.appended_events)


def build_workers(runtime: Runtime, *, sequencer: bool = True) -> list[Worker]:
    """The workers this process runs beside the HTTP app, in start order (stopped in
    reverse). A later worker (projection runner, scheduler, webhook dispatcher) is appended
    here, built from ``runtime``'s parts. On PostgreSQL the leadership worker comes first
    (stopped last): the read models, the dispatcher and the scheduler run only while this
    process leads them (ledger.leadership); the sequencer leads on its own lock. Workers read
    outside any request's read scope, so always from the primary (ledger.store.read_scope);
    the replica monitor runs in every process (each watches its own replica)."""
    workers: list[Worker] = []
    if (feed := token_feed_for(runtime.principals)) is not None:
        workers.append(feed)  # verified tokens are cached while it runs
    if sequencer:
        workers.append(SequencerWorker(runtime.sequencer))
    # The runtime's clock (bootstrap's ``clock``) times the outbox's rows and the dispatcher's
    # attempts and back-off, so a test can move a receiver's outage through simulated hours.
    outbox, dispatcher = build_webhooks(runtime.store, runtime.projections,
                                        runtime.settings.webhooks, clock=runtime.clock)
    runtime.sequencer.on_grown.append(outbox.worker.poke)
    workers += [runtime.board.worker, outbox.worker, dispatcher]
    led = [runtime.board.worker, outbox.worker, dispatcher.worker]
    if runtime.settings.scheduler:
        scheduler = Scheduler(runtime.ledger, runtime.projections).worker
        workers.append(scheduler)
        led.append(scheduler)
    if runtime.stamper is not None and runtime.timestamps is not None:
        timestamper = build_timestamper(runtime.stamper, runtime.log, runtime.timestamps,
                                        runtime.clock).worker
        workers.append(timestamper)
        led.append(timestamper)
    grown = [runtime.board.worker.poke, outbox.worker.poke]
    if runtime.settings.witnesses.urls:  # asks witnesses to cosign each new checkpoint
        witnesses = _witness_submitter(runtime).worker
        runtime.sequencer.on_grown.append(witnesses.poke)
        workers.append(witnesses)
        led.append(witnesses)
        grown.append(witnesses.poke)
    if runtime.replica is not None:
        workers.append(runtime.replica.worker)
    leases = lease_store_for(runtime.store)
    if leases is None:  # SQLite: this process serves the file alone and leads every role
        for worker in led:
            worker.gate = _sole
        return workers
    # Several processes may share a PostgreSQL database: one leads each role, the others
    # stand by; a log grown by another process's sequencer wakes the read models here.
    leadership = Leadership(leases)
    for worker in led:
        leadership.lead(worker)
    leadership.on_log_grown += grown
    return [leadership, *workers]


def _witness_submitter(runtime: Runtime) -> WitnessSubmitter:
    """The worker that asks LEDGER_WITNESS_URLS to cosign each new checkpoint; it reads the
    log on the primary (a replica may not hold the newest checkpoint's hashes yet)."""
    settings = runtime.settings.witnesses
    return WitnessSubmitter(LogReader(runtime.log), runtime.cosignatures, settings.witnesses(),
                            runtime.http_client, timeout=settings.timeout_seconds,
                            retry_max=settings.retry_max_seconds,
                            metrics=WitnessMetrics(runtime.metrics.registry))


def _sole() -> bool:
    """The gate of a role the process leads alone (SQLite: ledger.store.sqlite_owner)."""
    return True


def projection_runners(storage: Storage) -> dict[str, ProjectionRunner]:
    """Every read model's runner by name (``ledger projections``)."""
    outbox, _ = build_webhooks(storage.store, storage.projections, storage.settings.webhooks)
    board = BoardProjector(storage.settings.board_cache_size)
    runners = [ProjectionRunner(storage.projections, board), outbox]
    return {runner.projector.name: runner for runner in runners}
