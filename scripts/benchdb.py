"""Shared by the benchmarks: a fresh, uniquely named PostgreSQL database on loopback only, the
raw-INSERT ceiling's table, the actors and items the measured commands work on, the
nearest-rank percentile, the command-line plumbing (``--dsn``, ``--contenders``, exit status)
and serving an aiohttp app on loopback."""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import secrets
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from ledger.service import commands as c
from ledger.service.context import Actor, RequestContext
from ledger.service.ledger import Ledger

if TYPE_CHECKING:
    from aiohttp import web

    from ledger.runtime import Runtime
    from ledger.store.principal_port import PrincipalStore

R = TypeVar("R")

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
HR = Actor(id="hr-bench", role="hr", name="Bench HR")
MANAGER = Actor(id="mgr-bench", role="employee")
SUCCESSOR = "succ-bench"

# The ceiling's table: the column types and keys of ``events``, nothing else.
CEILING_DDL = """
CREATE TABLE IF NOT EXISTS ceiling_events (
    position    BIGSERIAL   PRIMARY KEY,
    event_id    UUID        NOT NULL UNIQUE,
    stream_type TEXT        NOT NULL,
    stream_id   UUID        NOT NULL,
    version     INTEGER     NOT NULL,
    event_type  TEXT        NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    entry       BYTEA       NOT NULL,
    event_hash  BYTEA       NOT NULL,
    UNIQUE (stream_id, version)
)
"""
CEILING_INSERT = """
INSERT INTO ceiling_events (event_id, stream_type, stream_id, version, event_type, recorded_at,
                            entry, event_hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""


class BenchError(Exception):
    """The benchmark could not run or its bookkeeping does not add up."""


# What ``run_main`` reports as a failed run (exit status 1) by default.
BENCH_ERRORS: tuple[type[Exception], ...] = (BenchError, OSError, asyncpg.PostgresError)


def comment_text(writer: int, n: int) -> str:
    """The comment text of bench_store's workload (its ledger and peer; bench_log's ingest)."""
    return f"Checked the client list with the successor, writer {writer:02d}, round {n:06d}."


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of ``values`` (NaN when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return float(ordered[rank])


def bench_parser(doc: str | None, default_dsn: str = DEFAULT_DSN) -> argparse.ArgumentParser:
    """A parser described by the first line of ``doc``, with the ``--dsn`` option."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0] if doc else None)
    parser.add_argument("--dsn", default=os.environ.get("LEDGER_BENCH_DSN", default_dsn),
                        help="loopback PostgreSQL DSN; a fresh database is created beside it "
                             "(default: $LEDGER_BENCH_DSN or %(default)s)")
    return parser


def parse_contenders(parser: argparse.ArgumentParser, text: str,
                     known: Sequence[str]) -> tuple[str, ...]:
    """The names in a comma-separated ``--contenders``; none, or an unknown one, is an error."""
    contenders = tuple(x.strip() for x in text.split(",") if x.strip())
    unknown = set(contenders) - set(known)
    if unknown or not contenders:
        parser.error(f"unknown contenders: {sorted(unknown)}")
    return contenders


def run_main(prog: str, run: Callable[[], R], report: Callable[[R], None], *,
             errors: tuple[type[Exception], ...] = BENCH_ERRORS, show_type: bool = False) -> int:
    """Run the benchmark and report it: 0 whatever the figures, 1 (and the error on stderr,
    with its type if ``show_type``) when ``run`` raises one of ``errors``."""
    try:
        results = run()
    except errors as e:
        detail = f"{type(e).__name__}: {e}" if show_type else str(e)
        print(f"{prog}: error: {detail}", file=sys.stderr)
        return 1
    report(results)
    return 0


@asynccontextmanager
async def serve_loopback(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1 (no access log, as ``ledger serve``); yield
    its base URL, and clean the runner up on the way out."""
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def bench_runtime(dsn: str, prefix: str) -> AsyncIterator[Runtime]:
    """A runtime on ``dsn`` with its keys in a temporary folder, the built-in checklists
    installed and the bench's HR principal added; closed on the way out."""
    import tempfile
    from pathlib import Path

    from ledger.bootstrap import bootstrap
    from ledger.principals import Principal
    from ledger.settings import Settings

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        root = Path(tmp)
        runtime = await bootstrap(Settings(database_url=dsn, data_dir=root,
                                           key_dir=root / "keys"))
        try:
            await runtime.ledger.install_builtin_templates()
            await runtime.principals.add_principal(Principal(HR.id, "Bench HR", ("hr",)))
            yield runtime
        finally:
            await runtime.close()


def check_loopback(dsn: str) -> None:
    """Refuse any DSN whose host is not a loopback address."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgresql", "postgres"):
        raise BenchError(f"not a postgresql:// DSN: {parts.scheme!r}")
    host = parts.hostname
    if not host:
        raise BenchError("the DSN must name a loopback host (e.g. 127.0.0.1)")
    try:
        infos = socket.getaddrinfo(host, parts.port or 5432, proto=socket.IPPROTO_TCP)
    except OSError as e:
        raise BenchError(f"cannot resolve {host!r}: {e}") from e
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_loopback:
            raise BenchError(f"{host} resolves to {address}, which is not a loopback address")


def with_database(dsn: str, dbname: str) -> str:
    """Return ``dsn`` pointing at database ``dbname``."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + quote(dbname)))


async def create_database(dsn: str) -> str:
    """Create ``bench_<random>`` through the maintenance database; return its name."""
    name = f"bench_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(with_database(dsn, "postgres"))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_database(dsn: str, name: str) -> None:
    """Drop the benchmark database (forcing out any connection left behind)."""
    if not name.startswith("bench_"):
        raise BenchError(f"refusing to drop {name!r}")
    conn = await asyncpg.connect(with_database(dsn, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def start_case(ledger: Ledger, n: int, hr: Actor, manager: Actor, successor: str,
                     context: RequestContext, last_working_day: dt.date | None = None,
                     principals: PrincipalStore | None = None
                     ) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """Departure ``n`` (leaver ``emp-bench-{n}``, Sales) started by ``hr``, approved by
    ``manager`` and given the sales checklist with ``successor``: open, handing over. With
    ``principals`` (a runtime's ledger names only known principals) the leaver is created
    first. Returns the case and the checklist's items."""
    from ledger.principals import Principal

    last_day = last_working_day or dt.date.today() + dt.timedelta(days=30)
    if principals is not None:
        await principals.add_principal(
            Principal(f"emp-bench-{n}", f"Bench Leaver {n}", ("employee",)))
    outcome = await ledger.execute(c.StartDeparture(
        leaver=c.Leaver(id=f"emp-bench-{n}", name=f"Bench Leaver {n}", department="Sales",
                        position="Account Manager", role_family="sales"),
        manager_id=manager.id, hr_owner_id=hr.id,
        notice_date=min(dt.date.today(), last_day - dt.timedelta(days=30)),
        last_working_day=last_day, reason="Resigned (benchmark)",
        approval_chain=[c.ApprovalStep(name="Line manager", approver_id=manager.id)],
    ), hr, context)
    departure_id = uuid.UUID(str(outcome.result["departure_id"]))
    await ledger.execute(c.SubmitForApproval(departure_id=departure_id), hr, context)
    await ledger.execute(c.ApproveStep(departure_id=departure_id, step=0, comment="ok"),
                         manager, context)
    outcome = await ledger.execute(c.ApplyTemplate(
        departure_id=departure_id, template_key="sales", successor_id=successor), hr, context)
    created = outcome.result["item_ids"]
    if not isinstance(created, list) or not created:
        raise BenchError(f"ApplyTemplate created no items: {outcome.result!r}")
    return departure_id, [uuid.UUID(str(i)) for i in created]


async def add_people(principals: PrincipalStore, *ids: str) -> None:
    """Employees ``ids`` (named as their ids), for the cases to name."""
    from ledger.principals import Principal

    for principal_id in ids:
        await principals.add_principal(Principal(principal_id, principal_id, ("employee",)))


async def create_items(ledger: Ledger, count: int, hr: Actor, manager: Actor, successor: str,
                       context: RequestContext,
                       principals: PrincipalStore | None = None) -> list[uuid.UUID]:
    """Departures through to handing over with the sales checklist, until ``count`` items.
    With ``principals`` (a runtime's ledger names only known principals), the people each
    case names are created first."""
    items: list[uuid.UUID] = []
    if principals is not None:
        await add_people(principals, manager.id, successor)
    n = 0
    while len(items) < count:
        n += 1
        _, created = await start_case(ledger, n, hr, manager, successor, context,
                                      principals=principals)
        items.extend(created)
    return items[:count]
