"""A full disk under a real ``ledger serve``, on both blob stores, for a set time: each round
starts a server whose data folder and temporary folder lie on a 16 MiB filesystem of its own
(a tmpfs in a private mount namespace: nothing stays mounted), fills it to a random room and
uploads a file larger than that room, so the blob store fails part way; then the disk is
filled to the last byte and a comment is posted; the space returns and the same file is
uploaded again; on PostgreSQL the database's own disk also fills part way through a file
(PostgreSQL's ``disk_full``, SQLSTATE 53100, from a quota trigger). Each round checks: 507
problem+json with Retry-After, no event citing the refused file, no part of it stored, no
temporary file left, the upload once space returns stored and downloaded unchanged, the
workers ready again, ``ledger verify`` clean.

    python scripts/full_disk.py --seconds 120

Exits 1 when a round broke an expectation. The steps are tests/support/full_disk.py's (the
CI version is tests/e2e/test_full_disk.py)."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger.store.postgres_blobs import SPOOL_IN_MEMORY
from tests.support.fleet import fresh_database
from tests.support.full_disk import Findings, run_full_disk
from tests.support.small_disk import why_no_small_disk


async def one_round(store: str, admin_dsn: str, draw: random.Random) -> tuple[Findings, str]:
    room = draw.randrange(64 << 10, 2 << 20)
    # the PostgreSQL store spools its first MiB in memory: only a larger file meets the disk
    spooled = SPOOL_IN_MEMORY if store == "postgres" else 0
    big = room + spooled + draw.randrange(64 << 10, 6 << 20)
    label = f"room {room >> 10} KiB, file {big >> 10} KiB"
    folder = Path(tempfile.mkdtemp(prefix="full-disk-"))
    if store == "sqlite":
        return await run_full_disk(store, folder, "", big=big, room=room), label
    async with fresh_database(admin_dsn) as dsn:
        return await run_full_disk(store, folder, dsn, big=big, room=room), label


async def run(admin_dsn: str, seconds: float, seed: int) -> int:
    draw = random.Random(seed)
    ends = time.monotonic() + seconds
    rounds: list[Findings] = []
    refusals: list[float] = []
    while time.monotonic() < ends:
        for store in ("sqlite", "postgres"):
            started = time.monotonic()
            found, label = await one_round(store, admin_dsn, draw)
            rounds.append(found)
            refusals += [a.seconds for a in found.answers if a.status == 507]
            steps = ", ".join(f"{a.step} {a.status}" for a in found.answers)
            print(f"{store:8} {label}: {steps}; verify exit {found.verify_exit}; "
                  f"{time.monotonic() - started:.1f}s"
                  + (f"\n  PROBLEMS: {found.problems}" if found.problems else ""), flush=True)
    statuses = Counter(str(a.status) for f in rounds for a in f.answers)
    failed = [f for f in rounds if f.problems]
    print(f"\n{len(rounds)} rounds (seed {seed}); answers {dict(statuses)}; "
          f"507 answered in median {statistics.median(refusals) * 1000:.0f} ms, "
          f"max {max(refusals) * 1000:.0f} ms" if refusals else "no refusal seen")
    print("FAILED" if failed else "ok")
    return 1 if failed or not refusals else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to run rounds")
    parser.add_argument("--seed", type=int, default=13, help="the random rooms and sizes")
    parser.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a server where a fresh database may be made (and dropped)")
    args = parser.parse_args()
    reason = why_no_small_disk()
    if reason is not None:
        print(f"cannot mount a small filesystem here: {reason}", file=sys.stderr)
        return 2
    return asyncio.run(run(args.admin_dsn, args.seconds, args.seed))


if __name__ == "__main__":
    sys.exit(main())
