"""Full audit of the stored log against the stored events: the log half of ``ledger verify``
(``ledger.verify.verify_ledger`` runs ``audit_log_tree``, here or in a child process, beside
the chain check, then ``check_log_against_events`` with the hashes the chain check read).

Recomputes the whole tree from the event hashes in log order and compares every stored hash,
every stored tile and every signed checkpoint with it; checks each event is in the log exactly
once and that every checkpoint is signed by a trusted key and consistent with its predecessor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from itertools import islice

from ledger.errors import LedgerError, VerificationError
from ledger.store.log_port import LogBlock, LogStore, StoredCheckpoint
from ledger.store.port import EventStore
from ledger.tlog.checkpoint import open_checkpoint
from ledger.tlog.note import Verifier
from ledger.tlog.proof import RootMismatchError
from ledger.tlog.tile import TILE_HEIGHT, TILE_WIDTH, Tile, tile_path
from ledger.tlog.tree import TreeBuilder, split_stored_hash_index, stored_hash_count

Progress = Callable[[str, int], None]
BlockSink = Callable[[int, LogBlock], None]  # (start, the block read from there)
BlockSource = Callable[[int, int], LogBlock | None]  # read_entry_block's answer, if at hand


@dataclass
class LogReport:
    """What the log audit found (``ledger.verify.verify_ledger`` runs it)."""

    size: int = 0
    checkpoints: int = 0
    queued: int = 0
    problems: list[VerificationError] = field(default_factory=list)


BLOCK = 65536  # log rows per read: one query and one aggregate row per block
MATCH_BLOCK = 8192  # log entries per read while matching them with the events
TILE_BLOCK = 64  # stored tiles per read (512 KiB of hashes)
CHECKPOINT_BLOCK = 1000  # signed checkpoints per read
MAX_PROBLEMS = 100
MAX_REPEATED = 10 * MAX_PROBLEMS  # entries naming an event another names, asked of the log


@dataclass
class LogEntries:
    """What reading the log's entries found: how many were read in index order up to the
    first gap (and the audited size), and the problems reading them found."""

    count: int = 0
    problems: list[VerificationError] = field(default_factory=list)


async def audit_log_tree(log: LogStore, verifiers: Sequence[Verifier], origin: str,
                         progress: Progress | None = None, size: int | None = None,
                         on_block: BlockSink | None = None) -> tuple[LogReport, LogEntries]:
    """Read the log entries, rebuild the tree from them and compare every stored hash,
    every stored tile and every signed checkpoint with it (no event is read). Problems
    reading the entries stay in ``entries.problems`` until ``check_log_against_events``.

    The log is audited as of ``size`` entries (default: the latest signed checkpoint's size;
    every entry when nothing is signed yet), so a ledger that keeps running meanwhile is no
    false alarm: entries, hashes, tile widths and checkpoints added during the run are left
    for the next one.

    One pass in bounded memory: a block of entries at a time goes into a ``TreeBuilder``
    (which keeps the tree's right edge only), and the stored hashes, the tiles and each
    checkpoint are compared as the rebuilt tree reaches them. ``on_block`` gets each block of
    entries as read (see ``read_entry_blocks``).
    """
    if size is None:
        latest = await log.latest_checkpoint()
        size = None if latest is None else latest.size
    entries = LogEntries()
    builder = TreeBuilder(mark_every=TILE_HEIGHT)
    hashes = _HashCheck(log)
    tiles = _TileCheck(log)
    checkpoints = _CheckpointCheck(log, verifiers, origin, size)
    await checkpoints.reach(builder)
    async for _, _, block in read_entry_blocks(log, size, entries.problems,
                                               on_block=on_block):
        offset, records = 0, len(block) // 32
        while offset < records:
            take = min(records - offset, checkpoints.next_size(builder.size))
            stored, leaves, marked = builder.add(block[32 * offset:32 * (offset + take)])
            offset += take
            await hashes.feed(stored)
            await tiles.feed(leaves, marked)
            await checkpoints.reach(builder)
        if progress is not None:
            progress("log", builder.size)
    entries.count = builder.size
    report = LogReport(size=builder.size)
    if progress is not None:
        progress("tree", report.size)
    await hashes.finish(stored_hash_count(report.size))
    await tiles.finish(report.size)
    report.checkpoints = await checkpoints.finish(builder)
    report.problems = hashes.problems + tiles.problems() + checkpoints.problems
    return report, entries


async def read_entry_blocks(log: LogStore, limit: int | None,
                            problems: list[VerificationError],
                            block_size: int = BLOCK, on_block: BlockSink | None = None
                            ) -> AsyncIterator[tuple[list[int], list[int], bytes]]:
    """The log entries in index order (the first ``limit``, or all) as blocks of (indexes,
    positions, concatenated hashes), up to the first gap (a problem). An entry whose stored
    hash is not 32 bytes is a problem at its index; 32 zero bytes stand in for it, so the
    rest of the log is still audited (the stand-in matches neither event nor tree).
    ``on_block`` gets each block as ``read_entry_block(start, …)`` answered it, first."""
    start = 0
    while (asked := block_size if limit is None else min(block_size, limit - start)) > 0 and \
            (block := await log.read_entry_block(start, asked)).indexes:
        if on_block is not None:
            on_block(start, block)
        count = _contiguous(block.indexes, start, "log index", problems)
        hashes = block.hashes[:32 * count]
        if len(block.hashes) != 32 * len(block.indexes):
            rows = await log.read_entries(start, count)
            for row in rows:
                if len(row.event_hash) != 32:
                    problems.append(VerificationError(
                        f"log index {row.index}: stored hash is {len(row.event_hash)} bytes, "
                        "not 32", index=row.index))
            hashes = b"".join(r.event_hash if len(r.event_hash) == 32 else bytes(32)
                              for r in rows)
        yield block.indexes[:count], block.positions[:count], hashes
        start += count
        if count < len(block.indexes) or len(block.indexes) < asked:
            break


class _HashCheck:
    """Compares the rebuilt tree's stored hashes, fed in storage order, with the stored ones,
    a block at a time."""

    def __init__(self, log: LogStore) -> None:
        self.log = log
        self.have = 0  # stored hashes compared so far
        self.pending = bytearray()  # rebuilt hashes from index ``have`` on
        self.stopped = False  # a gap or a short read: the rest is not compared
        self.problems: list[VerificationError] = []

    async def feed(self, rebuilt: bytes) -> None:
        if self.stopped:
            return
        self.pending += rebuilt
        while not self.stopped and len(self.pending) >= 32 * BLOCK:
            await self._compare(BLOCK)

    async def finish(self, need: int) -> None:
        """Compare the rest; the log of ``need`` stored hashes must hold every one."""
        while not self.stopped and self.pending:
            await self._compare(len(self.pending) // 32)
        if self.have != need:
            self.problems.append(VerificationError(
                f"{self.have} stored hashes, but a log of its size needs {need}"))

    async def _compare(self, asked: int) -> None:
        problems, have = self.problems, self.have
        block = await self.log.read_hash_block(have, asked)
        count = _contiguous(block.indexes, have, "stored hash", problems)
        found = block.hashes[:32 * count]
        if len(block.hashes) != 32 * len(block.indexes):  # a hash of the wrong length
            values = await self.log.read_hashes(range(have, have + count))
            found = b"".join(v if len(v) == 32 else bytes(32) for v in values)
            for k, value in enumerate(values):
                if len(value) != 32:
                    problems.append(VerificationError(
                        f"stored hash {have + k} is {len(value)} bytes, not 32"))
        expected = bytes(self.pending[:32 * count])
        if found != expected:
            for k in range(count):
                if found[32 * k:32 * k + 32] != expected[32 * k:32 * k + 32]:
                    if len(problems) >= MAX_PROBLEMS:
                        break
                    _hash_problem(have + k, problems)
        del self.pending[:32 * count]
        self.have += count
        if count < len(block.indexes) or len(block.indexes) < asked:
            self.stopped = True


class _TileCheck:
    """Compares each tile of the rebuilt tree, as it completes, with the stored one."""

    def __init__(self, log: LogStore) -> None:
        self.log = log
        self.building: list[bytearray] = []  # per tile level: the hashes of its open tile
        self.numbers: list[int] = []  # per tile level: the number of its open tile
        self.stored: dict[int, list[tuple[int, int, bytes]]] = {}  # level → read-ahead
        self.exhausted: set[int] = set()  # levels whose stored tiles were all read
        self.mismatched: list[tuple[int, int, VerificationError]] = []
        self.missing: list[tuple[int, int, VerificationError]] = []

    async def feed(self, leaves: bytes, marked: list[tuple[int, bytes]]) -> None:
        await self._add(0, leaves)
        for level, h in marked:
            await self._add(level // TILE_HEIGHT, h)

    async def _add(self, level: int, hashes: bytes) -> None:
        while len(self.building) <= level:
            self.building.append(bytearray())
            self.numbers.append(0)
        tile, at = self.building[level], 0
        while at < len(hashes):
            room = 32 * TILE_WIDTH - len(tile)
            tile += hashes[at:at + room]
            at += room
            if len(tile) == 32 * TILE_WIDTH:
                await self._check(level, self.numbers[level], bytes(tile))
                tile.clear()
                self.numbers[level] += 1

    async def finish(self, size: int) -> None:
        """Check the partial tile of each level a log of ``size`` entries has."""
        for level, tile in enumerate(self.building):
            if tile and size >> (TILE_HEIGHT * level) > 0:
                await self._check(level, self.numbers[level], bytes(tile))

    async def _check(self, level: int, n: int, expected: bytes) -> None:
        width = len(expected) // 32
        stored = await self._stored(level, n)
        if stored is not None:
            stored_width, data = stored
            if len(data) != 32 * stored_width or data[:32 * width] != expected:
                self._note(self.mismatched, level, n, VerificationError(
                    f"tile {level}/{n} (width {stored_width}) does not match the log's "
                    "entries (altered)"))
        if stored is None or len(stored[1]) < 32 * width:
            self._note(self.missing, level, n, VerificationError(
                f"{tile_path(Tile(TILE_HEIGHT, level, n, width))} is missing"))

    @staticmethod
    def _note(found: list[tuple[int, int, VerificationError]], level: int, n: int,
              problem: VerificationError) -> None:
        if len(found) < MAX_PROBLEMS:
            found.append((level, n, problem))

    async def _stored(self, level: int, n: int) -> tuple[int, bytes] | None:
        """The stored tile (level, n) as (width, data), read a block of tiles ahead."""
        ahead = self.stored.setdefault(level, [])
        while ahead and ahead[0][0] < n:
            ahead.pop(0)
        if not ahead and level not in self.exhausted:
            ahead += await self.log.read_tile_block(level, n, TILE_BLOCK)
            if len(ahead) < TILE_BLOCK:
                self.exhausted.add(level)
        if ahead and ahead[0][0] == n:
            _, width, data = ahead.pop(0)
            return width, data
        return None

    def problems(self) -> list[VerificationError]:
        """Altered tiles, then missing ones, each by level and number."""
        return [p for *_, p in sorted(self.mismatched, key=lambda t: t[:2])] + \
            [p for *_, p in sorted(self.missing, key=lambda t: t[:2])]


class _CheckpointCheck:
    """Checks every signed checkpoint up to the audited size against the rebuilt tree, as
    the tree reaches its size (read a block of checkpoints at a time)."""

    def __init__(self, log: LogStore, verifiers: Sequence[Verifier], origin: str,
                 audited: int | None) -> None:
        self.log, self.verifiers, self.origin = log, verifiers, origin
        self.audited = audited
        self.ahead: list[StoredCheckpoint] = []
        self.after = -1  # the size of the last checkpoint read
        self.exhausted = False
        self.count = 0
        self.previous: StoredCheckpoint | None = None
        self.previous_root = b""  # the rebuilt tree's root at the previous one's size
        self.problems: list[VerificationError] = []

    async def _peek(self) -> StoredCheckpoint | None:
        if not self.ahead and not self.exhausted:
            block = await self.log.read_checkpoint_block(self.after, CHECKPOINT_BLOCK)
            if len(block) < CHECKPOINT_BLOCK:
                self.exhausted = True
            if self.audited is not None:
                block = [c for c in block if c.size <= self.audited]
                self.exhausted = self.exhausted or len(block) < CHECKPOINT_BLOCK
            self.ahead = block
            if block:
                self.after = block[-1].size
        return self.ahead[0] if self.ahead else None

    def next_size(self, size: int) -> int:
        """How many more records the tree may take before it reaches a checkpoint's size
        (records are added up to each checkpoint, then it is checked)."""
        if self.ahead and self.ahead[0].size > size:
            return self.ahead[0].size - size
        return BLOCK

    async def reach(self, builder: TreeBuilder) -> None:
        """Check every checkpoint of the tree's size now; read ahead to the next one."""
        while (stored := await self._peek()) is not None and stored.size <= builder.size:
            self.ahead.pop(0)
            self._check(stored, builder.size, builder.root())

    async def finish(self, builder: TreeBuilder) -> int:
        """Check the checkpoints beyond the log's entries; return how many were checked."""
        while (stored := await self._peek()) is not None:
            self.ahead.pop(0)
            self._check(stored, builder.size, builder.root())
        if not self.count and builder.size:
            self.problems.append(VerificationError(
                "the log has entries but no signed checkpoint"))
        return self.count

    def _check(self, stored: StoredCheckpoint, size: int, root: bytes) -> None:
        problems = self.problems
        self.count += 1
        where = f"checkpoint of size {stored.size}"
        try:
            opened = open_checkpoint(stored.note, self.verifiers, self.origin)
        except LedgerError as e:
            problems.append(VerificationError(f"{where}: signature or format invalid: {e}"))
            return
        if (opened.size, opened.root_hash) != (stored.size, stored.root):
            problems.append(VerificationError(f"{where}: signed note disagrees with its row"))
        if stored.size > size:
            problems.append(VerificationError(
                f"{where}: the log has only {size} entries (truncated)", index=size))
            return
        if root != opened.root_hash:
            problems.append(VerificationError(
                f"{where}: root does not match the log (history rewritten or forked)"))
            return
        previous = self.previous
        if previous is not None and previous.size > 0 and previous.root != self.previous_root:
            # Both roots come from one rebuilt tree, so the consistency proof between them
            # holds exactly when the previous checkpoint's own root is that tree's root at
            # its size: what verify_consistency would find, and say, otherwise.
            why = RootMismatchError(tree_size=previous.size, expected=previous.root,
                                    calculated=self.previous_root)
            problems.append(VerificationError(
                f"{where}: not consistent with checkpoint {previous.size} (fork): {why}"))
        self.previous, self.previous_root = stored, root


async def check_log_against_events(events: EventStore, log: LogStore, report: LogReport,
                                   entries: LogEntries, matcher: LogMatcher) -> None:
    """Each log entry is the hash of the event at its position, and every event is logged
    exactly once or still queued. Problems go into ``report``, in log order: the entries'
    own first, then these, then the tree's.

    ``matcher`` has seen every event the chain check read (``LogMatcher.add_events``). The
    queue is read after the events, so an event the chain check saw was either still queued
    then or already logged; entries sequenced after the audited size (a running ledger) are
    read last, for their positions only.
    """
    found = list(entries.problems)
    found += await matcher.finish(events)
    report.queued = matcher.queued
    report.problems[:0] = found


class LogMatcher:
    """Matches the events the chain check reads (in position order) with the log entries
    (read here in index order, just ahead of the events, or taken from ``feed`` when another
    reader of the log hands them on: ``entry_feed``), in memory bounded by how far the
    two orders differ: an event is kept until its entry is read and an entry until its
    event is, and a log in position order (the sequencer takes its queue so) keeps neither
    long. Entries naming an event another entry names are asked of the database
    (``LogStore.duplicate_entries``), so no set of every position is kept either.
    """

    def __init__(self, log: LogStore, audited: int | None,
                 feed: BlockSource | None = None) -> None:
        self.log = log
        self.feed = feed  # blocks another reader of the log hands on (``entry_feed``)
        self.audited = audited  # entries from this index on are matched for membership only
        self.events: dict[int, bytes] = {}  # position → hash, of events not yet matched
        # The unmatched events after those, in position order, while no entry waits for one
        # (the usual case): matched a block at a time with no dict operation per event.
        self.run_positions: list[int] = []
        self.run_digests = bytearray()
        self.entries: dict[int, tuple[int, bytes]] = {}  # position → (index, hash), ahead
        self.seen = 0  # events the chain check has read
        self.high = 0  # the highest position the chain check has read
        self.next_index = 0  # the next log index to read
        self.first_gap: int | None = None
        self.read_all = False
        self.duplicates: dict[int, int] | None = None  # index → position of repeated entries
        self.repeated: dict[int, bytes] = {}  # position two entries name → its event's hash
        self.repeat_entries: list[tuple[int, int, bytes]] = []  # (index, position, hash)
        self.mismatched: list[tuple[int, int]] = []  # (index, position)
        self.queued = 0

    def _audits(self, index: int) -> bool:
        end = self.audited
        if self.first_gap is not None:
            end = self.first_gap if end is None else min(end, self.first_gap)
        return end is None or index < end

    async def add_events(self, positions: Sequence[int], digests: Sequence[bytes]) -> None:
        """Events the chain check read, in position order, with the hashes of their bytes."""
        if self.duplicates is None:
            self.duplicates = dict(await self.log.duplicate_entries(MAX_REPEATED))
            self.repeated = dict.fromkeys(self.duplicates.values(), b"")
        if not positions:
            return
        if len(positions) != len(digests):
            raise ValueError("as many positions as digests are needed")
        pending = self.events
        if self.entries or pending or self.duplicates:
            self._flush_run()
            pending.update(zip(positions, digests, strict=True))
        else:
            self.run_positions += positions
            self.run_digests += b"".join(digests)
        self.seen += len(positions)
        self.high = positions[-1]
        if self.repeated:
            for position, digest in zip(positions, digests, strict=True):
                if position in self.repeated:
                    self.repeated[position] = digest
        if self.entries:
            for position in [p for p in self.entries if p in pending]:
                index, h = self.entries.pop(position)
                self._compare(index, position, pending.pop(position), h)
        # Read entries once a block's worth of events waits for them (entries ahead of
        # the events are kept too, until the events come).
        while not self.read_all and len(pending) + len(self.run_positions) >= MATCH_BLOCK:
            await self._read_block()

    def _flush_run(self) -> None:
        """Move the run of unmatched events into ``events`` (after those already there)."""
        if self.run_positions:
            digests = bytes(self.run_digests)
            self.events.update(zip(self.run_positions,
                                   (digests[k:k + 32] for k in range(0, len(digests), 32)),
                                   strict=True))
            self.run_positions = []
            self.run_digests = bytearray()

    async def _read_block(self) -> None:
        block = None if self.feed is None else self.feed(self.next_index, MATCH_BLOCK)
        if block is None:
            block = await self.log.read_entry_block(self.next_index, MATCH_BLOCK)
        if not block.indexes:
            self.read_all = True
            return
        indexes, positions, hashes = block.indexes, block.positions, block.hashes
        if self.first_gap is None and (indexes[0] != self.next_index or
                                       indexes[-1] - indexes[0] != len(indexes) - 1):
            self.first_gap = next((self.next_index + k for k, i in enumerate(indexes)
                                   if i != self.next_index + k), indexes[-1] + 1)
        if len(hashes) != 32 * len(indexes):  # an entry's hash of the wrong length
            rows = {r.index: r.event_hash for r in await self.log.read_entries(
                indexes[0], indexes[-1] - indexes[0] + 1)}
            hashes = b"".join(h if len(h := rows.get(i, b"")) == 32 else bytes(32)
                              for i in indexes)
        self.next_index = indexes[-1] + 1
        duplicates = self.duplicates
        run, count = self.run_positions, len(positions)
        if run and not duplicates and not self.events and run[:count] == positions:
            # The usual case: the entries name the run's first events, in their order.
            digests = bytes(self.run_digests[:32 * count])
            del run[:count]
            del self.run_digests[:32 * count]
            if digests != hashes:
                for k, (index, position) in enumerate(zip(indexes, positions, strict=True)):
                    self._compare(index, position, digests[32 * k:32 * k + 32],
                                  hashes[32 * k:32 * k + 32])
            if count < MATCH_BLOCK:
                self.read_all = True
            return
        self._flush_run()
        pending, ahead, high = self.events, self.entries, self.high
        if not duplicates and list(islice(pending, len(positions))) == positions:
            # The usual case: the entries name the oldest unmatched events, in their order.
            digests = b"".join(map(pending.pop, positions))
            if digests != hashes:
                for k, (index, position) in enumerate(zip(indexes, positions, strict=True)):
                    self._compare(index, position, digests[32 * k:32 * k + 32],
                                  hashes[32 * k:32 * k + 32])
            positions = []  # all matched
        for k, (index, position) in enumerate(zip(indexes[:len(positions)], positions,
                                                  strict=True)):
            h = hashes[32 * k:32 * k + 32]
            if duplicates and index in duplicates:
                self.repeat_entries.append((index, position, h))
                continue
            digest = pending.pop(position, None)
            if digest is not None:
                if digest != h:
                    self._compare(index, position, digest, h)
            elif position > high:
                ahead[position] = (index, h)  # its event is read later, or never
            elif self._audits(index):
                self._mismatch(index, position)  # no such event
        if len(indexes) < MATCH_BLOCK:
            self.read_all = True

    def _compare(self, index: int, position: int, digest: bytes, h: bytes) -> None:
        if digest != h and self._audits(index):
            self._mismatch(index, position)

    def _mismatch(self, index: int, position: int) -> None:
        found = self.mismatched
        found.append((index, position))
        if len(found) > 2 * MAX_PROBLEMS:  # keep the first ones in log order
            found.sort()
            del found[MAX_PROBLEMS:]

    async def finish(self, events: EventStore) -> list[VerificationError]:
        """Read the queue, then the rest of the log; return the problems in log order."""
        if self.duplicates is None:
            await self.add_events([], [])
        queued = set(await events.queued_positions(limit=self.seen + 1))
        self.queued = len(queued)
        self.read_all = False
        while not self.read_all:
            await self._read_block()
        self._flush_run()
        for position, (index, _) in self.entries.items():
            if self._audits(index):
                self._mismatch(index, position)  # an entry naming no event that was read
        for index, position, h in self.repeat_entries:
            if self._audits(index) and self.repeated.get(position) != h:
                self._mismatch(index, position)
        problems = [VerificationError(
            f"log index {index}: hash does not match the event at position {position}",
            index=index) for index, position in sorted(self.mismatched)[:MAX_PROBLEMS]]
        for index, position, _ in self.repeat_entries:
            if len(problems) < MAX_PROBLEMS:
                problems.append(VerificationError(
                    f"log index {index}: event at position {position} is logged twice",
                    index=index))
        unlogged = sorted(p for p in self.events if p not in queued)
        for position in unlogged[:MAX_PROBLEMS]:
            problems.append(VerificationError(f"event at position {position} is neither in "
                                              "the log nor queued for it"))
        return problems


def _contiguous(indexes: list[int], start: int, what: str,
                problems: list[VerificationError]) -> int:
    """Return how many of ``indexes`` run on from ``start`` without a gap; note the gap."""
    if indexes == list(range(start, start + len(indexes))):
        return len(indexes)
    k = next(k for k, index in enumerate(indexes) if index != start + k)
    problems.append(VerificationError(
        f"{what} {start + k} is missing (next stored index is {indexes[k]})", index=start + k))
    return k


def _hash_problem(index: int, problems: list[VerificationError]) -> None:
    level, n = split_stored_hash_index(index)
    where = f"log index {n}" if level == 0 else f"tree node level {level}, {n}"
    problems.append(VerificationError(
        f"stored hash {index} ({where}) does not match the log's entries "
        "(reordered, altered or forged)", index=n if level == 0 else None))
