"""What every command group of the ``ledger`` command shares: its consoles, the storage it
opens through the composition root, and the check that a reading command finds a ledger."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

from rich.console import Console

from ledger.errors import LedgerError
from ledger.settings import Settings
from ledger.storage import Storage, open_storage
from ledger.store.factory import sqlite_path

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]
Subparsers = Any  # argparse's _SubParsersAction (private)


@contextlib.asynccontextmanager
async def storage(settings: Settings, *, migrate: bool = False) -> AsyncIterator[Storage]:
    """The adapters over the database ``settings`` name (ledger.storage), closed after;
    an operator's command, so no statement of it is cut short (ledger.store.timeouts)."""
    opened = await open_storage(settings, migrate=migrate, operator=True)
    try:
        yield opened
    finally:
        await opened.close()


def require_existing_ledger(settings: Settings) -> None:
    """Reading commands never create an empty SQLite ledger by accident."""
    url = settings.database_url
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise LedgerError(f"no ledger at {url}: run where `ledger serve` ran, or set "
                          "LEDGER_DATABASE_URL / --database")


def verifier_key_text(value: str) -> str:
    """A ``--key`` argument: a verifier key string (``name+id+key``), or the path of a file
    holding one (as ``ledger keygen`` writes ``*.vkey``)."""
    if "+" in value:  # every key string has them; no file name we write does
        return value
    try:
        return Path(value).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) else "not text"
        raise argparse.ArgumentTypeError(
            f"{value}: not a verifier key string, and not a readable file holding one ({why})"
        ) from None
