"""``ledger backup`` and ``ledger restore``: the whole ledger to a folder and back."""

from __future__ import annotations

import argparse
import base64
import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from ledger.cli.common import Subparsers, err, out, require_existing_ledger, verifier_key_text
from ledger.settings import Settings
from ledger.tlog.checkpoint import parse_checkpoint

COMMANDS = ("backup", "restore")
"""The commands ``register`` adds (``ledger.cli`` builds only the group a command needs)."""


def register(sub: Subparsers) -> None:
    """Add ``backup`` and ``restore``."""
    backup = sub.add_parser("backup", help="copy the running ledger (database, evidence "
                            "files; keys only if asked) to a new folder")
    backup.add_argument("dest", type=Path, help="the backup folder to create (must not exist)")
    backup.add_argument("--include-keys", action="store_true",
                        help="also copy the signing key folder (files 0600); keep such a "
                             "backup as safe as the keys themselves")
    backup.add_argument("--database", dest="target_database", help="database URL (as the "
                        "global --database)")
    backup.set_defaults(run=backup_command)
    restore = sub.add_parser("restore", help="restore a backup folder into an empty "
                             "database, then verify it (exit 1: it did not verify)")
    restore.add_argument("source", type=Path, help="the folder `ledger backup` wrote")
    restore.add_argument("--database", dest="target_database", help="the database to restore "
                         "into (as the global --database)")
    restore.add_argument("--force", action="store_true",
                         help="replace everything in a database that is not empty")
    restore.add_argument("--include-keys", action="store_true",
                         help="also restore the backup's signing keys into LEDGER_KEY_DIR "
                              "(which must hold none)")
    restore.add_argument("--key", action="append", default=[], type=verifier_key_text,
                         help="trusted verifier key for the backup's manifest signature "
                              "and the restored checkpoints: the string, or a .vkey file "
                              "(repeatable; needed when LEDGER_KEY_DIR holds no key)")
    restore.add_argument("--allow-unsigned", action="store_true",
                         help="restore a backup whose manifest is not signed (made before "
                              "backups were signed), or with no trusted key to check its "
                              "signature; a signature that fails is refused regardless")
    restore.set_defaults(run=restore_command)


def _settings(args: argparse.Namespace, settings: Settings) -> Settings:
    if args.target_database:
        # validated as LEDGER_DATABASE_URL is
        return Settings(**{**settings.__dict__, "database_url": args.target_database})
    return settings


@contextlib.contextmanager
def _bar() -> Iterator[Callable[[str, int, int | None], None]]:
    """A progress callback (step, done, total) drawing one bar per step on stderr."""
    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        tasks: dict[str, TaskID] = {}

        def report(step: str, done: int, total: int | None) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done, total=total)

        yield report


def _checkpoint_text(note: str | None) -> str:
    if note is None:
        return "no signed checkpoint yet"
    text = parse_checkpoint(note.split("\n\n", 1)[0] + "\n")
    return f"checkpoint of size {text.size}, root {base64.b64encode(text.root_hash).decode()}"


async def backup_command(args: argparse.Namespace, settings: Settings) -> int:
    """Write a backup folder of the running ledger."""
    from ledger.backup.backup import back_up

    settings = _settings(args, settings)
    require_existing_ledger(settings)
    started = time.monotonic()
    with _bar() as report:
        manifest = await back_up(settings, args.dest, include_keys=args.include_keys,
                                 progress=report)
    files = sum(1 for p in manifest.parts if p.kind == "blob")
    where = ("in the dump" if manifest.blob_store == "postgres" else f"{files} file(s)")
    keys = ("signing keys INCLUDED (files 0600): keep this backup as safe as the keys"
            if manifest.keys_included else "signing keys not included")
    log = manifest.log
    out.print(f"backup written to {args.dest} in {time.monotonic() - started:.1f} s: "
              f"{manifest.store} ledger, {log.events} events, log of {log.size} entries "
              f"({_checkpoint_text(log.checkpoint)}); evidence files {where}; {keys}",
              markup=False)
    missing = manifest.missing_files
    if missing:
        shown = ", ".join(missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        out.print(f"WARNING: {len(missing)} evidence file(s) cited by events are "
                  f"not in the ledger's blob store, so not in the backup either: {shown}"
                  f"{more}. Run `ledger verify` to see which events cite them", markup=False)
        return 1
    return 0


async def restore_command(args: argparse.Namespace, settings: Settings) -> int:
    """Restore a backup folder into an empty database and verify the result."""
    from ledger.backup.restore import restore

    settings = _settings(args, settings)
    started = time.monotonic()
    with _bar() as report:
        restored = await restore(settings, args.source, force=args.force,
                                 include_keys=args.include_keys, trusted_keys=tuple(args.key),
                                 allow_unsigned=args.allow_unsigned, progress=report)
    manifest, verified = restored.manifest, restored.verified
    if restored.unsigned is not None:
        err.print(f"WARNING: --allow-unsigned: {restored.unsigned}, so nothing proves this "
                  "backup is the one the ledger wrote; its parts were checked against its "
                  "manifest only", markup=False)
    if restored.keys_from_backup:
        err.print("note: no verifier key in LEDGER_KEY_DIR nor --key; the checkpoints were "
                  "checked with the keys the backup names: "
                  f"{', '.join(manifest.verifier_keys) or 'none'}. Compare them with the "
                  "log's published key", markup=False)
    for problem in [*restored.problems, *verified.problems]:
        out.print(f"FAILED: {problem}", markup=False)
    seconds = time.monotonic() - started
    if not restored.ok:
        out.print(f"restored from {args.source}, but the result did not verify "
                  f"({seconds:.1f} s)", markup=False)
        return 1
    keys = "signing keys restored" if args.include_keys else "signing keys not restored"
    files = ("evidence files restored with the database" if manifest.blob_store == "postgres"
             else f"{restored.files} evidence file(s) put into the blob store")
    out.print(f"restored {args.source} (made {manifest.created_at}) in {seconds:.1f} s: "
              f"{verified.chains.events} events in {verified.chains.streams} streams, log of "
              f"{verified.log.size} entries ({_checkpoint_text(manifest.log.checkpoint)}), "
              f"{files}; {keys}. "
              f"Verified: {'the manifest signature, ' if restored.unsigned is None else ''}"
              "every hash, chain, tile and checkpoint, the close gate and every "
              "evidence file. Next: `ledger verify --since-checkpoint <the latest checkpoint "
              "you published>` proves nothing acknowledged after the backup was lost",
              markup=False)
    return 0
