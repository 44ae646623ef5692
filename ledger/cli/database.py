"""``ledger migrate`` and ``ledger demo``: make a database ready, or fill it with the seeds."""

from __future__ import annotations

import argparse
import datetime as dt

from ledger.cli.common import Subparsers, out, storage
from ledger.settings import Settings
from ledger.store.factory import sqlite_path
from ledger.transparency.keys import ensure_signers
from ledger.transparency.log_identity import bind_keys_to_log, refuse_new_database_for_bound_keys

COMMANDS = ("migrate", "demo")
"""The commands ``register`` adds (``ledger.cli`` builds only the group a command needs)."""


def register(sub: Subparsers) -> None:
    """Add ``migrate`` and ``demo``."""
    migrate_parser = sub.add_parser("migrate", help="create or upgrade the schema")
    migrate_parser.add_argument(
        "--keys", action="store_true",
        help="also make a signing key if the key folder has none and bind the folder to this "
        "database's log, as `ledger serve` does on first start (so the service may then "
        "mount the folder read-only)")
    migrate_parser.set_defaults(run=migrate)
    sub.add_parser("demo", help="play the seed scenarios into the database").set_defaults(
        run=demo)


async def migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Create or upgrade the schema and install the built-in templates."""
    from ledger.service.ledger import Ledger

    if args.keys:
        refuse_new_database_for_bound_keys(settings.key_dir, settings.database_url,
                                           _new_sqlite(settings))
    async with storage(settings, migrate=True) as opened:
        installed = await Ledger(opened.store).install_builtin_templates()
        if args.keys:
            signers = ensure_signers(settings.key_dir, settings.log_origin)
            await bind_keys_to_log(opened.log, settings.key_dir, signers,
                                   settings.log_origin, settings.database_url)
            out.print(f"signing keys in {settings.key_dir} bound to this database's log")
    changed = [r for r in installed if r["changed"]]
    out.print(f"schema up to date; {len(changed)} built-in template(s) installed or revised")
    return 0


def _new_sqlite(settings: Settings) -> bool:
    path = sqlite_path(settings.database_url)
    return path is not None and not path.exists()


async def demo(args: argparse.Namespace, settings: Settings) -> int:
    """Play the seed scenarios through the composition root (the ledger as `serve` builds it:
    its calendar, checklist and confirmation settings, its keys), then sequence them into the
    log, so that `ledger verify` right after checks every event, not a queue."""
    from ledger.bootstrap import bootstrap
    from ledger.demo_scenarios import play_all

    runtime = await bootstrap(settings, operator=True)
    try:
        played = await play_all(runtime.ledger, dt.date.today(), runtime.blobs,
                                runtime.principals)
        for name, departure_id in played.items():
            out.print(f"{name:32} departure {departure_id}")
        while await runtime.sequencer.step():
            pass
        checkpoint = await runtime.log.latest_checkpoint()
        out.print(f"{await runtime.store.count_events()} events in the ledger, "
                  f"{checkpoint.size if checkpoint else 0} in its signed log")
    finally:
        await runtime.close()
    return 0
