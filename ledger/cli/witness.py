"""``ledger witness``: run a C2SP tlog-witness for other logs (another organisation's ledger,
or this one's, watched from elsewhere).

The witness needs no ledger database: its state is its own SQLite file (``--state``) and its
key its own file (``--key-file``, made with mode 0600 on first run). It prints its verifier
key, which the witnessed log lists in LEDGER_WITNESS_KEYS and verifiers pass to ``--witness``.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from ledger.cli.common import Subparsers, verifier_key_text
from ledger.errors import InvalidInputError
from ledger.settings import Settings
from ledger.tlog.note import parse_verifier_key
from ledger.witness.policy import WitnessPolicy


def add_witness_arguments(parser: argparse.ArgumentParser) -> None:
    """``--witness VKEY`` (repeatable) and ``--witnesses-required K``: a verifier's witness
    policy, "k of these n witness keys" (ledger.witness.policy)."""
    parser.add_argument("--witness", action="append", default=[], type=verifier_key_text,
                        metavar="VKEY", help="a witness's verifier key (as `ledger witness` "
                        "prints it) or a file holding it; repeat for several")
    parser.add_argument("--witnesses-required", type=int, metavar="K", help="how many of the "
                        "--witness keys must have cosigned the checkpoint (default: all)")


def witness_policy(args: argparse.Namespace) -> WitnessPolicy | None:
    """The policy the arguments ask for; None without ``--witness``."""
    if not args.witness:
        if args.witnesses_required is not None:
            raise InvalidInputError("--witnesses-required needs --witness keys")
        return None
    return WitnessPolicy.parse(args.witness, args.witnesses_required)


COMMANDS = ("witness",)
"""The commands ``register`` adds (``ledger.cli`` builds only the group a command needs)."""


def register(sub: Subparsers) -> None:
    """Add ``witness``."""
    p = sub.add_parser("witness", help="run a witness (C2SP tlog-witness) that cosigns the "
                       "checkpoints of the logs it trusts")
    p.add_argument("--name", required=True,
                   help="the witness's key name, e.g. witness.example.org/w1")
    p.add_argument("--log", action="append", required=True, type=verifier_key_text,
                   metavar="VKEY", help="a trusted log's verifier key (its name is the log "
                   "origin) or a file holding it; repeat for several logs or keys")
    p.add_argument("--key-file", type=Path, default=Path("witness-data/witness.key"),
                   help="the witness's private key (made on first run, mode 0600)")
    p.add_argument("--state", type=Path, default=Path("witness-data/witness.db"),
                   help="SQLite file of the latest checkpoint cosigned per log")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7380)
    p.set_defaults(run=witness_command)


async def witness_command(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until SIGINT or SIGTERM; every answer but a cosignature is logged (LEDGER_LOG_*,
    as ``ledger serve``)."""
    from aiohttp import web

    from ledger.log_format import configure_logging
    from ledger.witness.server import build_witness_app, trusted_logs
    from ledger.witness.state import WitnessState, ensure_witness_key

    configure_logging(settings.log_format, settings.log_level)
    signer, created = ensure_witness_key(args.key_file, args.name)
    trusted = trusted_logs([parse_verifier_key(v) for v in args.log])
    state = WitnessState(args.state)
    runner = web.AppRunner(build_witness_app(signer, state, trusted), access_log=None)
    try:
        await runner.setup()
        await web.TCPSite(runner, args.host, args.port).start()
        port = runner.addresses[0][1]
        if created:
            print(f"witness key written to {args.key_file} (mode 0600)", flush=True)
        print(f"witness verifier key: {signer.key.vkey}", flush=True)
        print(f"witnessing {', '.join(sorted(trusted))}", flush=True)
        print(f"serving on http://{args.host}:{port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
        state.close()
    return 0
