"""Audit the log's tree in a child process, for ``ledger verify``.

``python -m ledger.transparency.log_worker`` reads a JSON request on stdin (database URL, log
origin, verifier keys), runs ``audit_log_tree`` against that database and writes one JSON line
(the report: sizes and problems) on stdout. The parent checks the chains, and matches the
events with the log's entries, meanwhile, on its own core.

A child process, not a multiprocessing pool: a pool re-imports the caller's main module. The
child imports the same ``ledger`` package as its parent (``-P`` ignores the working directory;
the package's own folder goes first on ``PYTHONPATH``). The
request and answer go through anonymous temporary files (mode 0600, never named on disk), not
pipes: a pipe would be drained one chunk per turn of the parent's busy event loop, and the
database URL, which may hold a password, never appears on a command line.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ledger.errors import VerificationError
from ledger.store.factory import is_postgres_url, log_store_for, open_store, sqlite_path
from ledger.store.timeouts import ADMIN
from ledger.tlog.note import Verifier, parse_verifier_key
from ledger.transparency.entry_feed import EntryWriter
from ledger.transparency.verify_log import LogEntries, LogReport, audit_log_tree

_LOCATION = ("stream_id", "version", "event_id", "index")


def can_audit_in_child(database_url: str) -> bool:
    """Whether a child process opening ``database_url`` reaches the same database: a server,
    or an SQLite file that exists (not an in-memory database)."""
    path = sqlite_path(database_url)
    return path.is_file() if path is not None else is_postgres_url(database_url)


async def audit_log_in_child(database_url: str, verifiers: Sequence[Verifier], origin: str,
                             size: int | None = None,
                             feed_fd: int | None = None) -> tuple[LogReport, LogEntries]:
    """``audit_log_tree`` (as of ``size``) on the database ``database_url`` names, run by a
    child process. With ``feed_fd`` (a file open for writing) the child writes there each
    block of log entries it reads (``entry_feed``), for the parent's ``LogMatcher``.

    Raises OSError when the child cannot be started or does not answer in full (the caller
    then audits in its own process, where a real error shows itself as it is).
    """
    request = {"database_url": database_url, "origin": origin, "size": size,
               "verifiers": [v.vkey for v in verifiers], "feed_fd": feed_fd}
    with tempfile.TemporaryFile() as given, tempfile.TemporaryFile() as answer:
        given.write(json.dumps(request).encode())
        given.seek(0)
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-P", "-m", __name__, stdin=given, stdout=answer,
            stderr=asyncio.subprocess.PIPE, env=_child_environment(),
            pass_fds=() if feed_fd is None else (feed_fd,))
        try:
            _, err = await child.communicate()
        finally:
            if child.returncode is None:  # cancelled: do not leave it running
                child.kill()
                await child.wait()
        if child.returncode != 0:
            reason = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
            raise OSError(f"log worker exited {child.returncode}: "
                          f"{reason[0].replace(database_url, '<database URL>')[:300]}")
        answer.seek(0)
        return _read_answer(answer.read())


def _child_environment() -> dict[str, str]:
    """The parent's environment, with the folder this package was imported from first on the
    child's path: the child runs this very code, installed or not."""
    root = str(Path(__file__).resolve().parents[2])
    paths = [root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def _read_answer(data: bytes) -> tuple[LogReport, LogEntries]:
    head, _, body = data.partition(b"\n")
    try:
        header: dict[str, Any] = json.loads(head)
        n = int(header["entries"])
        size, checkpoints = int(header["size"]), int(header["checkpoints"])
        problems, read_problems = (
            [VerificationError(p["message"], **{k: p.get(k) for k in _LOCATION}) for p in ps]
            for ps in (header["problems"], header["read_problems"]))
        if body:
            raise ValueError("trailing data")
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise OSError(f"log worker answered malformed data: {e}") from e
    report = LogReport(size=size, checkpoints=checkpoints, problems=problems)
    return report, LogEntries(n, read_problems)


async def _audit(request: dict[str, Any]) -> tuple[LogReport, LogEntries]:
    store = await open_store(request["database_url"], ADMIN)  # an operator's audit
    try:
        feed_fd = request.get("feed_fd")
        return await audit_log_tree(log_store_for(store),
                                    [parse_verifier_key(k) for k in request["verifiers"]],
                                    request["origin"], size=request["size"],
                                    on_block=None if feed_fd is None else EntryWriter(feed_fd))
    finally:
        await store.close()


def _plain(problems: list[VerificationError]) -> list[dict[str, Any]]:
    return [{"message": str(p), **{k: getattr(p, k) for k in _LOCATION}} for p in problems]


def main() -> int:
    """Serve one request from stdin; the answer on stdout, errors on stderr (exit 1)."""
    try:
        report, entries = asyncio.run(_audit(json.loads(sys.stdin.buffer.read())))
    except Exception as e:  # anything: the parent falls back and reports it its own way
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1
    header = {"size": report.size, "checkpoints": report.checkpoints,
              "entries": entries.count, "problems": _plain(report.problems),
              "read_problems": _plain(entries.problems)}
    out = sys.stdout.buffer
    out.write(json.dumps(header).encode() + b"\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
