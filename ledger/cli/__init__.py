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
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from ledger.cli.common import Command, err, verifier_key_text
from ledger.errors import LedgerError
from ledger.settings import Settings

__all__ = ["build_parser", "groups", "main", "verifier_key_text"]
# Each command group's module (ledger.cli.<name>) and the commands it registers, as its
# COMMANDS names them (a test holds the two together): a command imports its own group only,
# so that ``ledger verify`` does not load the server, the bundle renderer and the service
# layer first.
GROUP_COMMANDS: dict[str, tuple[str, ...]] = {
    "database": ("migrate", "demo"),
    "log": ("verify", "events", "audit"),
    "keys": ("keygen", "retire-key"),
    "access": ("principals", "tokens", "sign-in-link"),
    "projections": ("projections", "webhooks"),
    "serve": ("serve",),
    "export": ("export",),
    "bundle": ("verify-bundle",),
    "backup": ("backup", "restore"),
    "witness": ("witness",),
}


def groups(command: str | None = None) -> list[ModuleType]:
    """The command group modules, imported: with ``command``, only the group that has it,
    when one does, else every group (in the order ``ledger --help`` lists them)."""
    names = [n for n, commands in GROUP_COMMANDS.items() if command in commands]
    return [importlib.import_module(f"ledger.cli.{name}") for name in names or GROUP_COMMANDS]


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
    for group in groups(command):
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

