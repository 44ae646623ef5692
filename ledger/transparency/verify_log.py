"""Full audit of the stored log against the stored events (part of ``ledger verify``).

Recomputes the whole tree from the event hashes in log order and compares every stored hash,
every stored tile and every signed checkpoint with it; checks each event is in the log exactly
once and that every checkpoint is signed by a trusted key and consistent with its predecessor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ledger.errors import LedgerError, VerificationError
from ledger.store.log_port import LogStore, StoredCheckpoint
from ledger.store.port import EventStore
from ledger.tlog.checkpoint import open_checkpoint
from ledger.tlog.hashing import hash_leaf
from ledger.tlog.note import Verifier
from ledger.tlog.proof import prove_tree, verify_consistency
from ledger.tlog.tile import TILE_HEIGHT, TILE_WIDTH, changed_tiles, tile_path
from ledger.tlog.tree import append_leaf_hashes, split_stored_hash_index, stored_hash_index
from ledger.tlog.tree import tree_hash as compute_tree_hash

Progress = Callable[[str, int], None]


@dataclass
class LogReport:
    """What ``verify_log`` found."""

    size: int = 0
    checkpoints: int = 0
    queued: int = 0
    problems: list[VerificationError] = field(default_factory=list)


class _ListReader:
    def __init__(self, hashes: list[bytes]) -> None:
        self.hashes = hashes

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        return [self.hashes[i] for i in indexes]


async def verify_log(events: EventStore, log: LogStore, verifiers: Sequence[Verifier],
                     origin: str, progress: Progress | None = None,
                     event_hashes: dict[int, bytes] | None = None) -> LogReport:
    """Audit the stored log; every problem names the log index, tile or checkpoint.

    ``event_hashes`` (position → event hash, as ``verify_chains`` collects them) saves
    reading every event again.
    """
    report = LogReport()
    problems = report.problems
    if event_hashes is None:
        event_hashes = {row.position: row.event_hash async for row in events.iterate_all()}
    queued = set(await events.queued_positions(limit=len(event_hashes) + 1))
    report.queued = len(queued)
    leaves: list[bytes] = []
    seen: set[int] = set()
    async for entry in log.iterate_entries():
        if entry.index != len(leaves):
            problems.append(VerificationError(
                f"log index {len(leaves)} is missing (next stored index is {entry.index})",
                index=len(leaves)))
            break
        if event_hashes.get(entry.position) != entry.event_hash:
            problems.append(VerificationError(
                f"log index {entry.index}: hash does not match the event at position "
                f"{entry.position}", index=entry.index))
        if entry.position in seen:
            problems.append(VerificationError(
                f"log index {entry.index}: event at position {entry.position} is logged twice",
                index=entry.index))
        seen.add(entry.position)
        leaves.append(hash_leaf(entry.event_hash))
    report.size = len(leaves)
    for position in sorted(set(event_hashes) - seen - queued)[:100]:
        problems.append(VerificationError(f"event at position {position} is neither in the "
                                          "log nor queued for it"))
    computed = _recompute(leaves, progress)
    await _compare_hashes(log, computed, problems)
    await _compare_tiles(log, computed, len(leaves), problems)
    report.checkpoints = await _check_checkpoints(log, computed, len(leaves), verifiers,
                                                  origin, problems)
    return report


def _recompute(leaves: list[bytes], progress: Progress | None) -> list[bytes]:
    computed: list[bytes] = []
    reader = _ListReader(computed)
    for start in range(0, len(leaves), 4096):
        for _, value in append_leaf_hashes(start, leaves[start:start + 4096], reader):
            computed.append(value)
        if progress is not None:
            progress("tree", min(start + 4096, len(leaves)))
    return computed


async def _compare_hashes(log: LogStore, computed: list[bytes],
                          problems: list[VerificationError]) -> None:
    stored = 0
    async for index, value in log.iterate_hashes():
        stored += 1
        if index >= len(computed) or computed[index] != value:
            level, n = split_stored_hash_index(index)
            where = f"log index {n}" if level == 0 else f"tree node level {level}, {n}"
            problems.append(VerificationError(
                f"stored hash {index} ({where}) does not match the log's entries "
                "(reordered, altered or forged)", index=n if level == 0 else None))
            if len(problems) > 100:
                return
    if stored != len(computed):
        problems.append(VerificationError(
            f"{stored} stored hashes, but a log of its size needs {len(computed)}"))


async def _compare_tiles(log: LogStore, computed: list[bytes], size: int,
                         problems: list[VerificationError]) -> None:
    stored: dict[tuple[int, int], bytes] = {}
    async for level, n, width, data in log.iterate_tiles():
        stored[(level, n)] = data
        indexes = [stored_hash_index(level * TILE_HEIGHT, n * TILE_WIDTH + i)
                   for i in range(width)]
        if len(data) != 32 * width or any(i >= len(computed) for i in indexes) or \
                data != b"".join(computed[i] for i in indexes):
            problems.append(VerificationError(f"tile {level}/{n} (width {width}) does not "
                                              "match the log's entries (altered)"))
    for tile in changed_tiles(0, size):
        found = stored.get((tile.L, tile.N))
        if found is None or len(found) < 32 * tile.W:
            problems.append(VerificationError(f"{tile_path(tile)} is missing"))


async def _check_checkpoints(log: LogStore, computed: list[bytes], size: int,
                             verifiers: Sequence[Verifier], origin: str,
                             problems: list[VerificationError]) -> int:
    checkpoints = await log.checkpoints()
    reader = _ListReader(computed)
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
