"""The ``ledger`` command: a thin adapter over the use cases (argparse, rich output)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from uuid import UUID

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from ledger.entry import format_time
from ledger.errors import LedgerError
from ledger.settings import Settings
from ledger.store.factory import open_store, sqlite_path
from ledger.store.port import EventStore

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
Command = Callable[[argparse.Namespace, Settings, EventStore], Awaitable[int]]


async def cmd_migrate(args: argparse.Namespace, settings: Settings, store: EventStore) -> int:
    """Create or upgrade the schema and install the built-in templates."""
    from ledger.service.ledger import Ledger

    await store.migrate()
    changed = [r for r in await Ledger(store).install_builtin_templates() if r["changed"]]
    out.print(f"schema up to date; {len(changed)} built-in template(s) installed or revised")
    return 0


async def _demo(settings: Settings) -> int:
    """Play the seed scenarios through the composition root (the ledger as `serve` builds it:
    its calendar, checklist and confirmation settings, its keys), then sequence them into the
    log, so that `ledger verify` right after checks every event, not a queue."""
    from ledger.demo_scenarios import play_all
    from ledger.runtime import open_runtime

    runtime = await open_runtime(settings)
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


async def cmd_verify(args: argparse.Namespace, settings: Settings, store: EventStore) -> int:
    """Re-hash every entry, check every chain, recompute and audit the log."""
    from ledger.store.blob_factory import blob_store_for
    from ledger.store.factory import log_store_for
    from ledger.transparency.keys import load_verifiers
    from ledger.verify import verify_ledger

    blobs = None if args.skip_files else blob_store_for(store, settings.blob_store,
                                                        settings.data_dir)
    total = await store.count_events()
    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), console=err, transient=True,
                  disable=not err.is_terminal) as bar:
        tasks = {"events": bar.add_task("events", total=total),
                 "log": bar.add_task("log entries", total=total),
                 "tree": bar.add_task("log tree", total=total),
                 "files": bar.add_task("evidence files", total=None)}
        report = await verify_ledger(
            store, log_store_for(store), load_verifiers(settings.key_dir, args.key),
            settings.log_origin, lambda step, done: bar.update(tasks[step], completed=done),
            strict=args.strict, database_url=settings.database_url, blobs=blobs)
    chains, log = report.chains, report.log
    if report.child_error is not None:
        err.print(f"note: the log's tree was audited in this process (slower): "
                  f"{report.child_error}", markup=False)
    problems = report.problems  # chains, log, the close gate and the files
    for problem in problems:
        out.print(f"TAMPERED: {problem}", markup=False)
    if problems:
        out.print(f"FAILED: {len(problems)} problem(s) in {chains.events} events")
        return 1
    strict = "; every entry parsed: canonical, fixed envelope" if args.strict else ""
    files = ("evidence files not checked (--skip-files)" if report.files is None else
             f"{report.files.uploads} upload(s) of {report.files.files} distinct evidence "
             "file(s), every file present and hashing to its name")
    out.print(f"OK: {chains.events} events in {chains.streams} streams; every hash and chain "
              f"link verified{strict}; log of {log.size} entries ({log.queued} queued) matches "
              f"its tiles and {log.checkpoints} signed checkpoint(s); the close gate held; "
              f"{files}")
    return 0


async def cmd_events(args: argparse.Namespace, settings: Settings, store: EventStore) -> int:
    """Print one stream's entries with their hashes."""
    from ledger.chain import verify_stream

    try:
        stream_id = UUID(args.stream_id)
    except ValueError:
        raise LedgerError(f"{args.stream_id!r} is not a stream id") from None
    rows = await store.read_stream(stream_id)
    if not rows:
        err.print(f"no stream {stream_id}")
        return 1
    for entry in verify_stream(rows):
        out.print(f"v{entry.version} {entry.event_type} {entry.event_hash.hex()}")
        out.print(entry.raw.decode("utf-8"), markup=False)
    return 0


async def cmd_keygen(args: argparse.Namespace, settings: Settings, store: EventStore) -> int:
    """Add a checkpoint signing key (rotation: every active key signs)."""
    from ledger.transparency.keys import create_key

    path, vkey = create_key(settings.key_dir, settings.log_origin)
    err.print(f"signing key written to {path} (mode 0600); verifier key:")
    out.print(vkey, markup=False)
    return 0


async def cmd_retire_key(args: argparse.Namespace, settings: Settings,
                         store: EventStore) -> int:
    """Stop signing with one key; its verifier key stays trusted for old checkpoints."""
    from ledger.transparency.keys import load_signers, retire_key

    remaining = [s for s in load_signers(settings.key_dir, settings.log_origin)
                 if f"{s.key_id:08x}" != args.key_id]
    if not remaining:
        raise LedgerError("refusing to retire the last signing key: run `ledger keygen` first")
    moved = retire_key(settings.key_dir, args.key_id)
    out.print(f"retired: {moved}")
    return 0


async def cmd_principals_add(args: argparse.Namespace, settings: Settings,
                             store: EventStore) -> int:
    """Create a principal (a person or a system) with its roles."""
    from ledger.service.ledger import SYSTEM_ACTOR
    from ledger.service.principal_cases import create_principal
    from ledger.store.factory import principal_store_for

    await store.migrate()
    principal = await create_principal(principal_store_for(store), SYSTEM_ACTOR,
                                       args.principal_id, args.name, args.role)
    out.print(f"principal {principal.id} ({', '.join(principal.roles)}) created")
    return 0


async def cmd_tokens_issue(args: argparse.Namespace, settings: Settings,
                           store: EventStore) -> int:
    """Issue a bearer token; it is printed once, on stdout, and stored only as a hash."""
    from ledger.service.ledger import SYSTEM_ACTOR
    from ledger.service.principal_cases import grant_token
    from ledger.store.factory import principal_store_for

    expires_in = (dt.timedelta(days=args.expires_in_days) if args.expires_in_days is not None
                  else None)
    token, info = await grant_token(principal_store_for(store), SYSTEM_ACTOR,
                                    args.principal_id, args.label, expires_in=expires_in,
                                    max_ttl=settings.token_ttl)
    err.print(f"token {info.token_id} expires {format_time(info.expires_at)}", markup=False)
    print(token, flush=True)  # stdout only, so `$(ledger tokens issue x)` captures just it
    return 0


async def cmd_tokens_list(args: argparse.Namespace, settings: Settings,
                          store: EventStore) -> int:
    """List a principal's tokens: ids, labels, expiry and state, never secrets."""
    from ledger.service.ledger import SYSTEM_ACTOR
    from ledger.service.principal_cases import list_tokens
    from ledger.store.factory import principal_store_for

    now = dt.datetime.now(dt.UTC)
    for t in await list_tokens(principal_store_for(store), SYSTEM_ACTOR, args.principal_id):
        state = "revoked" if t.revoked else "active" if t.active_at(now) else "expired"
        out.print(f"{t.token_id}  {state:7}  created {format_time(t.created_at)}  expires "
                  f"{format_time(t.expires_at)}  {t.label}", markup=False)
    return 0


async def cmd_tokens_revoke(args: argparse.Namespace, settings: Settings,
                            store: EventStore) -> int:
    """Revoke one token of a principal (recorded as done by the system operator)."""
    from ledger.service.ledger import SYSTEM_ACTOR
    from ledger.service.principal_cases import revoke_token
    from ledger.store.factory import principal_store_for

    revoked = await revoke_token(principal_store_for(store), SYSTEM_ACTOR, args.principal_id,
                                 args.token_id)
    out.print(f"token {args.token_id} {'revoked' if revoked else 'was already revoked'}")
    return 0


async def cmd_principals_deactivate(args: argparse.Namespace, settings: Settings,
                                    store: EventStore) -> int:
    """Deactivate a principal: every token stops at once."""
    from ledger.service.ledger import SYSTEM_ACTOR
    from ledger.service.principal_cases import deactivate_principal
    from ledger.store.factory import principal_store_for

    revoked = await deactivate_principal(principal_store_for(store), SYSTEM_ACTOR,
                                         args.principal_id)
    out.print(f"principal {args.principal_id} deactivated; {revoked} token(s) revoked")
    return 0


async def cmd_principals_history(args: argparse.Namespace, settings: Settings,
                                 store: EventStore) -> int:
    """Print who issued, revoked or deactivated what for a principal, and when."""
    from ledger.service.ledger import SYSTEM_ACTOR
    from ledger.service.principal_cases import principal_history
    from ledger.store.factory import principal_store_for

    for e in await principal_history(principal_store_for(store), SYSTEM_ACTOR,
                                     args.principal_id):
        out.print(f"{format_time(e.at)}  {e.action:21}  {e.subject or '-':16}  by {e.actor_id} "
                  f"({e.actor_role})", markup=False)
    return 0


async def cmd_principals(args: argparse.Namespace, settings: Settings,
                         store: EventStore) -> int:
    """Dispatch ``ledger principals add|deactivate|history``."""
    await store.migrate()  # an older ledger gains the columns these commands use
    return await {"add": cmd_principals_add, "deactivate": cmd_principals_deactivate,
                  "history": cmd_principals_history}[args.principals_command](
        args, settings, store)


async def cmd_tokens(args: argparse.Namespace, settings: Settings, store: EventStore) -> int:
    """Dispatch ``ledger tokens issue|list|revoke``."""
    await store.migrate()
    return await {"issue": cmd_tokens_issue, "list": cmd_tokens_list,
                  "revoke": cmd_tokens_revoke}[args.tokens_command](args, settings, store)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so tests and docs can inspect it)."""
    parser = argparse.ArgumentParser(
        prog="ledger", description="Handover Ledger: a tamper-evident audit ledger for "
        "employee offboarding handovers (离职交接).")
    parser.add_argument("--database", help="database URL (default: $LEDGER_DATABASE_URL or "
                        "sqlite:///./ledger-data/ledger.db)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the schema")
    sub.add_parser("demo", help="play the seed scenarios into the database")
    verify = sub.add_parser("verify", help="re-hash every entry, check chains, audit the log")
    verify.add_argument("--strict", action="store_true",
                        help="also parse every entry and prove it canonical RFC 8785 with "
                             "the fixed envelope (slower; integrity is checked either way)")
    verify.add_argument("--skip-files", action="store_true",
                        help="do not re-hash the uploaded evidence files (a quicker run)")
    verify.add_argument("--key", action="append", default=[], type=verifier_key_text,
                        help="extra trusted verifier key: the string, or a .vkey file "
                             "holding it (repeatable)")
    events = sub.add_parser("events", help="print a stream's entries with their hashes")
    events.add_argument("stream_id")
    sub.add_parser("keygen", help="add a checkpoint signing key and print its verifier key")
    retire = sub.add_parser("retire-key", help="stop signing with a key (it stays trusted)")
    retire.add_argument("key_id", help="8 hex digits, as in the verifier key")
    principals = sub.add_parser("principals", help="manage principals")
    principals_sub = principals.add_subparsers(dest="principals_command", required=True)
    add = principals_sub.add_parser("add", help="create a principal")
    add.add_argument("principal_id")
    add.add_argument("--name", required=True)
    add.add_argument("--role", action="append", required=True,
                     help="a role it may act as (repeatable)")
    deactivate = principals_sub.add_parser(
        "deactivate", help="deactivate a principal: every token stops at once")
    deactivate.add_argument("principal_id")
    history = principals_sub.add_parser(
        "history", help="who issued, revoked or deactivated what for a principal")
    history.add_argument("principal_id")
    tokens = sub.add_parser("tokens", help="manage bearer tokens")
    tokens_sub = tokens.add_subparsers(dest="tokens_command", required=True)
    issue = tokens_sub.add_parser("issue", help="issue a token (printed once on stdout)")
    issue.add_argument("principal_id")
    issue.add_argument("--label", default="cli")
    issue.add_argument("--expires-in-days", type=int, default=None,
                       help="a lifetime shorter than LEDGER_TOKEN_TTL_DAYS (default 90)")
    listing = tokens_sub.add_parser("list", help="list a principal's tokens (never secrets)")
    listing.add_argument("principal_id")
    revoke = tokens_sub.add_parser("revoke", help="revoke one token by its id")
    revoke.add_argument("principal_id")
    revoke.add_argument("token_id", help="16 hex digits, as `ledger tokens list` shows")
    serve = sub.add_parser("serve", help="run the HTTP service (and the sequencer)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--demo", action="store_true",
                       help="play the seed scenarios into an empty ledger first")
    serve.add_argument("--no-sequencer", action="store_true",
                       help="serve only; another process sequences")
    # --- audit (remote log audit; see _audit) ---
    audit = sub.add_parser("audit", help="verify a remote ledger's log through its public "
                           "endpoints (exit 1: verification failed, 2: could not run)")
    audit.add_argument("base_url", help="the ledger's base URL, e.g. https://ledger.example")
    audit.add_argument("--key", action="append", required=True, type=verifier_key_text,
                       help="trusted verifier key: the string, or a .vkey file holding it "
                            "(repeatable; the first names the log)")
    audit.add_argument("--state", default="./ledger-audit-state.json",
                       help="last verified checkpoint, proved consistent on the next run")
    # --- end audit ---
    return parser


COMMANDS: dict[str, Command] = {
    "migrate": cmd_migrate, "verify": cmd_verify, "events": cmd_events,
    "keygen": cmd_keygen, "retire-key": cmd_retire_key,
    "principals": cmd_principals, "tokens": cmd_tokens,
}


async def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.serve import serve

    return await serve(settings, args.host, args.port, sequencer=not args.no_sequencer,
                       demo=args.demo)


# --- audit: talks to a remote ledger only, never opens the local database ---
async def _audit(args: argparse.Namespace) -> int:
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
                                                                         total=n))
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
    return 0
# --- end audit ---


READ_ONLY = ("verify", "events", "tokens")


def _require_existing_ledger(settings: Settings) -> None:
    """Reading commands never create an empty SQLite ledger by accident."""
    url = settings.database_url
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise LedgerError(f"no ledger at {url}: run where `ledger serve` ran, or set "
                          "LEDGER_DATABASE_URL / --database")


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve":
        return await _serve(args, settings)
    if args.command == "demo":
        return await _demo(settings)
    if args.command in READ_ONLY or getattr(args, "principals_command", "add") != "add":
        _require_existing_ledger(settings)
    if args.command == "audit":
        return await _audit(args)
    store = await open_store(settings.database_url)
    try:
        return await COMMANDS[args.command](args, settings, store)
    finally:
        await store.close()


def verifier_key_text(value: str) -> str:
    """A ``--key`` argument: a verifier key string (``name+id+key``), or the path of a file
    holding one (as ``ledger keygen`` writes ``*.vkey``)."""
    if "+" not in value and Path(value).is_file():
        return Path(value).read_text(encoding="utf-8").strip()
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ledger`` console script."""
    args = build_parser().parse_args(argv)
    settings = Settings.from_env(database=args.database)
    try:
        return asyncio.run(_run(args, settings))
    except LedgerError as e:
        err.print(f"error: {e}", markup=False)
        return 2


if __name__ == "__main__":
    sys.exit(main())
