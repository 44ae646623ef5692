"""``ledger keygen`` and ``ledger retire-key``: the checkpoint signing keys."""

from __future__ import annotations

import argparse

from ledger.cli.common import Subparsers, err, out, storage
from ledger.errors import LedgerError
from ledger.settings import Settings

COMMANDS = ("keygen", "retire-key")
"""The commands ``register`` adds (``ledger.cli`` builds only the group a command needs)."""


def register(sub: Subparsers) -> None:
    """Add ``keygen`` and ``retire-key``."""
    sub.add_parser("keygen", help="add a checkpoint signing key and print its verifier key"
                   ).set_defaults(run=keygen)
    retire = sub.add_parser("retire-key", help="stop signing with a key (it stays trusted)")
    retire.add_argument("key_id", help="8 hex digits, as in the verifier key")
    retire.set_defaults(run=retire_key)


async def keygen(args: argparse.Namespace, settings: Settings) -> int:
    """Add a checkpoint signing key (rotation: every active key signs)."""
    from ledger.transparency.keys import create_key

    async with storage(settings):  # as every command: a database that will not open is said
        path, vkey = create_key(settings.key_dir, settings.log_origin)
    err.print(f"signing key written to {path} (mode 0600); verifier key:")
    out.print(vkey, markup=False)
    return 0


async def retire_key(args: argparse.Namespace, settings: Settings) -> int:
    """Stop signing with one key; its verifier key stays trusted for old checkpoints."""
    from ledger.transparency.keys import load_signers, retire_key

    async with storage(settings):
        remaining = [s for s in load_signers(settings.key_dir, settings.log_origin)
                     if f"{s.key_id:08x}" != args.key_id]
        if not remaining:
            raise LedgerError("refusing to retire the last signing key: run `ledger keygen` "
                              "first")
        moved = retire_key(settings.key_dir, args.key_id)
    out.print(f"retired: {moved}")
    return 0
