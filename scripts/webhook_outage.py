"""A webhook receiver down for a while of simulated time, on both stores: the ledger's
workers run as ``ledger serve`` runs them with the runtime's clock simulated; a real receiver
on 127.0.0.1 takes the first events, is stopped (connections refused) for most of the
outage and answers 503 with Retry-After for its last quarter, while three cases are worked
on over HTTP; then it is back and the clock jumps from one due attempt to the next until
the outbox is empty. Prints, per store: events, failed attempts, attempts per delivery, dead
letters, undelivered, duplicates, departures received out of order, and how long after its
return (simulated) the receiver had everything.

    python scripts/webhook_outage.py --hours 1
    python scripts/webhook_outage.py --hours 20 --tick 300
    python scripts/webhook_outage.py --hours 1 --max-attempts 10   # the old default: dead letters

Exits 1 when something was lost, dead-lettered, doubled or out of order. The steps are
tests/support/webhook_outage.py's (the CI version is tests/integration/
test_webhook_outage.py)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger.webhooks.settings import WebhookSettings
from tests.integration.http_fixtures import serve
from tests.support.fleet import fresh_database
from tests.support.webhook_outage import SimulatedClock, run_outage


@contextlib.asynccontextmanager
async def database(store: str, folder: Path, admin_dsn: str) -> AsyncIterator[str]:
    if store == "sqlite":
        yield f"sqlite:///{folder}/ledger.db"
        return
    async with fresh_database(admin_dsn) as dsn:
        yield dsn


async def run(stores: list[str], hours: float, tick: float, max_attempts: int | None,
              admin_dsn: str) -> int:
    failed = False
    webhooks = WebhookSettings(allow=("127.0.0.1",))
    if max_attempts:
        webhooks = webhooks.model_copy(update={"max_attempts": max_attempts})
    print(f"receiver down {hours:g} h simulated (refusing {hours * 0.75:g} h, then 503 with "
          f"Retry-After), clock tick {tick:g}s, {webhooks.max_attempts} attempts before a "
          "dead letter")
    for store in stores:
        folder = Path(tempfile.mkdtemp(prefix="webhook-outage-"))
        clock = SimulatedClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
        async with database(store, folder, admin_dsn) as url, serve(
                url, folder, clock=clock, scheduler=False, webhooks=webhooks) as api:
            found = await run_outage(api, clock, down=hours * 3600 * 0.75,
                                     busy=hours * 3600 * 0.25, tick=tick,
                                     limit=max(12.0, 2 * hours) * 3600)
        print(f"{store:8} {found.summary()}", flush=True)
        for problem in found.problems:
            print(f"  PROBLEM: {problem[:400]}")
        failed = failed or bool(found.problems)
    print("FAILED" if failed else "ok")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=1.0, help="simulated outage")
    parser.add_argument("--tick", type=float, default=30.0,
                        help="simulated seconds per step of the clock during the outage")
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--max-attempts", type=int, default=None,
                        help="LEDGER_WEBHOOK_MAX_ATTEMPTS to run with (default: the default)")
    parser.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a server where a fresh database may be made (and dropped)")
    args = parser.parse_args()
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    return asyncio.run(run(stores, args.hours, args.tick, args.max_attempts, args.admin_dsn))


if __name__ == "__main__":
    sys.exit(main())
