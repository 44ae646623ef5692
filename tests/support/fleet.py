"""Several ``ledger serve`` processes on one PostgreSQL database, as an operator runs them
(tests/e2e/test_failover.py and scripts/failover.py): real processes on loopback ports the
system picks, asked who leads what through ``/readyz``, killed with SIGKILL; a writer that
posts commands to whichever are alive and keeps what each 2xx answer acknowledged; and the
checks that the log, the outbox and the board came through whole."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import signal
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web

from ledger.bootstrap import open_storage
from ledger.principals import Principal, new_token
from ledger.projections.board import BoardProjector, tables
from ledger.projections.runner import ProjectionRunner
from ledger.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "failover.test/log"
# What one process at a time leads (``/readyz`` says "leading ..." or "standing by ...").
ROLES = ("sequencer", "projection:board", "projection:webhooks", "webhooks:dispatcher",
         "scheduler")
_SERVING = re.compile(r"serving on (http://127\.0\.0\.1:\d+) ")


@dataclass
class Served:
    """One ``ledger serve`` process: its address and where its output goes."""

    process: asyncio.subprocess.Process
    base: str
    output: Path

    def text(self) -> str:
        """What it has printed and logged so far."""
        return self.output.read_text(errors="replace")


@dataclass
class Fleet:
    """``ledger serve`` processes sharing ``dsn`` and one key folder under ``folder``."""

    dsn: str
    folder: Path
    env: dict[str, str] = field(default_factory=dict)
    prefix: tuple[str, ...] = ()  # a command that runs each process (tests/support/small_disk.py)
    alive: list[Served] = field(default_factory=list)
    started: int = 0

    def environment(self) -> dict[str, str]:
        """The processes' environment: the database, the shared keys, webhooks to loopback."""
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        return {**inherited, "PYTHONPATH": str(ROOT), "LEDGER_DATABASE_URL": self.dsn,
                "LEDGER_DATA_DIR": str(self.folder / "data"),
                "LEDGER_KEY_DIR": str(self.folder / "keys"), "LEDGER_LOG_ORIGIN": ORIGIN,
                "LEDGER_WEBHOOK_ALLOW": "127.0.0.1", **self.env}

    async def start(self, within: float = 60.0) -> Served:
        """Start one more process and return once it serves."""
        self.started += 1
        output = self.folder / f"serve-{self.started}.log"
        with output.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                *self.prefix, sys.executable, "-m", "ledger.cli", "serve", "--port", "0",
                cwd=self.folder, env=self.environment(), stdout=sink,
                stderr=asyncio.subprocess.STDOUT)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = _SERVING.search(output.read_text(errors="replace"))
            if found:
                served = Served(process, found.group(1), output)
                self.alive.append(served)
                return served
            if process.returncode is not None:
                break
            await asyncio.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise AssertionError(f"ledger serve did not start: {output.read_text()[-3000:]}")

    async def kill(self, served: Served) -> None:
        """SIGKILL ``served`` (no shutdown of any kind) and reap it."""
        self.alive.remove(served)
        served.process.send_signal(signal.SIGKILL)
        await served.process.wait()

    async def stop(self) -> None:
        """SIGTERM every live process and wait for each to end."""
        for served in self.alive:
            served.process.send_signal(signal.SIGTERM)
        for served in self.alive:
            try:
                await asyncio.wait_for(served.process.wait(), 30)
            except TimeoutError:
                served.process.kill()
                await served.process.wait()
        self.alive.clear()


async def workers(session: aiohttp.ClientSession, served: Served) -> dict[str, str]:
    """What ``served``'s workers say of themselves (``/readyz``); empty when it does not
    answer."""
    try:
        async with session.get(served.base + "/readyz",
                               timeout=aiohttp.ClientTimeout(total=2)) as reply:
            body = await reply.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return {}
    return {w["name"]: w["detail"] for w in body.get("workers", [])}


async def leaders(session: aiohttp.ClientSession, fleet: Fleet) -> dict[str, list[Served]]:
    """For each role, the live processes that say they lead it."""
    found: dict[str, list[Served]] = {role: [] for role in ROLES}
    for served in list(fleet.alive):
        for role, detail in (await workers(session, served)).items():
            if role in found and detail.startswith("leading"):
                found[role].append(served)
    return found


async def wait_for_leaders(session: aiohttp.ClientSession, fleet: Fleet,
                           within: float) -> dict[str, float]:
    """Seconds until each role had a live leader (asked every 50 ms); AssertionError naming
    the roles still without one after ``within`` seconds."""
    start = time.monotonic()
    taken: dict[str, float] = {}
    while time.monotonic() - start < within:
        for role, led_by in (await leaders(session, fleet)).items():
            if led_by and role not in taken:
                taken[role] = time.monotonic() - start
        if len(taken) == len(ROLES):
            return taken
        await asyncio.sleep(0.05)
    raise AssertionError(f"no leader within {within}s for {set(ROLES) - set(taken)}")


LEAVERS = 20


async def add_writer(dsn: str, folder: Path, principal_id: str = "hr.sun") -> str:
    """An HR principal with a bearer token, the leavers and the manager its departures name,
    written through the principal store; the token."""
    storage = await open_storage(Settings(database_url=dsn, data_dir=folder / "data"))
    try:
        await storage.principals.add_principal(Principal(principal_id, "孙 HR", ("hr",)))
        await storage.principals.add_principal(Principal("li.qiang", "李强", ("employee",)))
        for n in range(LEAVERS):
            await storage.principals.add_principal(Principal(f"leaver.{n}", f"Leaver {n}",
                                                             ("employee",)))
        token, token_hash = new_token()
        await storage.principals.add_token(token_hash, principal_id, "failover")
        return token
    finally:
        await storage.store.close()


async def subscribe(session: aiohttp.ClientSession, served: Served, operator_token: str,
                    url: str) -> None:
    """A JSON webhook subscription to every event type, made through the API."""
    async with session.post(served.base + "/v1/webhooks",
                            json={"url": url, "event_types": ["*"]},
                            headers={"Authorization": f"Bearer {operator_token}"}) as reply:
        assert reply.status == 201, await reply.text()


def _departure(n: int) -> dict[str, Any]:
    n %= LEAVERS
    return {"leaver": {"id": f"leaver.{n}", "name": f"Leaver {n}", "department": "Sales",
                       "position": "Account manager", "role_family": "sales"},
            "manager_id": "li.qiang", "hr_owner_id": "hr.sun", "notice_date": "2026-11-01",
            "last_working_day": "2026-11-30", "reason": "resigned",
            "approval_chain": [{"name": "manager", "approver_id": "li.qiang"}]}


@dataclass
class Writer:
    """Posts commands to the live processes in turn from ``clients`` tasks: each starts a
    departure, then sends it for approval. Keeps the events every 2xx acknowledged."""

    fleet: Fleet
    token: str
    clients: int = 6
    acknowledged: dict[str, bytes] = field(default_factory=dict)  # event id → hash
    refused: Counter[str] = field(default_factory=Counter)  # what was not acknowledged
    last_problem: str = ""  # the detail of the last refusal
    _turn: itertools.count[int] = field(default_factory=itertools.count)

    async def run(self, session: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        """Write until ``stop`` is set."""
        await asyncio.gather(*(self._client(session, stop) for _ in range(self.clients)))

    async def _client(self, session: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        while not stop.is_set():
            n = next(self._turn)
            started = await self._post(session, "/v1/departures", _departure(n))
            if started is not None:
                departure = started["result"]["departure_id"]
                await self._post(session, f"/v1/departures/{departure}/submit", {})

    async def _post(self, session: aiohttp.ClientSession, path: str,
                    body: dict[str, Any]) -> dict[str, Any] | None:
        alive = self.fleet.alive
        if not alive:
            await asyncio.sleep(0.05)
            return None
        served = alive[next(self._turn) % len(alive)]
        try:
            async with session.post(served.base + path, json=body, headers={
                    "Authorization": f"Bearer {self.token}",
                    "Idempotency-Key": str(uuid.uuid4())},
                    timeout=aiohttp.ClientTimeout(total=30)) as reply:
                document = await reply.json(content_type=None)
                if reply.status >= 300:
                    self.refused[str(reply.status)] += 1
                    self.last_problem = str(document.get("detail", ""))[:300]
                    return None
        except (aiohttp.ClientError, TimeoutError) as e:
            self.refused[type(e).__name__] += 1  # the process died under it: unacknowledged
            self.last_problem = repr(e)[:300]
            return None
        for event in document["events"]:
            self.acknowledged[event["id"]] = bytes.fromhex(event["hash"])
        result: dict[str, Any] = document
        return result


async def wait_caught_up(dsn: str, within: float = 60.0) -> int:
    """Wait until every committed event is in the log and every read model at its end;
    the log's size."""
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + within
        while True:
            row = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM events) AS events, "
                "(SELECT count(*) FROM log_entries) AS logged, "
                "(SELECT min(position) FROM projection_state) AS projected")
            if row["events"] == row["logged"] == row["projected"]:
                return int(row["logged"])
            if time.monotonic() > deadline:
                raise AssertionError(f"not caught up after {within}s: {dict(row)}")
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


@dataclass(frozen=True)
class LogFindings:
    """What the database holds after the run."""

    size: int
    gaps_or_duplicates: int  # log indexes not exactly 0..size-1, once each
    acknowledged_missing: int  # acknowledged events not in the log
    acknowledged_twice: int  # acknowledged events in the log more than once
    outbox_rows: int
    outbox_duplicates: int  # rows beyond one per (subscription, event)
    outbox_expected: int  # logged events a subscription wanted


async def examine_log(dsn: str, acknowledged: dict[str, bytes]) -> LogFindings:
    """Count what the run should have left exactly once."""
    conn = await asyncpg.connect(dsn)
    try:
        indexes = [int(r[0]) for r in await conn.fetch("SELECT idx FROM log_entries "
                                                       "ORDER BY idx")]
        gaps = sum(1 for k, idx in enumerate(indexes) if k != idx)
        gaps += len(indexes) - len(set(indexes))
        counts = {bytes(r[0]): int(r[1]) for r in await conn.fetch(
            "SELECT event_hash, count(*) FROM log_entries WHERE event_hash = ANY($1::bytea[]) "
            "GROUP BY event_hash", list(acknowledged.values()))}
        missing = sum(1 for h in acknowledged.values() if h not in counts)
        twice = sum(1 for n in counts.values() if n > 1)
        outbox = await conn.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT (subscription_id, event_id)) AS d "
            "FROM webhook_outbox")
        expected = await conn.fetchval(
            "SELECT coalesce(sum(greatest(0, (SELECT count(*) FROM log_entries) "
            "- s.from_index)), 0) FROM webhook_subscriptions s")
        return LogFindings(len(indexes), gaps, missing, twice, int(outbox["n"]),
                           int(outbox["n"]) - int(outbox["d"]), int(expected))
    finally:
        await conn.close()


async def board_against_rebuild(dsn: str, folder: Path) -> tuple[int, int]:
    """Rebuild the board from the log into fresh tables and compare them, row by row, with
    the tables the running processes kept; (rows compared, rows that differ). The processes
    must be stopped (or standing by)."""
    storage = await open_storage(Settings(database_url=dsn, data_dir=folder / "data"))
    try:
        async def snapshot() -> list[list[dict[str, Any]]]:
            state = {s.name: s for s in await storage.projections.states()}["board"]
            return [await storage.projections.fetch(f"SELECT * FROM {name} ORDER BY 1, 2")
                    for name in tables(state.generation).values()]

        kept = await snapshot()
        await ProjectionRunner(storage.projections, BoardProjector()).rebuild()
        rebuilt = await snapshot()
    finally:
        await storage.store.close()
    rows = sum(len(t) for t in kept)
    differ = sum(len([r for r in a if r not in b]) + len([r for r in b if r not in a])
                 for a, b in zip(kept, rebuilt, strict=True))
    return rows, differ


@contextlib.asynccontextmanager
async def fresh_database(admin_dsn: str) -> Any:
    """A new, empty PostgreSQL database on ``admin_dsn``'s server, dropped afterwards."""
    admin = await asyncpg.connect(admin_dsn)
    name = f"ledger_failover_{uuid.uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield admin_dsn.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def webhook_receiver() -> tuple[web.AppRunner, str]:
    """A loopback server that accepts every webhook delivery (204); its runner and hook URL."""
    async def accept(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", accept)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
