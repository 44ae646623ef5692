"""Benchmark: department queues and inboxes as open items grow, on PostgreSQL.

In a throw-away database (``bench_<random>``, dropped at the end) the ledger's own commands
open cases as scripts/load.py seeds them (``benchdb.start_case``: 3 HR owners, 5 managers,
10 successors; each case approved, handing over the clearance and sales checklists, 28
items), the log is sequenced, the board caught up and the database vacuumed and analysed (as
autovacuum would); at each size of ``--cases`` the reads
the endpoints make are timed through the read functions they call, ``--rounds`` times each in
turn: the IT queue's first page and its page at offset 1,000 (50 entries), the finance queue's
first page, and the inboxes of an HR owner (its first page of 50, as ``GET /v1/inbox``
asks), a successor and an IT worker. Prints the median and 90th percentile of each, with the
entries shown and the total. Run it from another revision's checkout to compare.

    python scripts/bench_queues.py                      # 180 and 720 cases, 40 rounds
    python scripts/bench_queues.py --cases 100,400 --rounds 20
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchdb import (
    add_people,
    bench_parser,
    bench_runtime,
    check_loopback,
    create_database,
    drop_database,
    percentile,
    start_case,
    with_database,
)

from ledger.principals import Principal
from ledger.projections import inbox_queries as iq
from ledger.runtime import Runtime
from ledger.service.context import Actor, RequestContext

CONTEXT = RequestContext(ip="127.0.0.1", user_agent="bench_queues", auth="bench")
HRS, MANAGERS, SUCCESSORS = 3, 5, 10
# an earlier revision's inbox takes no page: it reads the whole, which the endpoint cut
PAGE: dict[str, Any] = {"limit": 50} if "limit" in inspect.signature(iq.inbox).parameters else {}


async def _people(runtime: Runtime) -> None:
    for n in range(HRS):
        await runtime.principals.add_principal(Principal(f"hr.{n}", f"HR {n}", ("hr",)))
    await runtime.principals.add_principal(Principal("it.bench", "IT", ("it",)))
    await add_people(runtime.principals, *(f"mgr.{n}" for n in range(MANAGERS)),
                     *(f"succ.{n}" for n in range(SUCCESSORS)))


async def _open_cases(runtime: Runtime, first: int, last: int) -> None:
    """Cases ``first`` to ``last`` - 1, eight at a time; then the board catches up."""
    today = dt.date.today()
    for at in range(first, last, 8):
        await asyncio.gather(*(start_case(
            runtime.ledger, n, Actor(f"hr.{n % HRS}", "hr"),
            Actor(f"mgr.{n % MANAGERS}", "employee"), f"succ.{n % SUCCESSORS}", CONTEXT,
            today + dt.timedelta(days=n % 60 - 10), runtime.principals)
            for n in range(at, min(at + 8, last))))
    while await runtime.sequencer.step():
        pass
    await runtime.board.catch_up()


def _reads(runtime: Runtime) -> dict[str, Callable[[], Awaitable[dict[str, Any]]]]:
    store, principals = runtime.projections, runtime.principals
    it = Actor("it.bench", "it")
    return {
        "queue it, page 1": lambda: iq.department_queue(store, it, "it", limit=50),
        "queue it, offset 1000": lambda: iq.department_queue(store, it, "it", limit=50,
                                                             offset=1000),
        "queue finance, page 1": lambda: iq.department_queue(store, Actor("hr.0", "hr"),
                                                             "finance", limit=50),
        "inbox of an HR owner": lambda: iq.inbox(store, principals, Actor("hr.0", "hr"),
                                                 **PAGE),
        "inbox of a successor": lambda: iq.inbox(store, principals,
                                                 Actor("succ.0", "employee"), **PAGE),
        "inbox of an IT worker": lambda: iq.inbox(store, principals, it, **PAGE),
    }


async def _measure(runtime: Runtime, rounds: int) -> None:
    reads = _reads(runtime)
    times: dict[str, list[float]] = {name: [] for name in reads}
    shown: dict[str, str] = {}
    for n in range(rounds + 3):  # three rounds to warm up
        for name, read in reads.items():
            started = time.perf_counter()
            found = await read()
            if n >= 3:
                times[name].append((time.perf_counter() - started) * 1000)
            shown[name] = f"{len(found['items'])} of {found.get('total', len(found['items']))}"
    for name, samples in times.items():
        print(f"  {name:24s} p50 {percentile(samples, 50):7.2f} ms  p90 "
              f"{percentile(samples, 90):7.2f} ms  ({shown[name]})", flush=True)


async def _vacuum(dsn: str) -> None:
    """What autovacuum would have done by now (this machine's test server runs without it):
    the tables' statistics, and their visibility maps for index-only counts."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def run(dsn: str, sizes: list[int], rounds: int) -> None:
    async with bench_runtime(dsn, "bench_queues_") as runtime:
        await _people(runtime)
        opened = 0
        for size in sizes:
            await _open_cases(runtime, opened + 1, size + 1)
            opened = size
            await _vacuum(dsn)
            items = await runtime.projections.fetch(
                "SELECT count(*) AS n FROM events WHERE event_type = 'ItemCreated'")
            print(f"{size} cases, {items[0]['n']:,} items, all open:", flush=True)
            await _measure(runtime, rounds)


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--cases", default="180,720",
                        help="the sizes measured, in cases opened (180,720)")
    parser.add_argument("--rounds", type=int, default=40, help="reads of each (40)")
    args = parser.parse_args(argv)
    try:
        sizes = sorted(int(x) for x in args.cases.split(","))
    except ValueError:
        parser.error("--cases: comma-separated numbers")
    if not sizes or sizes[0] < 1 or args.rounds < 1:
        parser.error("--cases and --rounds must be positive")
    check_loopback(args.dsn)
    name = asyncio.run(create_database(args.dsn))
    try:
        asyncio.run(run(with_database(args.dsn, name), sizes, args.rounds))
    finally:
        asyncio.run(drop_database(args.dsn, name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
