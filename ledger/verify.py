"""Full-ledger verification: re-hash every stored entry and walk every stream's chain.

Reads in storage order, one batch at a time, keeping only the last (version, hash) of each
stream in memory, and keeps going after a problem so one run reports every tampered place.

Two depths. Both hash every entry's exact bytes and compare the hash with the stored one, check
every entry against its row (event id, stream id and type, version, event type) and every
``prev`` link and version step of every stream:

* **integrity** (default) reads the envelope fields where RFC 8785 puts them: canonical JSON
  sorts the top-level keys, so every entry our writer produces ends with the fixed-shape tail
  ``,"prev":…,"recorded_at":"<27 chars>","stream":{"id":…,"type":…},"type":…,"v":1,
  "version":N}`` (nothing but the top-level members can follow ``payload``), and its first
  ``},"id":"…","payload":{`` is the top-level id, right after the context object. What the
  row's columns and the previous hash say these must read is compared byte for byte; no JSON
  parse.
* **strict** also parses every entry and proves it is canonical RFC 8785 with exactly the fixed
  envelope (``decode_entry(strict=True)``), about four times slower.

No problem is ever reported from the fast path: any row it does not accept gets the strict
check, which names what is wrong. So tampering (a changed byte, hash, link or column) is
reported with the same message at both depths; only ``--strict`` also reports an entry that
is intact but not in canonical form (a writer bug, not tampering).

The rows recording an evidence upload are kept aside while the chains are checked, so that
``ledger.verify_files`` can then re-hash each uploaded file without a second read of the log.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import tempfile
from binascii import hexlify
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from uuid import UUID

from ledger.chain import check_follows, verify_row
from ledger.errors import VerificationError
from ledger.store.blob_port import BlobStore
from ledger.store.log_port import LogStore
from ledger.store.port import AuditRow, EventStore, StoredEvent
from ledger.tlog.note import Verifier
from ledger.transparency.entry_feed import EntryFeed
from ledger.transparency.log_worker import audit_log_in_child, can_audit_in_child
from ledger.transparency.verify_log import (
    LogMatcher,
    LogReport,
    audit_log_tree,
    check_log_against_events,
)
from ledger.verify_files import FILE_EVENTS, FileReport, Upload, recorded_upload, verify_files
from ledger.verify_gate import GateFacts, check_gate_in_log

MAX_PROBLEMS = 1000
BATCH = 10_000
SLICE = 1000  # rows checked between two turns of the event loop
WORKER_FROM = 50_000  # log entries from which a child process audits the log's tree
Progress = Callable[[int], None]
StepProgress = Callable[[str, int], None]  # ("events" | "log" | "tree" | "files", done)

_NEW = (0, b"")  # stands for "stream not seen yet" in the per-stream table
_RECORDED_AT = b',"recorded_at":"'
_PREV_NULL_AT = b',"prev":null' + _RECORDED_AT  # version 1: no previous event
_PREV_OPEN, _PREV_CLOSE_AT = b',"prev":"', b'"' + _RECORDED_AT  # around the previous hash
_TIME_LENGTH = 27  # 2026-11-24T22:19:59.123456Z
_HEAD = b'{"actor":{'
_UUID_CHARACTERS = b"0123456789abcdef-"


@dataclass
class ChainReport:
    """What ``verify_chains`` found: counts, every problem with its location, the rows
    recording files and the close gate's facts. Each batch's hashes go to a ``LogMatcher``
    (the log audit), so events are read only once and none is kept."""

    events: int = 0
    streams: int = 0
    problems: list[VerificationError] = field(default_factory=list)
    # the current batch's positions and the SHA-256 of each entry as read (for the log match)
    positions: list[int] = field(default_factory=list)
    digests: list[bytes] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)  # the files rows record (no bytes)
    gate: GateFacts = field(default_factory=GateFacts)  # for the close-gate audit

    @property
    def ok(self) -> bool:
        """True when nothing was found wrong."""
        return not self.problems


@dataclass
class LedgerReport:
    """What ``verify_ledger`` found: the chains' report and the log's."""

    chains: ChainReport
    log: LogReport
    tree_in_child: bool = False  # whether a child process audited the log's tree
    child_error: str | None = None  # why a child process could not, if one was tried
    files: FileReport | None = None  # None when the evidence files were not checked
    gate: list[VerificationError] = field(default_factory=list)  # close-gate violations

    @property
    def problems(self) -> list[VerificationError]:
        """Every problem: chains, log, the close gate, then the evidence files."""
        files = self.files.problems if self.files is not None else []
        return self.chains.problems + self.log.problems + self.gate + files


async def verify_ledger(store: EventStore, log: LogStore, verifiers: Sequence[Verifier],
                        origin: str, progress: StepProgress | None = None, *,
                        strict: bool = False, database_url: str | None = None,
                        worker_from: int | None = None,
                        blobs: BlobStore | None = None) -> LedgerReport:
    """Everything ``ledger verify`` checks: every entry and chain, and the whole log.

    The log is audited as of its latest signed checkpoint (see ``audit_log_tree``), so the
    ledger may keep running. The chains and the log's tree are independent until the log is
    cross-checked against the events, so they are audited concurrently: when ``database_url``
    (the database ``store`` and ``log`` use) is given, a child process can reach it
    (``can_audit_in_child``) and the checkpoint covers at least ``worker_from`` (default
    ``WORKER_FROM``) entries, a child process audits the tree on another core; else this one
    does, as it also does when the child fails (``LedgerReport.child_error`` says why).
    With ``blobs``, every uploaded evidence file is then checked in it (``verify_files``).
    """
    chain_progress = None if progress is None else (lambda done: progress("events", done))
    worker_from = WORKER_FROM if worker_from is None else worker_from
    latest = await log.latest_checkpoint()  # the log is audited as of this size
    size = None if latest is None else latest.size
    child_url = database_url if size is not None and size >= worker_from else None
    child_error = None
    # The child hands on the log entries it reads (``entry_feed``), so the matcher here
    # need not read them again; the file is open until the matcher is done.
    with tempfile.TemporaryFile() as entries_file:
        if child_url is not None and can_audit_in_child(child_url):
            in_child = True
            tree_task = asyncio.ensure_future(audit_log_in_child(
                child_url, verifiers, origin, size, feed_fd=entries_file.fileno()))
            matcher = LogMatcher(log, size, EntryFeed(entries_file.fileno()).block)
        else:
            in_child = False
            tree_task = asyncio.ensure_future(audit_log_tree(log, verifiers, origin, progress,
                                                             size))
            matcher = LogMatcher(log, size)
        try:
            chains = await verify_chains(store, chain_progress, strict=strict,
                                         matcher=matcher)
            try:
                report, entries = await tree_task
            except OSError as e:
                if not in_child:
                    raise
                in_child, child_error = False, str(e)  # no child to be had: audit it here
                report, entries = await audit_log_tree(log, verifiers, origin, progress,
                                                       size)
        finally:
            if not tree_task.done():
                tree_task.cancel()  # the child, if any, is killed
                await asyncio.gather(tree_task, return_exceptions=True)
        if progress is not None:
            progress("log", report.size)
            progress("tree", report.size)
        await check_log_against_events(store, log, report, entries, matcher)
    gate = await check_gate_in_log(store, chains.gate, log, entries.count)
    files = None
    if blobs is not None:
        file_progress = None if progress is None else (lambda done: progress("files", done))
        files = await verify_files(blobs, chains.uploads, file_progress)
    return LedgerReport(chains, report, in_child, child_error, files,
                        gate[:MAX_PROBLEMS])


async def verify_chains(store: EventStore, progress: Progress | None = None, *,
                        strict: bool = False, matcher: LogMatcher | None = None) -> ChainReport:
    """Re-hash every entry and check every stream's chain; ``progress`` gets events done.

    ``strict`` parses every entry and proves its canonical form too (see the module notes).
    ``matcher``, when given, gets each batch's positions and hashes.
    """
    report = ChainReport()
    with _no_cyclic_gc():
        await _check_all(store, report, progress, strict, matcher)
    return report


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: the check keeps a small object or two per stream
    alive and makes none that are cyclic, and each full collection would walk all of them
    (and the rest of the process's heap) again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _check_all(store: EventStore, report: ChainReport, progress: Progress | None,
                     strict: bool, matcher: LogMatcher | None) -> None:
    # Per stream only the last (version, hash) is kept; None once a stream is broken.
    last: dict[str, tuple[int, bytes] | None] = {}
    plain: set[tuple[str, str]] = set()  # (stream type, event type) pairs free of " and \
    pending = asyncio.ensure_future(store.read_for_audit(0, BATCH))
    try:
        while rows := await pending:
            # Ask for the next batch before checking this one: the database works meanwhile.
            pending = asyncio.ensure_future(store.read_for_audit(rows[-1][0], BATCH))
            for start in range(0, len(rows), SLICE):
                # Let the concurrent log audit's reads and its child process move meanwhile.
                await asyncio.sleep(0)
                piece = rows[start:start + SLICE]
                _check_batch(piece, last, plain, report, strict)
                report.gate.feed(piece)
            report.uploads += [upload for row in rows if row[5] in FILE_EVENTS
                               and (upload := recorded_upload(row)) is not None]
            if matcher is not None:
                await matcher.add_events(report.positions, report.digests)
            report.positions.clear()
            report.digests.clear()
            if progress is not None:
                progress(report.events)
    finally:
        pending.cancel()
    report.streams = len(last)


def _check_batch(rows: Sequence[AuditRow], last: dict[str, tuple[int, bytes] | None],
                 plain: set[tuple[str, str]], report: ChainReport, strict: bool) -> None:
    """Check rows in position order; the integrity fast path is written out inline (it runs
    once per event, so a function call per row would be a good part of its cost)."""
    sha256 = hashlib.sha256
    get, setdefault, join = last.get, last.setdefault, b"".join
    report.events += len(rows)
    digests = [sha256(row[7]).digest() for row in rows]
    report.positions += [row[0] for row in rows]
    report.digests += digests
    # Ids are lowercase hex and hyphens: checked for the whole batch at once (each row's
    # length below), else row by row.
    ids_plain = not "".join([r[1] + r[3] for r in rows]).encode().translate(
        None, _UUID_CHARACTERS)
    for row, digest in zip(rows, digests, strict=True):
        _, event_id, stream_type, stream_id, version, event_type, event_hash, entry = row
        if not strict and digest == event_hash:
            tail = (f'","stream":{{"id":"{stream_id}","type":"{stream_type}"}},"type":"'
                    f'{event_type}","v":1,"version":{version}}}').encode()
            end = len(entry) - len(tail) - _TIME_LENGTH
            # Column text must not match the entry across JSON structure or escapes: ids are
            # lowercase hex and hyphens, and each (stream type, event type) pair is checked
            # once for quotes and backslashes. The top-level id follows the context object:
            # it is the entry's first `},"id":"` (actor and context, written by the service
            # from a fixed shape, nest no objects; a payload may, but it comes after). The
            # `prev` member and the `recorded_at` key before the time are compared in place
            # (``startswith`` at an offset: no slice is copied). Rows not accepted here get
            # the strict check.
            if entry.endswith(tail) and end > 90 \
                    and entry.startswith(_HEAD) and len(event_id) + len(stream_id) == 72 \
                    and (ids_plain or _uuid_characters(event_id + stream_id)) \
                    and entry.startswith(f'}},"id":"{event_id}","payload":{{'.encode(),
                                         entry.find(b'},"id":"')) \
                    and ((stream_type, event_type) in plain or
                         _plain_types(stream_type, event_type, plain)):
                if version == 1:
                    # One dict operation: the stream must be new (the usual case).
                    value = (1, digest)
                    if entry.startswith(_PREV_NULL_AT, end - 28) and \
                            setdefault(stream_id, value) is value:
                        continue
                else:
                    previous = get(stream_id, _NEW)
                    if previous is None:  # a broken stream: its links are no longer checked
                        if entry.startswith(_RECORDED_AT, end - 16):
                            continue
                    elif previous[0] == version - 1 and entry.startswith(
                            join((_PREV_OPEN, hexlify(previous[1]), _PREV_CLOSE_AT)), end - 90):
                        last[stream_id] = (version, digest)
                        continue
        _check_row(row, last, report)


def _uuid_characters(ids: str) -> bool:
    """Whether ids are written in lowercase hex digits and hyphens only."""
    return not ids.encode().translate(None, _UUID_CHARACTERS)


def _plain_types(stream_type: str, event_type: str, plain: set[tuple[str, str]]) -> bool:
    """Whether both type columns are free of quotes and backslashes (remembered if so)."""
    if any(c in t for t in (stream_type, event_type) for c in '"\\'):
        return False
    plain.add((stream_type, event_type))
    return True


def _check_row(row: AuditRow, last: dict[str, tuple[int, bytes] | None],
               report: ChainReport) -> None:
    """The strict check of one row: decode it fully and check its link; record a problem."""
    position, event_id, stream_type, stream_id, version, event_type, event_hash, entry = row
    previous = last.get(stream_id, (0, None))
    try:
        stored = StoredEvent(position, _uuid(event_id, row), stream_type,
                             _uuid(stream_id, row), version, event_type, bytes(entry),
                             bytes(event_hash))
        decoded = verify_row(stored)
        if previous is not None:
            check_follows(previous[0], previous[1], decoded)
            last[stream_id] = (decoded.version, decoded.event_hash)
    except VerificationError as e:
        last[stream_id] = None  # later links of this stream cannot be trusted
        if len(report.problems) < MAX_PROBLEMS:
            report.problems.append(e)


def _uuid(text: str, row: AuditRow) -> UUID:
    """The UUID a column holds, which must be written as the entry writes it (on SQLite a
    differently written id would be a different stream to the chain check, but not to
    readers)."""
    try:
        value = UUID(text)
    except ValueError:
        value = None
    if value is None or str(value) != text:
        raise VerificationError(
            f"event at position {row[0]}: column {text!r} is not a lowercase, hyphenated UUID",
            stream_id=row[3], version=row[4], event_id=row[1])
    return value
