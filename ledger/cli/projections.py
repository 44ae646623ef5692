"""``ledger projections status|rebuild`` and ``ledger webhooks ...``: the read models and
outbound webhooks, from the command line."""

from __future__ import annotations

import argparse

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ledger.cli.common import Subparsers, err, out, require_existing_ledger, storage
from ledger.errors import LedgerError
from ledger.settings import Settings

COMMANDS = ("projections", "webhooks")
"""The commands ``register`` adds (``ledger.cli`` builds only the group a command needs)."""


def register(sub: Subparsers) -> None:
    """Add ``projections`` and ``webhooks``."""
    from ledger.webhooks.cli import add_parser

    projections = sub.add_parser("projections", help="read models: status, rebuild")
    commands = projections.add_subparsers(dest="projections_command", required=True)
    commands.add_parser("status", help="each read model's log position, lag and error"
                        ).set_defaults(run=status)
    rebuild_parser = commands.add_parser(
        "rebuild", help="project the whole log into fresh tables and swap them in (the "
        "service keeps serving the old ones meanwhile); clears a stopping error")
    rebuild_parser.add_argument("name", nargs="?", help="one read model (default: all)")
    rebuild_parser.set_defaults(run=rebuild)
    add_parser(sub).set_defaults(run=webhooks)


async def status(args: argparse.Namespace, settings: Settings) -> int:
    """Print each read model's position, how far behind the log it is, and its error."""
    require_existing_ledger(settings)
    async with storage(settings, migrate=True) as opened:
        size = await opened.projections.log_size()
        states = {s.name: s for s in await opened.projections.states()}
    table = Table("read model", "position", "behind", "generation", "updated", "error")
    for name in sorted(states):
        state = states[name]
        table.add_row(name, str(state.position), str(size - state.position),
                      str(state.generation), state.updated_at, state.error or "")
    out.print(table)
    return 1 if any(s.error for s in states.values()) else 0


async def rebuild(args: argparse.Namespace, settings: Settings) -> int:
    """Rebuild one read model or all, with a progress bar."""
    from ledger.bootstrap import projection_runners

    require_existing_ledger(settings)
    async with storage(settings, migrate=True) as opened:
        runners = projection_runners(opened)
        names = [args.name] if args.name else sorted(runners)
        unknown = [n for n in names if n not in runners]
        if unknown:
            raise LedgerError(f"no read model {unknown[0]!r}: one of {', '.join(runners)}")
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err) as progress:
            for name in names:
                task = progress.add_task(name, total=None)

                def show(done: int, total: int, task: TaskID = task) -> None:
                    progress.update(task, completed=done, total=total)

                position = await runners[name].rebuild(show)
                out.print(f"{name}: rebuilt to log position {position}")
    return 0


async def webhooks(args: argparse.Namespace, settings: Settings) -> int:
    """``ledger webhooks ...`` (ledger.webhooks.cli)."""
    from ledger.webhooks.cli import cmd_webhooks

    require_existing_ledger(settings)
    async with storage(settings, migrate=True) as opened:
        return await cmd_webhooks(args, settings, opened.store)
