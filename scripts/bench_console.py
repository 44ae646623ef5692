"""Benchmark: the web console's pages against the JSON endpoints that serve the same data.

In a throw-away database (``bench_<random>``, dropped at the end) the ledger's own commands
build ``--departures`` open cases (each started by HR, approved, with the clearance checklist
applied on approval and the sales checklist by HR; last working days spread from five days ago
to two months ahead, so the risk rules fire on some) and one case of ``--items`` items (the two
checklists, then items HR adds, some submitted, one rejected, some confirmed); the log is
sequenced and the board caught up. The whole site (``web.site.build_site``: API and console)
is then served on 127.0.0.1 in this process, and one client asks, one request at a time, in
turns (HTML then JSON, then JSON then HTML, ...):

- **dashboard**: ``GET /console/`` (HR's session, zh) beside ``GET /v1/boards/hr?limit=25``
  (HR's bearer token; the console's page size);
- **departure**: ``GET /console/departures/{id}`` beside ``GET /v1/boards/departures/{id}``
  (and beside the board with ``GET /v1/templates``: all the page shows);
- **timeline**: ``GET /console/departures/{id}/timeline`` beside ``GET
  /v1/departures/{id}/timeline`` (and with the case's own entries, for its approval decisions)
  (each measured when the console has that page).

Figures: server time (a timing middleware outermost in the site: request in → response
returned, authentication, middleware, queries and rendering included), the process's CPU time
over it (the server's own work: the client waits meanwhile and no worker runs), and round trip
(request sent → body read), p50/p99, and the answer's size. Target: the HTML page's server
time within 2x of the JSON endpoint's (p50 and p99). Exits 0 whatever the figures; 1 when
something goes wrong (an answer that is not 200, no database).

    python scripts/bench_console.py                 # 1,000 departures, 60 items, 300 rounds
    python scripts/bench_console.py --quick         # 300 departures, 100 rounds
    python scripts/bench_console.py --profile /tmp/console.prof   # cProfile the HTML requests
"""

from __future__ import annotations

import asyncio
import cProfile
import datetime as dt
import re
import sys
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web
from aiohttp.typedefs import Middleware
from benchdb import (
    HR,
    MANAGER,
    SUCCESSOR,
    BenchError,
    add_people,
    bench_parser,
    bench_runtime,
    check_loopback,
    create_database,
    drop_database,
    percentile,
    run_main,
    serve_loopback,
    start_case,
    with_database,
)

from api.endpoint import Handler
from api.query_routes import MAX_PAGE
from ledger.principals import new_token
from ledger.runtime import Runtime
from ledger.service import commands as c
from ledger.service.context import Actor, RequestContext
from web.site import build_site

CONTEXT = RequestContext(ip="127.0.0.1", user_agent="bench_console", auth="bench")
LEAVER = Actor(id="emp-bench-0", role="employee")
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
CATEGORIES = ("clients", "projects", "documents", "knowledge", "assets", "finance")


@dataclass
class Options:
    dsn: str
    departures: int
    items: int
    rounds: int
    warmup: int
    profile: str | None


@dataclass
class Series:
    """One contender's answers: server, server CPU and round-trip times (ms) and size."""

    name: str
    paths: tuple[str, ...]  # several: one answer's figures are their sums
    server: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    trip: list[float] = field(default_factory=list)
    size: int = 0


@dataclass
class Page:
    """A console page and the JSON endpoint serving its data."""

    name: str
    html: Series
    json: Series
    whole: Series | None = None  # the JSON endpoints serving everything the page shows


# --------------------------------------------------------------------------- the data


async def load_cases(runtime: Runtime, departures: int, items: int) -> uuid.UUID:
    """The open cases of the dashboard, and the departure page's case (returned)."""
    ledger, today = runtime.ledger, dt.date.today()
    await add_people(runtime.principals, MANAGER.id, SUCCESSOR, "recv-bench")
    big, _ = await start_case(ledger, 0, HR, MANAGER, SUCCESSOR, CONTEXT,
                              today + dt.timedelta(days=2), runtime.principals)
    await _fill(runtime, big, items)
    started = time.perf_counter()
    for first in range(1, departures, 16):
        await asyncio.gather(*(start_case(
            ledger, n, HR, MANAGER, SUCCESSOR, CONTEXT,
            today + dt.timedelta(days=n % 66 - 5), runtime.principals)
            for n in range(first, min(first + 16, departures))))
        if first % 160 == 1:
            print(f"  {min(first + 15, departures - 1) + 1:,} cases "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
    while await runtime.sequencer.step():
        pass
    await runtime.board.catch_up()
    return big


async def _fill(runtime: Runtime, departure_id: uuid.UUID, items: int) -> None:
    """Items HR adds until the case has ``items``; some submitted, confirmed, rejected."""
    ledger, today = runtime.ledger, dt.date.today()
    have = len(await _items_of(runtime, departure_id))
    for n in range(have, items):
        await ledger.execute(c.AddItem(
            departure_id=departure_id, category=CATEGORIES[n % len(CATEGORIES)],
            title=f"交接事项 {n:02d}：客户 {n * 7 % 31} 的合同与联系人",
            receiver="recv-bench", due_date=today + dt.timedelta(days=n % 9 - 4)), HR, CONTEXT)
    mine = [i for i in await _items_of(runtime, departure_id) if i[1] == "recv-bench"]
    receiver = Actor(id="recv-bench", role="employee")
    for n, (item_id, _) in enumerate(mine[:12]):
        await ledger.execute(c.SubmitItem(item_id=item_id, note="见附件"), LEAVER, CONTEXT)
        if n % 3 == 0:
            await ledger.execute(c.RejectItem(item_id=item_id, reason="缺少三期需求"),
                                 receiver, CONTEXT)
        elif n % 3 == 1:
            await ledger.execute(c.ConfirmItem(item_id=item_id), receiver, CONTEXT)


async def _items_of(runtime: Runtime, departure_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    from ledger.aggregates.departure import Departure
    from ledger.aggregates.item import HandoverItem

    departure = await runtime.ledger.load(Departure, departure_id)
    found = []
    for item_id in departure.item_ids:
        item = await runtime.ledger.load(HandoverItem, uuid.UUID(item_id))
        found.append((item.id, item.receiver))
    return found


# --------------------------------------------------------------------------- the measure


def timing(spent: list[tuple[float, float]]) -> Middleware:
    """The outermost middleware: each request's server time and this process's CPU time
    over it (ms; one request at a time, no worker running: the server's own) onto
    ``spent``."""

    @web.middleware
    async def timed(request: web.Request, handler: Handler) -> web.StreamResponse:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return await handler(request)
        finally:
            spent.append(((time.perf_counter() - start) * 1000,
                          (time.process_time() - cpu) * 1000))

    return timed


async def sign_in(client: aiohttp.ClientSession, base: str, token: str) -> None:
    """A console session for ``token`` in ``client``'s cookie jar."""
    async with client.get(f"{base}/console/sign-in") as r:
        found = CSRF.search(await r.text())
    if found is None:
        raise BenchError("the sign-in page has no CSRF field")
    async with client.post(f"{base}/console/sign-in", allow_redirects=False,
                           data={"token": token, "csrf": found.group(1)}) as r:
        if r.status != 303:
            raise BenchError(f"sign-in answered {r.status}")


async def ask(client: aiohttp.ClientSession, base: str, series: Series,
              headers: dict[str, str], spent: list[tuple[float, float]],
              record: bool) -> None:
    """One request per path, one after another; their summed server, CPU and round-trip
    times and sizes onto ``series`` when ``record``."""
    server = cpu = trip = 0.0
    size = 0
    for path in series.paths:
        start = time.perf_counter()
        async with client.get(base + path, headers=headers, allow_redirects=False) as r:
            body = await r.read()
        trip += (time.perf_counter() - start) * 1000
        if r.status != 200:
            raise BenchError(f"{path} answered {r.status}: {body[:200]!r}")
        one, one_cpu = spent.pop()
        server, cpu, size = server + one, cpu + one_cpu, size + len(body)
    if record:
        series.server.append(server)
        series.cpu.append(cpu)
        series.trip.append(trip)
        series.size = size


async def measure(options: Options) -> list[Page]:
    """Load the data, serve the site, measure each page beside its JSON endpoint."""
    async with bench_runtime(options.dsn, "bench_console_") as runtime:
        print(f"loading {options.departures:,} open departures and a case of "
              f"{options.items} items...", flush=True)
        big = await load_cases(runtime, options.departures, options.items)
        token, token_hash = new_token()
        await runtime.principals.add_token(token_hash, HR.id, "bench")
        spent: list[tuple[float, float]] = []
        app = build_site(runtime)
        app.middlewares.insert(0, timing(spent))
        case = f"/v1/departures/{big}"
        pages = [Page("dashboard", Series("HTML /console/", ("/console/",)),
                      Series("JSON /v1/boards/hr", ("/v1/boards/hr?limit=25",))),
                 Page("departure", Series("HTML departure page", (f"/console/departures/{big}",)),
                      Series("JSON departure board", (f"/v1/boards/departures/{big}",)),
                      Series("JSON board+templates", (
                          f"/v1/boards/departures/{big}", "/v1/templates"))),
                 Page("timeline", Series("HTML timeline page",
                                         (f"/console/departures/{big}/timeline",)),
                      Series("JSON timeline", (f"{case}/timeline?limit={MAX_PAGE}",)),
                      Series("JSON timeline+case stream", (
                          f"{case}/timeline?limit={MAX_PAGE}", f"/v1/streams/{big}/events")))]
        bearer = {"Authorization": f"Bearer {token}"}
        zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
        jar = aiohttp.CookieJar(unsafe=True)
        async with serve_loopback(app) as base, aiohttp.ClientSession(cookie_jar=jar) as client:
            await sign_in(client, base, token)
            spent.clear()
            measured = []
            for page in pages:
                async with client.get(base + page.html.paths[0], allow_redirects=False) as r:
                    spent.pop()
                    if r.status == 404:
                        print(f"{page.name}: the console has no such page yet; skipped",
                              flush=True)
                        continue
                print(f"measuring {page.name}: {options.rounds} rounds after "
                      f"{options.warmup}...", flush=True)
                profiler = cProfile.Profile() if options.profile else None
                for n in range(options.warmup + options.rounds):
                    record = n >= options.warmup
                    turns = [(page.html, zh), (page.json, bearer)]
                    if page.whole is not None:
                        turns.append((page.whole, bearer))
                    for series, headers in turns if n % 2 else reversed(turns):
                        if profiler is not None and record and series is page.html:
                            profiler.enable()
                        await ask(client, base, series, headers, spent, record)
                        if profiler is not None:
                            profiler.disable()
                if profiler is not None and options.profile:
                    target = f"{options.profile}.{page.name}"
                    profiler.dump_stats(target)
                    print(f"  profile of the HTML requests written to {target}", flush=True)
                measured.append(page)
        return measured


def run(options: Options) -> list[Page]:
    """Create the database, measure, always drop the database."""
    check_loopback(options.dsn)
    name = asyncio.run(create_database(options.dsn))
    try:
        return asyncio.run(measure(replace(options, dsn=with_database(options.dsn, name))))
    finally:
        asyncio.run(drop_database(options.dsn, name))


# --------------------------------------------------------------------------- report


def report(pages: list[Page], options: Options) -> None:
    """A table of both contenders per page and the ratios held to the 2x target."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 120))
    table = Table(title=f"console pages against their JSON endpoints ({options.departures:,} "
                        f"open departures; departure page of {options.items} items; "
                        f"{options.rounds} requests each)")
    for column in ("page", "contender", "server p50 ms", "server p99 ms", "CPU p50 ms",
                   "round trip p50 ms", "round trip p99 ms", "bytes"):
        table.add_column(column, justify="left" if column in ("page", "contender") else "right")
    for page in pages:
        for series in (page.html, page.json, *([page.whole] if page.whole else [])):
            table.add_row(page.name, series.name, f"{percentile(series.server, 50):.2f}",
                          f"{percentile(series.server, 99):.2f}",
                          f"{percentile(series.cpu, 50):.2f}",
                          f"{percentile(series.trip, 50):.2f}",
                          f"{percentile(series.trip, 99):.2f}", f"{series.size:,}")
    console.print(table)
    for page in pages:
        for p in (50, 99):
            ratio = percentile(page.html.server, p) / percentile(page.json.server, p)
            verdict = "met" if ratio <= 2 else "NOT met"
            console.print(f"{page.name}: HTML / JSON server time p{p} = {ratio:.2f}x  "
                          f"(target ≤ 2x: {verdict})", highlight=False)
        if page.whole is not None:
            whole = percentile(page.html.server, 50) / percentile(page.whole.server, 50)
            console.print(f"{page.name}: HTML / JSON of everything the page shows, server "
                          f"time p50 = {whole:.2f}x  (info)", highlight=False)
        cpu = percentile(page.html.cpu, 50) / percentile(page.json.cpu, 50)
        console.print(f"{page.name}: HTML / JSON server CPU p50 = {cpu:.2f}x  (info: the "
                      "server's own work, without waiting for PostgreSQL or the machine)",
                      highlight=False)


def parse_args(argv: list[str] | None = None) -> Options:
    """Read the command line."""
    parser = bench_parser(__doc__)
    parser.add_argument("--departures", type=int, default=None,
                        help="open departures on the dashboard (1,000; 300 with --quick)")
    parser.add_argument("--items", type=int, default=60, help="items of the departure page")
    parser.add_argument("--rounds", type=int, default=None,
                        help="measured requests per contender (300; 100 with --quick)")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured rounds first")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--profile", metavar="PATH",
                        help="cProfile the measured HTML requests into PATH.<page> (the "
                             "figures are then not representative)")
    args = parser.parse_args(argv)
    departures = args.departures or (300 if args.quick else 1000)
    rounds = args.rounds or (100 if args.quick else 300)
    if departures < 2 or args.items < 30 or rounds < 1 or args.warmup < 0:
        parser.error("--departures ≥ 2, --items ≥ 30 (two checklists), --rounds ≥ 1")
    return Options(args.dsn, departures, args.items, rounds, args.warmup, args.profile)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 whatever the figures, 1 on errors."""
    options = parse_args(argv)
    return run_main("bench_console", lambda: run(options),
                    lambda pages: report(pages, options))


if __name__ == "__main__":
    sys.exit(main())
