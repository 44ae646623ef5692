"""The ``ledger`` command: a thin adapter over the use cases (argparse, rich output)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from ledger.errors import LedgerError
from ledger.settings import Settings
from ledger.store.factory import open_store
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


async def cmd_demo(args: argparse.Namespace, settings: Settings, store: EventStore) -> int:
    """Play the seed scenarios."""
    from ledger.demo_scenarios import play_all
    from ledger.service.ledger import Ledger

    await store.migrate()
    played = await play_all(Ledger(store), dt.date.today())
    for name, departure_id in played.items():
        out.print(f"{name:32} departure {departure_id}")
    out.print(f"{await store.count_events()} events in the ledger")
    return 0


async def cmd_verify(args: argparse.Namespace, settings: Settings, store: EventStore) -> int:
    """Re-hash every entry and check every chain; non-zero exit on any tampering."""
    from ledger.verify import verify_chains

    total = await store.count_events()
    with Progress(TextColumn("verifying"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("verify", total=total)
        report = await verify_chains(store, lambda done: bar.update(task, completed=done))
    if report.ok:
        out.print(f"OK: {report.events} events in {report.streams} streams; "
                  "every hash and chain link verified")
        return 0
    for problem in report.problems:
        out.print(f"TAMPERED: {problem}")
    out.print(f"FAILED: {len(report.problems)} problem(s) in {report.events} events")
    return 1


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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so tests and docs can inspect it)."""
    parser = argparse.ArgumentParser(prog="ledger", description=__doc__)
    parser.add_argument("--database", help="database URL (default: $LEDGER_DATABASE_URL or "
                        "sqlite:///./ledger-data/ledger.db)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the schema")
    sub.add_parser("demo", help="play the seed scenarios into the database")
    sub.add_parser("verify", help="re-hash every entry and check every chain")
    events = sub.add_parser("events", help="print a stream's entries with their hashes")
    events.add_argument("stream_id")
    return parser


COMMANDS: dict[str, Command] = {
    "migrate": cmd_migrate, "demo": cmd_demo, "verify": cmd_verify, "events": cmd_events,
}


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    store = await open_store(settings.database_url)
    try:
        return await COMMANDS[args.command](args, settings, store)
    finally:
        await store.close()


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
