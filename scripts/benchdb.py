"""Shared by the benchmarks: a fresh, uniquely named PostgreSQL database on loopback only, the
raw-INSERT ceiling's table, and the items the measured commands work on."""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
import socket
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from ledger.service import commands as c
from ledger.service.context import Actor, RequestContext
from ledger.service.ledger import Ledger

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


async def create_items(ledger: Ledger, count: int, hr: Actor, manager: Actor, successor: str,
                       context: RequestContext) -> list[uuid.UUID]:
    """Departures through to handing over with the sales checklist, until ``count`` items."""
    today = dt.date.today()
    items: list[uuid.UUID] = []
    n = 0
    while len(items) < count:
        n += 1
        outcome = await ledger.execute(c.StartDeparture(
            leaver=c.Leaver(id=f"emp-bench-{n}", name=f"Bench Leaver {n}", department="Sales",
                            position="Account Manager", role_family="sales"),
            manager_id=manager.id, hr_owner_id=hr.id, notice_date=today,
            last_working_day=today + dt.timedelta(days=30), reason="Resigned (benchmark)",
            approval_chain=[c.ApprovalStep(name="Line manager", approver_id=manager.id)],
        ), hr, context)
        departure_id = uuid.UUID(str(outcome.result["departure_id"]))
        await ledger.execute(c.SubmitForApproval(departure_id=departure_id), hr, context)
        await ledger.execute(c.ApproveStep(departure_id=departure_id, step=0, comment="ok"),
                             manager, context)
        outcome = await ledger.execute(c.ApplyTemplate(
            departure_id=departure_id, template_key="sales", successor_id=successor),
            hr, context)
        created = outcome.result["item_ids"]
        if not isinstance(created, list) or not created:
            raise BenchError(f"ApplyTemplate created no items: {outcome.result!r}")
        items.extend(uuid.UUID(str(i)) for i in created)
    return items[:count]
