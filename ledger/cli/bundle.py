"""``ledger verify-bundle``: check an evidence bundle with the ledger's own code, and with
``--against`` that its history is still part of the live log (docs/bundle-format.md, step 11)."""

from __future__ import annotations

import argparse
import base64
from pathlib import Path

import aiohttp

from ledger.bundle.verifier import verify_bundle
from ledger.bundle.verify import Check, Verdict, summary
from ledger.cli.common import Subparsers, err, out, verifier_key_text
from ledger.cli.witness import add_witness_arguments
from ledger.errors import InvalidInputError, LedgerError, VerificationError
from ledger.settings import Settings
from ledger.timestamp.token import load_roots
from ledger.tlog.checkpoint import open_checkpoint
from ledger.tlog.note import parse_verifier_key
from ledger.tlog.proof import verify_consistency
from ledger.transparency.audit import RemoteLog, check_base_url

_MAX_CHECKPOINT_BYTES = 1 << 16


COMMANDS = ("verify-bundle",)
"""The commands ``register`` adds (``ledger.cli`` builds only the group a command needs)."""


def register(sub: Subparsers) -> None:
    """Add ``verify-bundle``."""
    parser = sub.add_parser("verify-bundle", help="verify an evidence bundle (exit 1: a check "
                            "failed, 2: could not run)")
    parser.add_argument("bundle", help="the bundle ZIP, or the folder it was unzipped into")
    parser.add_argument("--key", required=True, type=verifier_key_text,
                        help="the log's verifier key: the string, or a .vkey file holding it")
    parser.add_argument("--tsa-ca", metavar="PEM_FILE",
                        help="the CA certificates you trust to issue the time-stamping "
                             "authorities' certificates (default: the CA each token's chain "
                             "in the bundle ends at, which shows consistency, not trust)")
    parser.add_argument("--against", metavar="BASE_URL",
                        help="also prove the bundle's checkpoint is part of this ledger's "
                             "live log (its /log/checkpoint and a consistency proof)")
    add_witness_arguments(parser)
    parser.set_defaults(run=verify_bundle_command)


async def verify_bundle_command(args: argparse.Namespace, settings: Settings) -> int:
    """Steps 1 to 10 (and 11 with ``--against``), one line each, then PASS or FAIL."""
    verdict = _verified(args.bundle, args.key, args.tsa_ca, args.witness,
                        args.witnesses_required)
    if verdict is None:
        return 2
    if args.against is not None and verdict.entries and not verdict.failures:
        verdict.checks.append(await against(verdict, args.key, args.against))
    for check in verdict.checks:
        out.print(check.line(), markup=False)
    out.print(summary(verdict), markup=False)
    return 1 if verdict.failures else 0


def _verified(bundle: str, key: str, tsa_ca: str | None, witnesses: list[str],
              required: int | None) -> Verdict | None:
    # Reading and hashing the bundle is synchronous work: nothing else runs meanwhile.
    path = Path(bundle)
    if not path.exists():
        err.print(f"error: {path}: no such file or folder", markup=False)
        return None
    try:
        roots = load_roots(Path(tsa_ca).read_bytes()) if tsa_ca is not None else []
    except (OSError, InvalidInputError) as e:
        err.print(f"error: --tsa-ca: {tsa_ca}: {e}", markup=False)
        return None
    try:
        return verify_bundle(path, key, tsa_roots=roots, witnesses=witnesses,
                             required=required)
    except ValueError as e:
        err.print(f"error: --key/--witness: {e}", markup=False)
        return None


async def against(verdict: Verdict, key: str, base_url: str) -> Check:
    """Step 11: the live checkpoint, signed by the key, extends the bundle's (RFC 9162
    section 2.1.4.2 consistency proof from the bundle's size to the live size)."""
    want = verdict.manifest["checkpoint"]
    label = f"against {base_url}"
    verifier = parse_verifier_key(key.strip())
    try:
        base = check_base_url(base_url)
        async with aiohttp.ClientSession() as http:
            remote = RemoteLog(http, base, aiohttp.ClientTimeout(total=30), 1)
            note = await remote.get("log/checkpoint", _MAX_CHECKPOINT_BYTES)
            live = open_checkpoint(note, [verifier], want["origin"])
            if live.size < want["size"]:
                return Check("FAIL", f"{label}: the live log ({live.size}) is smaller than "
                                     f"the bundle's checkpoint ({want['size']})")
            proof = (await remote.consistency_proof(want["size"], live.size)
                     if live.size > want["size"] else [])
        verify_consistency(want["size"], live.size, proof, base64.b64decode(want["root"]),
                           live.root_hash)
    except VerificationError as e:
        if "no verifiable signatures" in str(e):  # signed, but by keys other than the one given
            return Check("FAIL", f"{label}: its checkpoint is not signed by the given key "
                                 "(another log, or the key is not this log's)")
        return Check("FAIL", f"{label}: {e}")
    except LedgerError as e:
        return Check("FAIL", f"{label}: could not check ({e})")
    return Check("ok", f"{label}: the live log {live.origin} at size {live.size}, signed by "
                       f"the key, extends the bundle's checkpoint (size {want['size']})")
