"""Benchmark: what the read models' workers cost an event, offline, on PostgreSQL.

In a throw-away database (``bench_<random>``, dropped at the end): 32 handover items (as
``bench_http.py``'s load uses), then ``--events`` comments on them, sequenced. The board runner
and the webhook outbox runner (no subscription, as in ``bench_http.py``) then catch up in
batches of ``--batch`` events, as they do under load (one batch per growth of the log); the
process CPU and wall time an event are printed, and the CPU of a step that finds nothing (the
fixed cost of a turn). No HTTP and no concurrent load: the figures isolate the workers' own
cost from the noise of a shared machine. Run it from another revision's checkout to compare.

    python scripts/bench_workers.py                       # 3,000 events, batches of 60
    python scripts/bench_workers.py --events 10000 --batch 500
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchdb import (
    HR,
    MANAGER,
    SUCCESSOR,
    bench_parser,
    bench_runtime,
    check_loopback,
    create_database,
    create_items,
    drop_database,
    with_database,
)

from ledger.projections.runner import ProjectionRunner
from ledger.service import commands as c
from ledger.service.context import RequestContext
from ledger.webhooks.wiring import build_webhooks


async def _catch_up(label: str, runner: ProjectionRunner, events: int, batch: int) -> None:
    runner.batch = batch
    steps = 0
    cpu, wall = time.process_time(), time.perf_counter()
    while await runner.step():
        steps += 1
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    idle = time.process_time()
    for _ in range(50):
        await runner.step()
    idle = (time.process_time() - idle) / 50
    print(f"{label}: {events:,} events in {steps} step(s) of up to {batch}: CPU "
          f"{cpu / events * 1e6:.0f} µs an event, wall {wall / events * 1e6:.0f} µs; a step "
          f"with nothing to do: CPU {idle * 1e6:.0f} µs", flush=True)


async def run(dsn: str, events: int, batch: int) -> None:
    """Build the log, then time each runner's catch-up."""
    async with bench_runtime(dsn, "bench_workers_") as runtime:
        context = RequestContext(ip="127.0.0.1", user_agent="bench_workers", auth="bench")
        items = await create_items(runtime.ledger, 32, HR, MANAGER, SUCCESSOR, context,
                                   runtime.principals)
        outbox, _ = build_webhooks(runtime.store, runtime.projections,
                                   runtime.settings.webhooks)
        while await runtime.sequencer.step():
            pass
        await runtime.board.catch_up()
        await outbox.catch_up()
        for n in range(events):
            await runtime.ledger.execute(c.CommentItem(
                item_id=items[n % len(items)],
                text=f"Checked the client list with the successor, round {n:07d}."),
                HR, context)
        while await runtime.sequencer.step():
            pass
        await _catch_up("board", runtime.board, events, batch)
        await _catch_up("webhook outbox", outbox, events, batch)


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--events", type=int, default=3000, help="comments logged (3,000)")
    parser.add_argument("--batch", type=int, default=60, help="events a step (60)")
    args = parser.parse_args(argv)
    if args.events < 1 or args.batch < 1:
        parser.error("--events and --batch must be positive")
    check_loopback(args.dsn)
    name = asyncio.run(create_database(args.dsn))
    try:
        asyncio.run(run(with_database(args.dsn, name), args.events, args.batch))
    finally:
        asyncio.run(drop_database(args.dsn, name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
