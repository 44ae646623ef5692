"""The ``ledger`` command: a thin adapter over the use cases (argparse, rich output).

One module per command group, each adding its parsers (``register``) and building what it
needs through the composition root (ledger.bootstrap): ``database`` (migrate, demo), ``log``
(verify, events, audit), ``keys`` (keygen, retire-key), ``access`` (principals, tokens),
``serve``, ``export`` and ``bundle`` (evidence bundles: export, verify-bundle), ``backup``
(backup, restore), ``witness`` (a C2SP tlog-witness for other logs).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from ledger.cli import (
    access,
    backup,
    bundle,
    database,
    export,
    keys,
    log,
    projections,
    serve,
    witness,
)
from ledger.cli.common import Command, err, verifier_key_text
from ledger.errors import LedgerError
from ledger.settings import Settings

__all__ = ["build_parser", "main", "verifier_key_text"]
GROUPS = (database, log, keys, access, projections, serve, export, bundle, backup,
          witness)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser (kept separate so tests and docs can inspect it): with
    ``command``, only the parsers of the group that has it, when one does (building every
    group's takes longer than a small command's own work), else all of them."""
    parser = argparse.ArgumentParser(
        prog="ledger", description="Handover Ledger: a tamper-evident audit ledger for "
        "employee offboarding handovers (离职交接).")
    parser.add_argument("--database", help="database URL (default: $LEDGER_DATABASE_URL or "
                        "sqlite:///./ledger-data/ledger.db)")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in [g for g in GROUPS if command in g.COMMANDS] or GROUPS:
        group.register(sub)
    return parser


def command_of(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names: its first argument that is not an option of ``ledger``
    itself (``--database URL``) or ``--help``; None if there is none."""
    args = iter(argv)
    for arg in args:
        if arg == "--database":
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ledger`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(command_of(argv)).parse_args(argv)
    run: Command = args.run
    try:
        # Read once, here; a wrong variable stops every command before it opens anything.
        settings = Settings.from_env(database=args.database)
        return asyncio.run(run(args, settings))
    except LedgerError as e:
        err.print(f"error: {e}", markup=False)
        return 2

