"""Benchmark: commands per second in 100-command batches (``POST /v1/commands``) against
single requests from 16 concurrent clients, side by side, on SQLite and on PostgreSQL.

Per store, one ledger server runs in a subprocess of its own (``api.app.build_app`` over
``bootstrap(Settings(...))`` with its workers running, as ``ledger serve``); this process is
the load generator, so clients and server never share an event loop. The database is a fresh
SQLite file, and a throw-away PostgreSQL database (``bench_<random>``, loopback only, dropped
at the end). Every command is ``comment_item`` by an HR principal on an open handover item,
with an idempotency key of its own (as a system posting in bulk would send):

- **single**: ``--clients`` (16) closed loops of ``POST /v1/items/{id}/comments``, each
  client on its own items, until ``--commands`` (2,000) are answered 201;
- **batch**: ``--commands`` commands in ``POST /v1/commands`` requests of ``--batch`` (100)
  commands, one item per command, from ``--batch-clients`` (1) closed loops (each on items
  of its own), every result 201.

The two alternate for ``--rounds`` (2) rounds after a warm-up of each, so a machine shared with
other work loads both alike; the figures are the totals over the rounds. Printed: commands,
seconds and commands/s per contender and store, and the ratio batch / single per store
(target ≥ 3×). Exit status 0 whatever the figures; 1 when something goes wrong (an answer
that is not 201, events that do not add up, no database).

    python scripts/bench_batch.py                       # both stores
    python scripts/bench_batch.py --stores sqlite --rounds 1 --commands 500
    python scripts/bench_batch.py --stores postgres --profile /tmp/batch   # pyinstrument,
                                      # the server's batch and single windows, as text files
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from benchdb import (
    HR,
    MANAGER,
    SUCCESSOR,
    BenchError,
    bench_parser,
    bench_runtime,
    check_loopback,
    create_database,
    create_items,
    drop_database,
    parse_contenders,
    run_main,
    serve_loopback,
    with_database,
)

STORES = ("sqlite", "postgres")
TARGET = 3.0


@dataclass(frozen=True)
class Settings:
    """Parsed command line."""

    dsn: str
    stores: tuple[str, ...]
    commands: int
    clients: int
    batch: int
    batch_clients: int
    rounds: int
    profile: str | None


@dataclass
class Figures:
    """One contender on one store, over every round."""

    commands: int = 0
    seconds: float = 0.0
    requests: int = 0
    rounds: list[float] = field(default_factory=list)  # commands/s of each round

    @property
    def rate(self) -> float:
        return self.commands / self.seconds if self.seconds > 0 else 0.0


# --------------------------------------------------------------------------- the server


async def _serve(url: str, items: int, pipe: Connection, profile: str | None) -> None:
    from api.app import build_app
    from ledger.principals import new_token
    from ledger.service.context import RequestContext

    async with bench_runtime(url, "bench_batch_") as runtime:
        token, token_hash = new_token()
        await runtime.principals.add_token(token_hash, HR.id, "bench_batch")
        created = await create_items(
            runtime.ledger, items, HR, MANAGER, SUCCESSOR,
            RequestContext(ip="127.0.0.1", user_agent="bench_batch", auth="bench"),
            runtime.principals)
        async with serve_loopback(build_app(runtime)) as base_url:
            await runtime.workers.start()  # as ``ledger serve``: once the site is up
            try:
                pipe.send(("ready", {"base_url": base_url, "token": token,
                                     "items": [str(i) for i in created]}))
                await _control(pipe, runtime, profile)
            finally:
                await runtime.workers.stop()


async def _control(pipe: Connection, runtime: Any, profile: str | None) -> None:
    """Answer the load generator: events (how many stored), profile on/off, stop."""
    loop = asyncio.get_running_loop()
    profiler: Any = None
    while True:
        message = await loop.run_in_executor(None, pipe.recv)
        if message == "stop":
            return
        if message == "events":
            pipe.send(await runtime.store.count_events())
        elif isinstance(message, tuple) and message[0] == "profile-on" and profile:
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="disabled")
            profiler.start()
            pipe.send(True)
        elif isinstance(message, tuple) and message[0] == "profile-off" and profiler:
            profiler.stop()
            path = Path(f"{profile}_{message[1]}.txt")
            text = profiler.output_text(unicode=True, show_all=False)
            await loop.run_in_executor(None, path.write_text, text)
            profiler = None
            pipe.send(str(path))
        else:
            pipe.send(None)


def server_process(url: str, items: int, pipe: Connection, profile: str | None) -> None:
    """Entry point of the server subprocess: ("ready", info) or ("error", text)."""
    try:
        asyncio.run(_serve(url, items, pipe, profile))
    except BaseException as e:  # reported by the parent
        pipe.send(("error", f"{type(e).__name__}: {e}"))
        raise
    finally:
        pipe.close()


# --------------------------------------------------------------------------- the load


class Load:
    """The load generator's HTTP session and the items each client works on."""

    def __init__(self, session: Any, items: list[str], settings: Settings) -> None:
        self.session = session
        self.items = items
        self.settings = settings
        self.sent = 0

    def body(self, item: str) -> dict[str, Any]:
        self.sent += 1
        return {"text": f"Account disabled in the directory, report {self.sent:07d} for {item}."}

    async def single(self, commands: int) -> tuple[int, int]:
        """``commands`` single requests from the clients; (commands, requests)."""
        clients = self.settings.clients
        left = [commands]

        async def client(c: int) -> None:
            mine, n = self.items[c::clients], 0
            while left[0] > 0:
                left[0] -= 1
                item = mine[n % len(mine)]
                n += 1
                async with self.session.post(
                        f"/v1/items/{item}/comments", json=self.body(item),
                        headers={"Idempotency-Key": str(uuid.uuid4())}) as response:
                    payload = await response.read()
                    if response.status != 201:
                        raise BenchError(f"single comment answered {response.status}: "
                                         f"{payload[:300]!r}")

        await asyncio.gather(*(client(c) for c in range(clients)))
        return commands, commands

    async def batches(self, commands: int) -> tuple[int, int]:
        """``commands`` commands in batches from the batch clients; (commands, requests)."""
        size, clients = self.settings.batch, self.settings.batch_clients
        left, requests = [commands], [0]

        async def client(c: int) -> None:
            mine = self.items[c * size:(c + 1) * size]
            while left[0] > 0:
                count = min(size, left[0])
                left[0] -= count
                requests[0] += 1
                batch = [{"idempotency_key": str(uuid.uuid4()),
                          "command": {"type": "comment_item", "item_id": item,
                                      **self.body(item)}} for item in mine[:count]]
                async with self.session.post("/v1/commands",
                                             json={"commands": batch}) as response:
                    payload = await response.read()
                    if response.status != 200:
                        raise BenchError(f"batch answered {response.status}: "
                                         f"{payload[:300]!r}")
                results = json.loads(payload)["results"]
                wrong = [r for r in results if r["status"] != 201]
                if len(results) != count or wrong:
                    raise BenchError(f"batch: {len(results)} results for {count} commands, "
                                     f"first wrong: {wrong[:1]!r}")

        await asyncio.gather(*(client(c) for c in range(clients)))
        return commands, requests[0]


def _ask(pipe: Connection, message: object, timeout: float = 120) -> Any:
    pipe.send(message)
    if not pipe.poll(timeout):
        raise BenchError(f"the server did not answer {message!r}")
    return pipe.recv()


async def _drive(info: dict[str, Any], pipe: Connection,
                 settings: Settings) -> tuple[dict[str, Figures], int]:
    import aiohttp

    figures = {"single": Figures(), "batch": Figures()}
    connector = aiohttp.TCPConnector(limit=max(settings.clients, settings.batch_clients))
    headers = {"Authorization": f"Bearer {info['token']}"}
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(info["base_url"], connector=connector, headers=headers,
                                     timeout=timeout) as session:
        load = Load(session, info["items"], settings)
        warmup = min(settings.commands, 2 * settings.batch)
        await load.single(warmup)
        await load.batches(warmup)
        expected = 2 * warmup
        for n in range(settings.rounds):
            for name in ("batch", "single") if n % 2 else ("single", "batch"):
                run = load.batches if name == "batch" else load.single
                if settings.profile and n == 0:
                    _ask(pipe, ("profile-on",))
                t0 = time.perf_counter()
                commands, requests = await run(settings.commands)
                seconds = time.perf_counter() - t0
                if settings.profile and n == 0:
                    print(f"    profile: {_ask(pipe, ('profile-off', name))}", flush=True)
                expected += commands
                f = figures[name]
                f.commands += commands
                f.seconds += seconds
                f.requests += requests
                f.rounds.append(commands / seconds)
                print(f"    round {n + 1} {name:6}: {commands} commands in {requests} "
                      f"requests, {seconds:.2f} s = {commands / seconds:,.0f}/s", flush=True)
    return figures, expected


def bench_store(ctx: Any, store: str, url: str, settings: Settings) -> dict[str, Figures]:
    """Start the server on ``url``, alternate the two loads, check the events, stop it."""
    parent, child = ctx.Pipe()
    items = max(settings.batch * settings.batch_clients, settings.clients)
    profile = f"{settings.profile}_{store}" if settings.profile else None
    process = ctx.Process(target=server_process, args=(url, items, child, profile),
                          name=f"server-{store}")
    process.start()
    child.close()
    try:
        if not parent.poll(600):
            raise BenchError(f"the {store} server did not start")
        status, info = parent.recv()
        if status != "ready":
            raise BenchError(f"the {store} server failed: {info}")
        before = _ask(parent, "events")
        figures, expected = asyncio.run(_drive(info, parent, settings))
        stored = _ask(parent, "events") - before
        if stored != expected:
            raise BenchError(f"{store}: {expected} comments answered 201, {stored} events "
                             f"stored")
        parent.send("stop")
        process.join(60)
    finally:
        if process.is_alive():
            process.kill()
            process.join(10)
    return figures


def run(settings: Settings) -> dict[str, dict[str, Figures]]:
    """Both loads on each chosen store; the PostgreSQL database is always dropped."""
    ctx = multiprocessing.get_context("spawn")
    results: dict[str, dict[str, Figures]] = {}
    print(f"{settings.commands} commands per contender and round, {settings.rounds} rounds; "
          f"single: {settings.clients} clients; batch: {settings.batch} commands per request, "
          f"{settings.batch_clients} client(s); {os.cpu_count()} CPUs", flush=True)
    for store in settings.stores:
        print(f"{store}:", flush=True)
        if store == "sqlite":
            with tempfile.TemporaryDirectory(prefix="bench_batch_db_") as tmp:
                results[store] = bench_store(ctx, store, f"sqlite:///{tmp}/ledger.db",
                                             settings)
            continue
        check_loopback(settings.dsn)
        name = asyncio.run(create_database(settings.dsn))
        try:
            results[store] = bench_store(ctx, store, with_database(settings.dsn, name),
                                         settings)
        finally:
            asyncio.run(drop_database(settings.dsn, name))
    return results


def report(results: dict[str, dict[str, Figures]], settings: Settings) -> None:
    """Print the table and the ratio per store."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 110))
    table = Table(title=f"comment_item: {settings.batch}-command batches vs single requests "
                        f"from {settings.clients} clients ({os.cpu_count()} CPUs)")
    for column in ("store", "contender", "commands", "requests", "seconds", "commands/s",
                   "per round"):
        table.add_column(column, justify="left" if column in ("store", "contender")
                         else "right", no_wrap=True)
    for store, figures in results.items():
        for name, f in figures.items():
            table.add_row(store, name, str(f.commands), str(f.requests), f"{f.seconds:.2f}",
                          f"{f.rate:,.0f}", " ".join(f"{r:,.0f}" for r in f.rounds))
    console.print(table)
    for store, figures in results.items():
        single, batch = figures["single"], figures["batch"]
        ratio = batch.rate / single.rate if single.rate else float("nan")
        verdict = "met" if ratio >= TARGET else "NOT met"
        console.print(f"{store:8} batch / single = {ratio:.2f}x  (target ≥ {TARGET:g}x: "
                      f"{verdict})", highlight=False)


def parse_args(argv: list[str] | None = None) -> Settings:
    """Read the command line."""
    parser = bench_parser(__doc__)
    parser.add_argument("--stores", default=",".join(STORES), help="sqlite,postgres")
    parser.add_argument("--commands", type=int, default=2000,
                        help="commands per contender and round (2000)")
    parser.add_argument("--clients", type=int, default=16, help="single-request clients (16)")
    parser.add_argument("--batch", type=int, default=100, help="commands per batch (100)")
    parser.add_argument("--batch-clients", type=int, default=1, help="batch clients (1)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (2)")
    parser.add_argument("--profile", metavar="PREFIX",
                        help="pyinstrument the server over round 1 of each contender into "
                             "PREFIX_<store>_<contender>.txt (figures then not representative)")
    args = parser.parse_args(argv)
    stores = parse_contenders(parser, args.stores, STORES)
    if min(args.commands, args.clients, args.batch, args.batch_clients, args.rounds) < 1:
        parser.error("--commands, --clients, --batch, --batch-clients and --rounds must be "
                     "positive")
    if args.batch > 100:
        parser.error("--batch is at most 100 (POST /v1/commands takes up to 100 commands)")
    return Settings(args.dsn, stores, args.commands, args.clients, args.batch,
                    args.batch_clients, args.rounds, args.profile)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 whatever the figures, 1 on errors."""
    settings = parse_args(argv)
    return run_main("bench_batch", lambda: run(settings),
                    lambda results: report(results, settings))


if __name__ == "__main__":
    sys.exit(main())
