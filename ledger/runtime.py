"""The composition root: open the store, the log and the keys a Settings object names."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.blobs import BlobStore
from ledger.service.ledger import Ledger
from ledger.settings import Settings
from ledger.store.factory import log_store_for, open_store, principal_store_for
from ledger.store.log_port import LogStore
from ledger.store.port import EventStore
from ledger.store.principal_port import PrincipalStore
from ledger.tlog.note import Verifier
from ledger.transparency.keys import ensure_signers, load_verifiers
from ledger.transparency.reader import LogReader
from ledger.transparency.sequencer import Sequencer


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

    async def close(self) -> None:
        """Give up sequencer leadership, then release the database."""
        await self.log.resign()
        await self.store.close()


async def open_runtime(settings: Settings, migrate: bool = True) -> Runtime:
    """Open everything; generates a signing key on first run (mode 0600)."""
    store = await open_store(settings.database_url)
    try:
        if migrate:
            await store.migrate()
        signers = ensure_signers(settings.key_dir, settings.log_origin)
        log = log_store_for(store)
        sequencer = Sequencer(log, signers, settings.log_origin)
        principals = principal_store_for(store)
        ledger = Ledger(store, on_append=sequencer.poke, keys=principals, directory=principals,
                        separation_of_duties=settings.separation_of_duties)
        return Runtime(settings, store, log, ledger, LogReader(log), sequencer,
                       load_verifiers(settings.key_dir), principals,
                       BlobStore(settings.data_dir / "blobs"))
    except BaseException:
        await store.close()
        raise
