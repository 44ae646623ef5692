"""Shared by the benchmarks: a fresh, uniquely named PostgreSQL database on loopback only."""

from __future__ import annotations

import ipaddress
import secrets
import socket
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg


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
