"""A ledger to back up and restore: settings for a database and data folder, the seed
scenarios played into it (events with evidence files), more events appended and sequenced."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from ledger.demo_scenarios import play_all
from ledger.runtime import Runtime
from ledger.settings import Settings
from tests.support.events import chain

ORIGIN = "backup-test.localhost/log"


def settings_for(database_url: str, data_dir: Path) -> Settings:
    """The settings ``ledger serve`` would read for this database and data folder."""
    return Settings.from_env({"LEDGER_DATABASE_URL": database_url,
                              "LEDGER_DATA_DIR": str(data_dir), "LEDGER_LOG_ORIGIN": ORIGIN})


async def play_seeds(runtime: Runtime) -> None:
    """The demo's scenarios (uploads among them), sequenced into the signed log."""
    await runtime.ledger.install_builtin_templates()
    await play_all(runtime.ledger, dt.date.today(), runtime.blobs, runtime.principals)
    await sequence(runtime)


async def sequence(runtime: Runtime) -> None:
    """Sequence everything committed and sign a checkpoint over it."""
    while await runtime.sequencer.step():
        pass


async def append_events(runtime: Runtime, count: int, *, stream_size: int = 10) -> None:
    """``count`` more chained events (comments on fresh item streams), appended as the
    service appends, then sequenced."""
    while count > 0:
        events = chain(uuid.uuid4(), min(stream_size, count))
        await runtime.store.append(events)
        count -= len(events)
    await sequence(runtime)


async def published_checkpoint(runtime: Runtime, folder: Path, name: str) -> Path:
    """The log's latest signed checkpoint, as /log/checkpoint serves it, saved to a file."""
    latest = await runtime.log.latest_checkpoint()
    assert latest is not None
    path = folder / name
    path.write_bytes(latest.note)
    return path
