"""``ledger verify``, ``ledger events`` and ``ledger audit``: check the local ledger and its
log, print one stream, or audit a remote ledger's log through its public endpoints."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from rich.progress import BarColumn, Progress, TextColumn

from ledger.cli.common import (
    Subparsers,
    err,
    out,
    require_existing_ledger,
    storage,
    verifier_key_text,
)
from ledger.cli.witness import add_witness_arguments, witness_policy
from ledger.errors import LedgerError
from ledger.settings import Settings
from ledger.storage import Storage

if TYPE_CHECKING:
    from ledger.verify import LedgerReport

MAX_NOTE_BYTES = 1 << 16  # a published checkpoint: a few lines and signatures


COMMANDS = ("verify", "events", "audit")
"""The commands ``register`` adds (``ledger.cli`` builds only the group a command needs)."""


def register(sub: Subparsers) -> None:
    """Add ``verify``, ``events`` and ``audit``."""
    verify = sub.add_parser("verify", help="re-hash every entry, check chains, audit the log")
    verify.add_argument("--strict", action="store_true",
                        help="also parse every entry and prove it canonical RFC 8785 with "
                             "the fixed envelope (slower; integrity is checked either way)")
    verify.add_argument("--skip-files", action="store_true",
                        help="do not re-hash the uploaded evidence files (a quicker run)")
    verify.add_argument("--key", action="append", default=[], type=verifier_key_text,
                        help="extra trusted verifier key: the string, or a .vkey file "
                             "holding it (repeatable)")
    verify.add_argument("--since-checkpoint", type=Path, metavar="FILE",
                        help="a checkpoint the log published (the signed note /log/checkpoint "
                             "served): prove with a consistency proof that the log extends "
                             "it; exit 1 naming the missing entries or where the histories "
                             "differ (after a restore: nothing acknowledged was lost)")
    verify.set_defaults(run=verify_command)
    events = sub.add_parser("events", help="print a stream's entries with their hashes")
    events.add_argument("stream_id")
    events.set_defaults(run=events_command)
    audit = sub.add_parser("audit", help="verify a remote ledger's log through its public "
                           "endpoints (exit 1: verification failed, 2: could not run)")
    audit.add_argument("base_url", help="the ledger's base URL, e.g. https://ledger.example")
    audit.add_argument("--key", action="append", required=True, type=verifier_key_text,
                       help="trusted verifier key: the string, or a .vkey file holding it "
                            "(repeatable; the first names the log)")
    audit.add_argument("--state", default="./ledger-audit-state.json",
                       help="last verified checkpoint, proved consistent on the next run")
    add_witness_arguments(audit)
    audit.set_defaults(run=audit_command)


async def verify_command(args: argparse.Namespace, settings: Settings) -> int:
    """Re-hash every entry, check every chain, recompute and audit the log."""
    require_existing_ledger(settings)
    published = None if args.since_checkpoint is None else _read_note(args.since_checkpoint)
    async with storage(settings) as opened:
        report = await _verify(args, opened)
        since = None if published is None else await _since(args, opened, published)
    chains, log = report.chains, report.log
    if report.child_error is not None:
        err.print(f"note: the log's tree was audited in this process (slower): "
                  f"{report.child_error}", markup=False)
    problems = report.problems  # chains, log, the close gate and the files
    for problem in problems:
        out.print(f"TAMPERED: {problem}", markup=False)
    if problems:
        out.print(f"FAILED: {len(problems)} problem(s) in {chains.events} events")
        if since is not None:
            out.print(since[1], markup=False)
        return 1
    strict = "; every entry parsed: canonical, fixed envelope" if args.strict else ""
    files = ("evidence files not checked (--skip-files)" if report.files is None else
             f"{report.files.uploads} upload(s) of {report.files.files} distinct evidence "
             "file(s), every file present and hashing to its name")
    out.print(f"OK: {chains.events} events in {chains.streams} streams; every hash and chain "
              f"link verified{strict}; log of {log.size} entries ({log.queued} queued) matches "
              f"its tiles and {log.checkpoints} signed checkpoint(s); the close gate held; "
              f"{files}")
    if since is not None:
        out.print(since[1], markup=False)
        return 0 if since[0] else 1
    return 0


def _read_note(path: Path) -> bytes:
    """A published checkpoint file's bytes (a signed note is small: bounded)."""
    try:
        with path.open("rb") as f:
            note = f.read(MAX_NOTE_BYTES + 1)
    except OSError as e:
        raise LedgerError(f"cannot read {path}: {e.strerror}") from None
    if len(note) > MAX_NOTE_BYTES:
        raise LedgerError(f"{path} is larger than any checkpoint ({MAX_NOTE_BYTES} bytes)")
    return note


async def _since(args: argparse.Namespace, opened: Storage, note: bytes) -> tuple[bool, str]:
    """(passed, the line to print) for ``--since-checkpoint``."""
    import base64

    from ledger.errors import VerificationError
    from ledger.transparency.extension import ForkError, RollbackError, verify_log_extends
    from ledger.transparency.keys import require_verifiers

    def b64(root: bytes) -> str:
        return base64.b64encode(root).decode()

    name = args.since_checkpoint
    try:
        extension = await verify_log_extends(opened.log, note,
                                             require_verifiers(opened.settings.key_dir, args.key),
                                             opened.settings.log_origin)
    except RollbackError as e:
        return False, (f"LOST: the published checkpoint {name} covers {e.trusted_size} log "
                       f"entries, but this log holds only {e.size}: {e.missing} acknowledged "
                       f"entr{'y is' if e.missing == 1 else 'ies are'} missing (restored from "
                       "a backup older than that checkpoint?). Restore a newer backup; do not "
                       "serve this database with the same keys (it would sign a fork)")
    except ForkError as e:
        found = (f"this log's tree at size {e.trusted_size} has root {b64(e.found)}"
                 if e.found is not None else f"the consistency proof fails ({e.detail})")
        return False, (f"DIFFERENT HISTORY: the histories differ within the first "
                       f"{e.trusted_size} entries: the published checkpoint {name} of size "
                       f"{e.trusted_size} has root {b64(e.expected)}, but {found}. This "
                       "database is not the log that published it")
    except VerificationError as e:
        return False, f"FAILED: {name}: {e}"
    published = extension.published
    return True, (f"OK: the log (size {extension.size}) extends the published checkpoint "
                  f"{name} of size {published.size}, root {b64(published.root_hash)}: "
                  f"consistency proof of {extension.proof_hashes} hash(es) verified; "
                  f"{extension.size - published.size} entries since")


async def _verify(args: argparse.Namespace, opened: Storage) -> LedgerReport:
    from ledger.transparency.keys import require_verifiers
    from ledger.verify import verify_ledger

    settings = opened.settings
    # Only the progress bar wants the count, and it is drawn on a terminal only (a count is
    # a scan of an index: ~50 ms at 1M events on SQLite).
    total = await opened.store.count_events() if err.is_terminal else None
    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), console=err, transient=True,
                  disable=not err.is_terminal) as bar:
        tasks = {"events": bar.add_task("events", total=total),
                 "log": bar.add_task("log entries", total=total),
                 "tree": bar.add_task("log tree", total=total),
                 "files": bar.add_task("evidence files", total=None)}
        return await verify_ledger(
            opened.store, opened.log, require_verifiers(settings.key_dir, args.key),
            settings.log_origin, lambda step, done: bar.update(tasks[step], completed=done),
            strict=args.strict, database_url=settings.database_url,
            blobs=None if args.skip_files else opened.blobs)


async def events_command(args: argparse.Namespace, settings: Settings) -> int:
    """Print one stream's entries with their hashes."""
    from ledger.chain import verify_stream

    require_existing_ledger(settings)
    try:
        stream_id = UUID(args.stream_id)
    except ValueError:
        raise LedgerError(f"{args.stream_id!r} is not a stream id") from None
    async with storage(settings) as opened:
        rows = await opened.store.read_stream(stream_id)
    if not rows:
        err.print(f"no stream {stream_id}")
        return 1
    for entry in verify_stream(rows):
        out.print(f"v{entry.version} {entry.event_type} {entry.event_hash.hex()}")
        out.print(entry.raw.decode("utf-8"), markup=False)
    return 0


async def audit_command(args: argparse.Namespace, settings: Settings) -> int:
    """Audit a remote ledger's log; talks to it only, never opens the local database."""
    import base64

    from rich.progress import MofNCompleteColumn

    from ledger.errors import VerificationError
    from ledger.tlog.note import parse_verifier_key
    from ledger.transparency.audit import AuditFailedError, audit_log
    from ledger.transparency.keys import unique_verifiers

    verifiers = unique_verifiers(parse_verifier_key(k) for k in args.key)
    with Progress(TextColumn("tiles"), BarColumn(), MofNCompleteColumn(), console=err,
                  transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("tiles", total=None)
        try:
            report = await audit_log(args.base_url, verifiers, state_path=Path(args.state),
                                     progress=lambda done, n: bar.update(task, completed=done,
                                                                         total=n),
                                     witnesses=witness_policy(args))
        except VerificationError as e:
            for problem in e.problems if isinstance(e, AuditFailedError) else [e]:
                out.print(f"FAILED: {problem}", markup=False)
            return 1
    cp, prev = report.checkpoint, report.previous
    since = (f"consistent with the previous checkpoint of size {prev.size}" if prev
             else f"no previous state; saved to {args.state}")
    out.print(f"OK: {cp.origin} size {cp.size} root {base64.b64encode(cp.root_hash).decode()}; "
              f"{report.tiles} hash tile(s) and {report.bundles} entry bundle(s) checked; {since}",
              markup=False)
    if report.witnesses is not None:
        out.print(f"OK: {report.witnesses.describe()}", markup=False)
    return 0
