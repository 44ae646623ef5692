"""The adapters over one database (event, log, principal, blob, projection and webhook
stores), opened without the rest of the composition root (ledger.bootstrap): what the CLI's
reading and admin commands need. Kept apart so that such a command (``ledger verify``) does not
import the server, the bundle renderer and the service layer before it can start.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.settings import Settings
from ledger.store.blob_factory import blob_store_for
from ledger.store.blob_port import BlobStore
from ledger.store.factory import log_store_for, open_store, principal_store_for
from ledger.store.log_port import LogStore
from ledger.store.port import EventStore
from ledger.store.principal_port import PrincipalStore
from ledger.store.projection_factory import projection_store_for
from ledger.store.projection_port import ProjectionStore
from ledger.store.webhook_factory import webhook_store_for
from ledger.store.webhook_port import WebhookStore


@dataclass
class Storage:
    """The adapters over one database: what the CLI's reading and admin commands need."""

    settings: Settings
    store: EventStore
    log: LogStore
    principals: PrincipalStore
    blobs: BlobStore
    projections: ProjectionStore
    webhooks: WebhookStore

    async def close(self) -> None:
        """Give up sequencer leadership, then release the database."""
        await self.log.resign()
        await self.store.close()


async def open_storage(settings: Settings, *, migrate: bool = False,
                       store: EventStore | None = None, log: LogStore | None = None,
                       principals: PrincipalStore | None = None,
                       blobs: BlobStore | None = None, operator: bool = False) -> Storage:
    """The adapters ``settings`` name (each one given replaces the default; the storage owns
    and closes ``store`` either way). With ``migrate``, the schema is created or upgraded.
    The database's waits are bound by ``settings.database_timeouts``; an ``operator``'s
    command (a verify, a rebuild, a restore) by its connect timeout only."""
    timeouts = settings.database_timeouts
    store = store if store is not None else await open_store(
        settings.database_url, timeouts.for_admin() if operator else timeouts)
    try:
        if migrate:
            await store.migrate()
        return Storage(settings, store,
                       log if log is not None else log_store_for(store),
                       principals if principals is not None else principal_store_for(store),
                       blobs if blobs is not None else blob_store_for(
                           store, settings.blob_store, settings.data_dir),
                       projection_store_for(store), webhook_store_for(store))
    except BaseException:
        await store.close()
        raise
