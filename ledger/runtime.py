"""The composition root: open the store, the log and the keys a Settings object names."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.projections.board import BoardProjector
from ledger.projections.runner import ProjectionRunner
from ledger.service.ledger import Ledger
from ledger.settings import Settings
from ledger.store.blob_factory import blob_store_for
from ledger.store.blob_port import BlobStore
from ledger.store.factory import log_store_for, open_store, principal_store_for, sqlite_path
from ledger.store.log_port import LogStore
from ledger.store.port import EventStore
from ledger.store.principal_port import PrincipalStore
from ledger.store.projection_factory import projection_store_for
from ledger.store.projection_port import ProjectionStore
from ledger.tlog.note import Verifier
from ledger.transparency.keys import ensure_signers, load_verifiers
from ledger.transparency.log_identity import bind_keys_to_log, refuse_new_database_for_bound_keys
from ledger.transparency.reader import LogReader
from ledger.transparency.sequencer import Sequencer
from ledger.workday import WorkingCalendar


@dataclass
class Runtime:
    """Everything a process needs, wired once at the entry point."""

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
    board: ProjectionRunner

    async def close(self) -> None:
        """Give up sequencer leadership, then release the database."""
        await self.log.resign()
        await self.store.close()


async def open_runtime(settings: Settings, migrate: bool = True) -> Runtime:
    """Open everything; generates a signing key on first run (mode 0600). ConfigurationError
    when the keys already signed another database's log, or this database's log was begun
    under other keys (ledger.transparency.log_identity)."""
    sqlite_file = sqlite_path(settings.database_url)
    refuse_new_database_for_bound_keys(settings.key_dir, settings.database_url,
                                       sqlite_file is not None and not sqlite_file.exists())
    store = await open_store(settings.database_url)
    try:
        if migrate:
            await store.migrate()
        blobs = blob_store_for(store, settings.blob_store, settings.data_dir)
        signers = ensure_signers(settings.key_dir, settings.log_origin)
        log = log_store_for(store)
        await bind_keys_to_log(log, settings.key_dir, signers, settings.log_origin,
                               settings.database_url)
        sequencer = Sequencer(log, signers, settings.log_origin)
        principals = principal_store_for(store)
        ledger = Ledger(store, on_append=sequencer.poke, keys=principals, directory=principals,
                        separation_of_duties=settings.separation_of_duties,
                        calendar=WorkingCalendar.for_setting(settings.working_calendar,
                                                             settings.time_zone),
                        close_requires_confirmation=settings.close_requires_confirmation,
                        auto_apply_checklists=settings.auto_apply_checklists)
        projections = projection_store_for(store)
        board = ProjectionRunner(projections, BoardProjector())
        await board.prepare()
        sequencer.on_grown.append(board.worker.poke)
        return Runtime(settings, store, log, ledger, LogReader(log), sequencer,
                       load_verifiers(settings.key_dir), principals,
                       blobs, projections, board)
    except BaseException:
        await store.close()
        raise
