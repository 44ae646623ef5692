"""Failover under load: three ``ledger serve`` processes on one fresh PostgreSQL database,
written to side by side; every ``--every`` seconds the process leading the sequencer is
killed with SIGKILL and a fresh one is started in its place (the next kill waits for it:
three processes run before each kill). Prints how long each takeover
took (until every role had a live leader again, as the survivors' ``/readyz`` say), then
checks what the run left: log indexes 0..n-1 once each, every acknowledged event in the log
exactly once, one outbox row per subscribed event, and the board equal to a rebuild.

    python scripts/failover.py --seconds 60 --every 8

Exits 1 when a check fails or a takeover took 5 s or more. Uses the processes, writer and
checks of tests/support/fleet.py (the CI version is tests/e2e/test_failover.py)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.fleet import (
    ROLES,
    Fleet,
    Served,
    Writer,
    add_writer,
    board_against_rebuild,
    examine_log,
    fresh_database,
    leaders,
    subscribe,
    wait_caught_up,
    wait_for_leaders,
    webhook_receiver,
)

LIMIT = 5.0



async def _victim(session: aiohttp.ClientSession, fleet: Fleet) -> Served:
    led = await leaders(session, fleet)
    for role in ROLES:  # the sequencer's leader first
        if led[role]:
            return led[role][0]
    return fleet.alive[0]


async def run(admin_dsn: str, seconds: float, every: float, clients: int) -> int:
    takeovers: list[dict[str, float]] = []
    receiver, hook = await webhook_receiver()
    folder = Path(tempfile.mkdtemp(prefix="failover-"))
    async with fresh_database(admin_dsn) as dsn:
        fleet = Fleet(dsn, folder)
        try:
            first = await fleet.start()
            operator = next(line.rsplit(" ", 1)[-1] for line in first.text().splitlines()
                            if "bootstrap operator token" in line)
            await asyncio.gather(fleet.start(), fleet.start())
            token = await add_writer(dsn, folder)
            async with aiohttp.ClientSession() as session:
                await subscribe(session, first, operator, hook)
                await wait_for_leaders(session, fleet, 30)
                writer = Writer(fleet, token, clients=clients)
                stop = asyncio.Event()
                writing = asyncio.create_task(writer.run(session, stop))
                ends = time.monotonic() + seconds
                starting: list[asyncio.Task[Served]] = []
                while time.monotonic() + every < ends:
                    await asyncio.sleep(every)
                    await asyncio.gather(*starting)  # three processes before each kill
                    starting.clear()
                    victim = await _victim(session, fleet)
                    await fleet.kill(victim)
                    taken = await wait_for_leaders(session, fleet, 30)
                    takeovers.append(taken)
                    print(f"kill {len(takeovers)}: every role led again after "
                          f"{max(taken.values()):.2f}s (sequencer {taken['sequencer']:.2f}s, "
                          f"board {taken['projection:board']:.2f}s); "
                          f"{len(writer.acknowledged)} events acknowledged", flush=True)
                    starting.append(asyncio.create_task(fleet.start()))
                await asyncio.gather(*starting)
                stop.set()
                await writing
                size = await wait_caught_up(dsn, 120)
            await fleet.stop()
        finally:
            await fleet.stop()
            await receiver.cleanup()
        found = await examine_log(dsn, writer.acknowledged)
        rows, differ = await board_against_rebuild(dsn, folder)
    totals = [max(t.values()) for t in takeovers]
    print(f"\n{len(takeovers)} kills in {seconds:.0f}s; takeover (every role led again): "
          + (f"min {min(totals):.2f}s, median {statistics.median(totals):.2f}s, "
             f"max {max(totals):.2f}s" if totals else "none"))
    for role in ROLES:
        times = [t[role] for t in takeovers]
        if times:
            print(f"  {role:22} median {statistics.median(times):.2f}s  max {max(times):.2f}s")
    print(f"acknowledged {len(writer.acknowledged)} events; not acknowledged: "
          f"{dict(writer.refused) or 'none'}")
    print(f"log: {found.size} entries (caught up at {size}), gaps or duplicates "
          f"{found.gaps_or_duplicates}; acknowledged missing {found.acknowledged_missing}, "
          f"twice {found.acknowledged_twice}")
    print(f"outbox: {found.outbox_rows} rows for {found.outbox_expected} subscribed events, "
          f"{found.outbox_duplicates} duplicates")
    print(f"board: {rows} rows, {differ} differ from a rebuild")
    failed = (found.gaps_or_duplicates or found.acknowledged_missing
              or found.acknowledged_twice or found.outbox_duplicates
              or found.outbox_rows != found.outbox_expected or differ
              or any(t >= LIMIT for t in totals))
    print("FAILED" if failed else "ok")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to write")
    parser.add_argument("--every", type=float, default=8.0, help="seconds between kills")
    parser.add_argument("--clients", type=int, default=6, help="concurrent writers")
    parser.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a server where a fresh database may be made (and dropped)")
    args = parser.parse_args()
    return asyncio.run(run(args.admin_dsn, args.seconds, args.every, args.clients))


if __name__ == "__main__":
    sys.exit(main())
