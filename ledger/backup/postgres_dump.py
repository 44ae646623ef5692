"""PostgreSQL through its own tools: ``pg_dump`` (custom format) and ``pg_restore``.

The dump is consistent while the service runs: this process opens a REPEATABLE READ, READ
ONLY transaction, exports its snapshot (``pg_export_snapshot``), reads what the manifest says
about the log in it, and has pg_dump dump that very snapshot (``--snapshot``), holding the
transaction open until pg_dump is done. The tools are found on PATH or under
``/usr/lib/postgresql/<version>/bin`` (the highest version: pg_dump must be at least as new
as the server). asyncpg's errors and the tools' failures are mapped to the error tree here.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import asyncpg
from yarl import URL

from ledger.backup.snapshot import (
    CHECKPOINT_SQL,
    CITING_SQL,
    EVENTS_SQL,
    LOG_SIZE_SQL,
    SnapshotFacts,
)
from ledger.errors import ConfigurationError, LedgerError
from ledger.store.postgres import map_postgres_error
from ledger.transparency.log_identity import describe_database
from ledger.verify_files import cited_files

Written = Callable[[int], None]  # bytes of the dump written so far
_POLL = 0.2
_OBJECTS_SQL = """
SELECT c.relkind::text, c.relname FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
"""
_CREATED_SQL = """
SELECT c.relkind::text, c.relname FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'S') ORDER BY c.oid
"""
_FUNCTIONS_SQL = """
SELECT p.oid::regprocedure::text FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema()
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
"""
_STORED_BLOBS_SQL = "SELECT sha256 FROM blobs WHERE sha256 = ANY($1::text[])"
_DROP = {"r": "TABLE", "p": "TABLE", "f": "FOREIGN TABLE", "v": "VIEW",
         "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}


def find_tool(name: str) -> Path:
    """``pg_dump`` or ``pg_restore``: on PATH, else the newest under /usr/lib/postgresql;
    ConfigurationError saying what to install when there is none."""
    found = shutil.which(name)
    if found is not None:
        return Path(found)
    versions = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    if versions:
        return Path(max(versions, key=lambda p: int(re.sub(r"\D", "", p.split("/")[3]) or 0)))
    raise ConfigurationError(f"{name} was not found on PATH nor under /usr/lib/postgresql/*/"
                             f"bin: install PostgreSQL's client tools (Debian: "
                             f"postgresql-client), the same major version as the server or "
                             f"newer, or put {name} on PATH")


def _map(e: Exception, url: str) -> LedgerError:
    where = describe_database(url)
    if isinstance(e, asyncpg.InvalidCatalogNameError):
        return ConfigurationError(f"database {where} does not exist: create it first "
                                  "(createdb, or CREATE DATABASE) and run again")
    if isinstance(e, (OSError, asyncpg.PostgresConnectionError)):
        return ConfigurationError(f"cannot reach {where}: {e}")
    return map_postgres_error(e)


@contextlib.asynccontextmanager
async def _connected(url: str) -> AsyncIterator[asyncpg.Connection]:
    try:
        conn = await asyncpg.connect(url, timeout=15)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
        raise _map(e, url) from e
    try:
        yield conn
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
        raise _map(e, url) from e
    finally:
        await conn.close()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _without_password(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and the tools' environment carrying it instead (a
    command line is readable by every user of the machine, an environment is not)."""
    env = {**os.environ, "PGCONNECT_TIMEOUT": "15"}
    parsed = URL(url)
    if parsed.password is None:
        return url, env
    return str(parsed.with_password(None)), {**env, "PGPASSWORD": parsed.password}


async def _run(tool: Path, args: list[str], url: str, what: str, output: Path | None = None,
               progress: Written | None = None) -> None:
    """Run a client tool on the database ``url`` names, never prompting; raise LedgerError
    with its stderr on failure, reporting ``output``'s growing size meanwhile."""
    dbname, env = _without_password(url)
    process = await asyncio.create_subprocess_exec(
        str(tool), "--no-password", *args, f"--dbname={dbname}",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env)
    waiting = asyncio.ensure_future(process.communicate())
    try:
        while not waiting.done():
            await asyncio.wait([waiting], timeout=_POLL)
            if progress is not None and output is not None:
                progress(await asyncio.to_thread(_size, output))
        _, stderr = await waiting
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        text = stderr.decode("utf-8", "replace").strip()
        raise LedgerError(f"{what}: {tool.name} failed (exit {process.returncode}): {text}")


async def dump(url: str, target: Path, progress: Written | None = None, *,
               blobs_in_database: bool = True) -> SnapshotFacts:
    """Dump the database ``url`` names to ``target`` (pg_dump's custom format) from one
    exported snapshot; return what that snapshot holds (with ``blobs_in_database``, the
    PostgreSQL blob store's, the cited files its ``blobs`` table lacks). The service may
    keep running."""
    tool = find_tool("pg_dump")
    async with _connected(url) as conn, conn.transaction(isolation="repeatable_read",
                                                         readonly=True):
        snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
        note = await conn.fetchval(CHECKPOINT_SQL)
        cited = cited_files([tuple(r) async for r in conn.cursor(CITING_SQL)])
        stored = ({r[0] for r in await conn.fetch(_STORED_BLOBS_SQL, list(cited))}
                  if blobs_in_database else cited)
        facts = SnapshotFacts(int(await conn.fetchval(EVENTS_SQL)),
                              int(await conn.fetchval(LOG_SIZE_SQL)),
                              None if note is None else bytes(note), frozenset(cited),
                              frozenset(cited - stored))
        await _run(tool, ["--format=custom", f"--snapshot={snapshot}", f"--file={target}"],
                   url, f"dumping {describe_database(url)}",
                   target, progress)
    return facts


async def describe_contents(url: str) -> str | None:
    """None when the database's schema holds nothing (an extension's objects aside); else
    what it holds (the refusal)."""
    async with _connected(url) as conn:
        objects = await conn.fetch(_OBJECTS_SQL)
        functions = await conn.fetch(_FUNCTIONS_SQL)
        if not objects and not functions:
            return None
        names = {r[1] for r in objects}
        events = await conn.fetchval(EVENTS_SQL) if "events" in names else 0
    tables = sum(1 for r in objects if r[0] in ("r", "p"))
    return f"{tables} table(s), {len(functions)} function(s), {events} event(s)"


async def serving_sessions(url: str) -> list[int]:
    """The backend pids of other sessions holding an advisory lock in this database: every
    ``ledger serve`` on it holds some (the sequencer's, the roles it leads) while it runs."""
    async with _connected(url) as conn:
        rows = await conn.fetch(
            "SELECT DISTINCT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND pid <> pg_backend_pid() ORDER BY pid")
    return [int(r[0]) for r in rows]


async def clear(url: str) -> None:
    """Drop every table, view, sequence and function of the database's current schema, in
    one transaction (``restore --force``: the append-only triggers refuse a TRUNCATE or
    DELETE, not a DROP by the owner)."""
    async with _connected(url) as conn, conn.transaction():
        for kind, name in await conn.fetch(_OBJECTS_SQL):
            await conn.execute(f"DROP {_DROP[kind]} IF EXISTS "
                               f"{_quote(name)} CASCADE")
        for (signature,) in await conn.fetch(_FUNCTIONS_SQL):
            await conn.execute(f"DROP FUNCTION IF EXISTS {signature} CASCADE")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def restore(url: str, source: Path) -> None:
    """Load the dump ``source`` into the (empty) database ``url`` names: the schema is the
    ledger's own (its migrations, run here), and only the rows of the ledger's own tables
    and the values of their sequences are taken from the dump, in one transaction (all of
    it or, on the first error, nothing). Nothing else the dump holds is restored: a backup
    is not trusted to define functions, triggers, tables or constraints (one that did would
    run its code in this database as the restoring user, before any verification). The
    board read model is rebuilt from the log when the service starts."""
    from ledger.projections.board import BoardProjector
    from ledger.store.postgres import PostgresEventStore
    from ledger.store.timeouts import ADMIN

    store = await PostgresEventStore.connect(url, timeouts=ADMIN)
    try:
        await store.migrate()
    finally:
        await store.close()
    async with _connected(url) as conn:
        # in the order the migrations made them: a table after those its keys refer to
        created = await conn.fetch(_CREATED_SQL)
        ours = {name: n for n, (kind, name) in enumerate(created)}
        # Rows the migrations wrote (log_meta): the dump has them. The names are the tables
        # the migrations just made, quoted.
        for kind, name in created:
            table = _quote(name)
            if kind == "r" and name not in _NOT_RESTORED and await conn.fetchval(
                    f"SELECT EXISTS (SELECT 1 FROM {table})"):  # noqa: S608
                async with conn.transaction():  # past its append-only trigger, as its owner
                    await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
                    await conn.execute(f"DELETE FROM {table}")  # noqa: S608
                    await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    listing = await _output(find_tool("pg_restore"), ["--list", str(source)],
                            f"reading {source.name}")
    chosen = [line for _, line in sorted(_ledger_data(listing, ours))]
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as f:
        f.write("\n".join(chosen) + "\n")
    try:
        await _run(find_tool("pg_restore"),
                   ["--data-only", "--no-owner", "--no-privileges", "--exit-on-error",
                    "--single-transaction", f"--use-list={f.name}", str(source)],
                   url, f"restoring into {describe_database(url)}")
    finally:
        os.unlink(f.name)
    async with _connected(url) as conn:
        # the board's tables are made by its runner, not restored: it starts again from 0
        await conn.execute("DELETE FROM projection_state WHERE name = $1",
                           BoardProjector.name)


# A line of ``pg_restore --list``: "<id>; <oid> <oid> <type> <schema> <name> <owner>"
_LISTED = re.compile(r"^\d+; \d+ \d+ (TABLE DATA|SEQUENCE SET) (\S+) (\S+) ")
_NOT_RESTORED = frozenset({"schema_version"})  # the migrations just wrote this one


def _ledger_data(listing: str, ours: Mapping[str, int]) -> list[tuple[int, str]]:
    """The listed entries that are the rows of one of the ledger's tables or the value of one
    of its sequences (never a definition), each with its table's place in creation order."""
    chosen = []
    for line in listing.splitlines():
        match = _LISTED.match(line)
        if match is not None and match.group(3) in ours and match.group(3) not in _NOT_RESTORED:
            chosen.append((ours[match.group(3)], line))
    return chosen


async def _output(tool: Path, args: list[str], what: str) -> str:
    """A client tool's standard output (no database); LedgerError with its stderr."""
    process = await asyncio.create_subprocess_exec(
        str(tool), *args, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await process.communicate()
    if process.returncode != 0:
        text = stderr.decode("utf-8", "replace").strip()
        raise LedgerError(f"{what}: {tool.name} failed (exit {process.returncode}): {text}")
    return stdout.decode("utf-8", "replace")
