"""SIGKILL under load: a lone ``ledger serve`` is killed with SIGKILL at random moments while
client tasks walk handover cases through the API (start, submit, approve, add an item,
upload a file; each command under its own idempotency key, retried under it until answered
2xx), and started again, ``--kills`` times; then every command a 2xx acknowledged must be in
the ledger exactly once (its events by id and request id, each in the log once), nothing
half-written (no upload's temporary file, no file that does not hash to its name, no command
recorded in part), ``ledger verify`` clean and the board equal to a rebuild.

    python scripts/fault_kill.py --store both --kills 10 --every 3

On SQLite (a fresh file in a temporary folder) and PostgreSQL (a fresh database on
``--admin-dsn``, dropped afterwards); the processes and checks are
tests/support/kill_run.py's (the CI version is tests/e2e/test_fault_kill.py). Exits 1 when a
check fails."""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.fleet import fresh_database
from tests.support.kill_run import KillReport, describe, kill_run


async def _one(store: str, args: argparse.Namespace, seed: int) -> KillReport:
    folder = Path(tempfile.mkdtemp(prefix=f"fault-kill-{store}-"))
    try:
        if store == "sqlite":
            return await kill_run(f"sqlite:///{folder}/data/ledger.db", folder,
                                  kills=args.kills, every=args.every, clients=args.clients,
                                  seed=seed)
        async with fresh_database(args.admin_dsn) as dsn:
            return await kill_run(dsn, folder, kills=args.kills, every=args.every,
                                  clients=args.clients, seed=seed)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"[{store}] kept {folder}")


async def run(args: argparse.Namespace) -> int:
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"seed {seed} (--seed {seed} repeats the kill moments)", flush=True)
    failed = False
    for store in ("sqlite", "postgresql") if args.store == "both" else (args.store,):
        report = await _one(store, args, seed)
        print("\n".join(describe(report, store)), flush=True)
        failed = failed or bool(report.findings.problems()) or report.given_up > 0
    print("FAILED" if failed else "ok")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs per store")
    parser.add_argument("--every", type=float, default=3.0,
                        help="mean seconds between kills (each 0.3 to 1.7 times this)")
    parser.add_argument("--clients", type=int, default=6, help="concurrent client tasks")
    parser.add_argument("--seed", type=int, help="the kill moments' random seed")
    parser.add_argument("--keep", action="store_true", help="keep the data and server logs")
    parser.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a server where a fresh database may be made (and dropped)")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
