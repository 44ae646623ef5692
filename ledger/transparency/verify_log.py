"""Full audit of the stored log against the stored events: the log half of ``ledger verify``
(``ledger.verify.verify_ledger`` runs ``audit_log_tree``, here or in a child process, beside
the chain check, then ``check_log_against_events`` with the hashes the chain check read).

Recomputes the whole tree from the event hashes in log order and compares every stored hash,
every stored tile and every signed checkpoint with it; checks each event is in the log exactly
once and that every checkpoint is signed by a trusted key and consistent with its predecessor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import repeat

from ledger.errors import LedgerError, VerificationError
from ledger.store.log_port import LogStore, StoredCheckpoint
from ledger.store.port import EventStore
from ledger.tlog.checkpoint import open_checkpoint
from ledger.tlog.note import Verifier
from ledger.tlog.proof import prove_tree, verify_consistency
from ledger.tlog.tile import TILE_HEIGHT, TILE_WIDTH, changed_tiles, tile_path
from ledger.tlog.tree import rebuild_stored_hashes, split_stored_hash_index, stored_hash_index
from ledger.tlog.tree import tree_hash as compute_tree_hash

Progress = Callable[[str, int], None]


@dataclass
class LogReport:
    """What the log audit found (``ledger.verify.verify_ledger`` runs it)."""

    size: int = 0
    checkpoints: int = 0
    queued: int = 0
    problems: list[VerificationError] = field(default_factory=list)


BLOCK = 65536  # log rows per read: one query and one aggregate row per block
MAX_PROBLEMS = 100
_ABSENT = b""


class _BlobReader:
    """A HashReader over the rebuilt stored hashes (concatenated, index k at offset 32k)."""

    def __init__(self, stored: bytes) -> None:
        self.stored = stored

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        if any(32 * i + 32 > len(self.stored) for i in indexes):
            raise VerificationError("a proof needs hashes beyond the log's entries")
        return [self.stored[32 * i:32 * i + 32] for i in indexes]


@dataclass
class LogEntries:
    """The log entries as read, up to the first gap: event positions and the concatenated
    event hashes in log order, with the problems reading them found."""

    positions: list[int] = field(default_factory=list)
    record_hashes: bytes = b""
    problems: list[VerificationError] = field(default_factory=list)


async def audit_log_tree(log: LogStore, verifiers: Sequence[Verifier], origin: str,
                         progress: Progress | None = None,
                         size: int | None = None) -> tuple[LogReport, LogEntries]:
    """Read the log entries, rebuild the tree from them and compare every stored hash,
    every stored tile and every signed checkpoint with it (no event is read). Problems
    reading the entries stay in ``entries.problems`` until ``check_log_against_events``.

    The log is audited as of ``size`` entries (default: the latest signed checkpoint's size;
    every entry when nothing is signed yet), so a ledger that keeps running meanwhile is no
    false alarm: entries, hashes, tile widths and checkpoints added during the run are left
    for the next one.
    """
    if size is None:
        latest = await log.latest_checkpoint()
        size = None if latest is None else latest.size
    entries = await read_log_entries(log, progress, size)
    report = LogReport(size=len(entries.positions))
    stored, leaves = rebuild_stored_hashes(entries.record_hashes)
    if progress is not None:
        progress("tree", report.size)
    await _compare_hashes(log, stored, report.problems)
    await _compare_tiles(log, stored, leaves, report.size, report.problems)
    report.checkpoints = await _check_checkpoints(
        log, _BlobReader(stored), report.size, verifiers, origin, report.problems,
        report.size if size is None else size)
    return report, entries


async def read_log_entries(log: LogStore, progress: Progress | None = None,
                           limit: int | None = None) -> LogEntries:
    """Read the log entries in index order (the first ``limit``, or all), up to the first gap
    (a problem). An entry whose stored hash is not 32 bytes is a problem at its index; 32
    zero bytes stand in for it, so the rest of the log is still audited (the stand-in matches
    neither event nor tree)."""
    entries = LogEntries()
    parts: list[bytes] = []
    positions = entries.positions
    while (asked := BLOCK if limit is None else min(BLOCK, limit - len(positions))) > 0 and \
            (block := await log.read_entry_block(len(positions), asked)).indexes:
        start = len(positions)
        count = _contiguous(block.indexes, start, "log index", entries.problems)
        hashes = block.hashes[:32 * count]
        if len(block.hashes) != 32 * len(block.indexes):
            rows = await log.read_entries(start, count)
            for row in rows:
                if len(row.event_hash) != 32:
                    entries.problems.append(VerificationError(
                        f"log index {row.index}: stored hash is {len(row.event_hash)} bytes, "
                        "not 32", index=row.index))
            hashes = b"".join(r.event_hash if len(r.event_hash) == 32 else bytes(32)
                              for r in rows)
        positions.extend(block.positions[:count])
        parts.append(hashes)
        if progress is not None:
            progress("log", len(positions))
        if count < len(block.indexes) or len(block.indexes) < asked:
            break
    entries.record_hashes = b"".join(parts)
    return entries


async def check_log_against_events(events: EventStore, log: LogStore, report: LogReport,
                                   entries: LogEntries,
                                   event_hashes: dict[int, bytes]) -> None:
    """Each log entry is the hash of the event at its position, and every event is logged
    exactly once or still queued. Problems go into ``report``, in log order: the entries'
    own first, then these, then the tree's.

    The queue is read after the events, so an event the chain check saw was either still
    queued then or already logged; entries sequenced after the audited size (a running
    ledger) are read last, for their positions only.
    """
    queued = set(await events.queued_positions(limit=len(event_hashes) + 1))
    report.queued = len(queued)
    found = list(entries.problems)
    _check_entries(entries, event_hashes, found)
    later: list[tuple[int, int]] = []
    if event_hashes.keys() - set(entries.positions) - queued:
        later = await _later_entries(log, len(entries.positions))
    _check_membership(entries.positions, later, event_hashes, queued, found)
    report.problems[:0] = found


async def _later_entries(log: LogStore, start: int) -> list[tuple[int, int]]:
    """(index, position) of every log entry from index ``start`` on."""
    later: list[tuple[int, int]] = []
    while (block := await log.read_entry_block(start, BLOCK)).indexes:
        later.extend(zip(block.indexes, block.positions, strict=True))
        start = block.indexes[-1] + 1
    return later


def _check_entries(entries: LogEntries, event_hashes: dict[int, bytes],
                   problems: list[VerificationError]) -> None:
    """Each log entry's hash is the hash of the event at its position."""
    get = event_hashes.get
    positions, hashes = entries.positions, entries.record_hashes
    if b"".join(map(get, positions, repeat(_ABSENT, len(positions)))) == hashes:
        return
    for index, position in enumerate(positions):
        if get(position) != hashes[32 * index:32 * index + 32]:
            problems.append(VerificationError(
                f"log index {index}: hash does not match the event at position {position}",
                index=index))
            if len(problems) >= MAX_PROBLEMS:
                return


def _contiguous(indexes: list[int], start: int, what: str,
                problems: list[VerificationError]) -> int:
    """Return how many of ``indexes`` run on from ``start`` without a gap; note the gap."""
    if indexes == list(range(start, start + len(indexes))):
        return len(indexes)
    k = next(k for k, index in enumerate(indexes) if index != start + k)
    problems.append(VerificationError(
        f"{what} {start + k} is missing (next stored index is {indexes[k]})", index=start + k))
    return k


def _check_membership(positions: list[int], later: list[tuple[int, int]],
                      event_hashes: dict[int, bytes], queued: set[int],
                      problems: list[VerificationError]) -> None:
    """Every event is logged exactly once (``later``: (index, position) of entries beyond
    ``positions``), or still queued for the log."""
    logged = set(positions)
    logged.update(position for _, position in later)
    if len(logged) != len(positions) + len(later):
        seen: set[int] = set()
        for index, position in [*enumerate(positions), *later]:
            if position in seen and len(problems) < MAX_PROBLEMS:
                problems.append(VerificationError(
                    f"log index {index}: event at position {position} is logged twice",
                    index=index))
            seen.add(position)
    for position in sorted(event_hashes.keys() - logged - queued)[:MAX_PROBLEMS]:
        problems.append(VerificationError(f"event at position {position} is neither in the "
                                          "log nor queued for it"))


async def _compare_hashes(log: LogStore, stored: bytes,
                          problems: list[VerificationError]) -> None:
    """Compare every stored hash with the rebuilt tree, a block at a time."""
    need = len(stored) // 32  # later hashes belong to a log that grew meanwhile
    have = 0
    while (asked := min(BLOCK, need - have)) > 0 and \
            (block := await log.read_hash_block(have, asked)).indexes:
        count = _contiguous(block.indexes, have, "stored hash", problems)
        found = block.hashes[:32 * count]
        if len(block.hashes) != 32 * len(block.indexes):  # a hash of the wrong length
            values = await log.read_hashes(range(have, have + count))
            found = b"".join(v if len(v) == 32 else bytes(32) for v in values)
            for k, value in enumerate(values):
                if len(value) != 32:
                    problems.append(VerificationError(
                        f"stored hash {have + k} is {len(value)} bytes, not 32"))
        if found != stored[32 * have:32 * (have + count)]:
            for k in range(count):
                index = have + k
                if found[32 * k:32 * k + 32] != stored[32 * index:32 * index + 32]:
                    _hash_problem(index, problems)
                    if len(problems) >= MAX_PROBLEMS:
                        return
        have += count
        if count < len(block.indexes) or len(block.indexes) < asked:
            break
    if have != need:
        problems.append(VerificationError(
            f"{have} stored hashes, but a log of its size needs {need}"))


def _hash_problem(index: int, problems: list[VerificationError]) -> None:
    level, n = split_stored_hash_index(index)
    where = f"log index {n}" if level == 0 else f"tree node level {level}, {n}"
    problems.append(VerificationError(
        f"stored hash {index} ({where}) does not match the log's entries "
        "(reordered, altered or forged)", index=n if level == 0 else None))


async def _compare_tiles(log: LogStore, stored: bytes, leaves: bytes, size: int,
                         problems: list[VerificationError]) -> None:
    """Every stored tile holds the hashes a log of ``size`` entries puts in it (a tile wider
    than that, from a log that grew meanwhile, must start with them)."""
    found: dict[tuple[int, int], bytes] = {}
    async for level, n, width, data in log.iterate_tiles():
        found[(level, n)] = data
        first = n * TILE_WIDTH
        want = min(TILE_WIDTH, (size >> (TILE_HEIGHT * level)) - first)
        if want <= 0:
            continue  # beyond the audited size
        if level == 0:
            expected = leaves[32 * first:32 * (first + want)]
        else:
            indexes = [stored_hash_index(level * TILE_HEIGHT, first + i) for i in range(want)]
            expected = b"".join(stored[32 * i:32 * i + 32] for i in indexes)
        if len(data) != 32 * width or data[:32 * want] != expected:
            problems.append(VerificationError(f"tile {level}/{n} (width {width}) does not "
                                              "match the log's entries (altered)"))
    for tile in changed_tiles(0, size):
        kept = found.get((tile.L, tile.N))
        if kept is None or len(kept) < 32 * tile.W:
            problems.append(VerificationError(f"{tile_path(tile)} is missing"))


async def _check_checkpoints(log: LogStore, reader: _BlobReader, size: int,
                             verifiers: Sequence[Verifier], origin: str,
                             problems: list[VerificationError], audited: int) -> int:
    """Check every checkpoint up to size ``audited`` (later ones were signed meanwhile)."""
    checkpoints = [c for c in await log.checkpoints() if c.size <= audited]
    previous: StoredCheckpoint | None = None
    for stored in checkpoints:
        where = f"checkpoint of size {stored.size}"
        try:
            opened = open_checkpoint(stored.note, verifiers, origin)
        except LedgerError as e:
            problems.append(VerificationError(f"{where}: signature or format invalid: {e}"))
            continue
        if (opened.size, opened.root_hash) != (stored.size, stored.root):
            problems.append(VerificationError(f"{where}: signed note disagrees with its row"))
        if stored.size > size:
            problems.append(VerificationError(
                f"{where}: the log has only {size} entries (truncated)", index=size))
            continue
        if compute_tree_hash(stored.size, reader) != opened.root_hash:
            problems.append(VerificationError(
                f"{where}: root does not match the log (history rewritten or forked)"))
            continue
        if previous is not None and previous.size > 0:
            proof = prove_tree(stored.size, previous.size, reader)
            try:
                verify_consistency(previous.size, stored.size, proof, previous.root,
                                   opened.root_hash)
            except VerificationError as e:
                problems.append(VerificationError(
                    f"{where}: not consistent with checkpoint {previous.size} (fork): {e}"))
        previous = stored
    if not checkpoints and size:
        problems.append(VerificationError("the log has entries but no signed checkpoint"))
    return len(checkpoints)
