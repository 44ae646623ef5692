"""``ledger export``: write a case's evidence bundle (docs/bundle-format.md) to a file.

It builds through the composition root like ``ledger serve``, and runs the sequencer for the
duration of the command (it takes the leader lock; where a server already leads, it stands
by), so that the case's events are sequenced and signed with the keys the service uses even
when no server runs. The export is recorded on the case as done by the principal ``--as``
names, under the same rule as the HTTP route: HR, legal, or the leaver for their own case.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO
from uuid import UUID

from ledger.bootstrap import bootstrap
from ledger.cli.common import Subparsers, err, out, require_existing_ledger
from ledger.errors import ForbiddenError, InvalidInputError
from ledger.service.context import RequestContext
from ledger.settings import Settings
from ledger.transparency.sequencer_worker import SequencerWorker

COMMANDS = ("export",)
"""The commands ``register`` adds (``ledger.cli`` builds only the group a command needs)."""


def register(sub: Subparsers) -> None:
    """Add ``export``."""
    parser = sub.add_parser("export", help="write a departure's evidence bundle (ZIP)")
    parser.add_argument("departure_id")
    parser.add_argument("-o", "--output", required=True, type=Path,
                        help="the ZIP file to write (not overwritten unless --force)")
    parser.add_argument("--with-files", action="store_true",
                        help="include the attachments under files/")
    parser.add_argument("--as", dest="principal", required=True,
                        help="the principal exporting (HR, legal, or the leaver); recorded")
    parser.add_argument("--role", default=None, help="the role to act in (default: its first)")
    parser.add_argument("--force", action="store_true", help="overwrite --output")
    parser.set_defaults(run=export_command)


async def export_command(args: argparse.Namespace, settings: Settings) -> int:
    """``ledger export``."""
    require_existing_ledger(settings)
    try:
        departure_id = UUID(args.departure_id)
    except ValueError:
        raise InvalidInputError(f"{args.departure_id!r} is not a departure id") from None
    output: Path = args.output
    _refuse_existing(output, args.force)
    partial = _open_partial(output)  # fails, before anything is recorded, where it cannot write
    try:
        return await _export(args, settings, departure_id, output, partial)
    finally:
        _discard(partial)


async def _export(args: argparse.Namespace, settings: Settings, departure_id: UUID,
                  output: Path, partial: BinaryIO) -> int:
    runtime = await bootstrap(settings, migrate=False, operator=True)
    sequencer = SequencerWorker(runtime.sequencer)
    try:
        principal = await runtime.principals.get_principal(args.principal)
        if not principal.active:
            raise ForbiddenError(f"principal {principal.id} is deactivated")
        actor = principal.act_as(args.role)
        await sequencer.start()
        bundle = await runtime.exporter.export(actor, departure_id, with_files=args.with_files,
                                               context=RequestContext(auth="cli"))
        try:
            _write(partial, output, bundle.chunks())
        except OSError as e:
            raise InvalidInputError(
                f"the export was recorded (manifest sha256 {bundle.manifest_sha256}) but "
                f"{output} could not be written: {e.strerror or e}") from None
        finally:
            bundle.close()
    finally:
        try:
            await sequencer.stop()
        finally:
            await runtime.close()
    out.print(f"{output}: {bundle.status} evidence bundle of {bundle.departure_id}, "
              f"{bundle.size} bytes, manifest sha256 {bundle.manifest_sha256}", markup=False)
    stamped = bundle.timestamps
    if stamped is not None:  # LEDGER_TSA_URLS: say whether the checkpoint has trusted time
        err.print(f"timestamps: {len(stamped.stamps)} RFC 3161 token(s) over the checkpoint"
                  if stamped.stamps else "timestamps: none, the bundle went without: "
                  + "; ".join(stamped.failures), markup=False)
    err.print(f"verify: python3 -I verify.py --key <vkey> {output}  or  ledger verify-bundle "
              f"{output} --key <vkey>", markup=False)
    return 0


def _refuse_existing(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise InvalidInputError(f"{path} exists; use --force to overwrite it")


def _open_partial(path: Path) -> BinaryIO:
    """The file the bundle is written into beside ``path`` (renamed to it when complete, so a
    failed export never leaves half a ZIP)."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        return partial.open("wb")
    except OSError as e:
        raise InvalidInputError(f"cannot write {path}: {e.strerror or e}") from None


def _discard(partial: BinaryIO) -> None:
    """Close and remove the partial file (gone already once renamed into place)."""
    if not partial.closed:
        partial.close()
    Path(partial.name).unlink(missing_ok=True)


def _write(partial: BinaryIO, path: Path, chunks: Iterable[bytes]) -> None:
    for chunk in chunks:
        partial.write(chunk)
    partial.flush()
    os.fsync(partial.fileno())
    partial.close()
    Path(partial.name).replace(path)
