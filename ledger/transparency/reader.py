"""The log's read side: checkpoints, tiles, entry bundles and proofs, as served publicly.

The log holds event hashes only, so nothing here reveals personal data.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.errors import InvalidInputError, NotFoundError
from ledger.store.cosignatures import CosignatureStore
from ledger.store.log_port import LogStore, StoredCheckpoint
from ledger.tlog.hashing import HASH_SIZE
from ledger.tlog.proof import prove_record, prove_tree
from ledger.tlog.proof_text import format_tlog_proof
from ledger.tlog.tile import TILE_WIDTH, Tile, encode_entry_bundle
from ledger.tlog.tree import tree_hash
from ledger.transparency.prefetch import with_hashes
from ledger.witness.cosigned import cosigned


@dataclass(frozen=True)
class InclusionProof:
    """Proof that the event hash at ``index`` is in the tree of ``size`` with ``root``."""

    index: int
    size: int
    root: bytes
    proof: list[bytes]
    checkpoint: StoredCheckpoint | None


@dataclass(frozen=True)
class ConsistencyProof:
    """Proof that the tree of ``size2`` extends the tree of ``size1``."""

    size1: int
    size2: int
    root1: bytes
    root2: bytes
    proof: list[bytes]


class LogReader:
    """Answers the public log endpoints from a LogStore."""

    def __init__(self, store: LogStore) -> None:
        self.store = store

    async def latest(self) -> StoredCheckpoint:
        """The latest signed checkpoint; NotFoundError before the first one is signed."""
        checkpoint = await self.store.latest_checkpoint()
        if checkpoint is None:
            raise NotFoundError("no checkpoint has been signed yet")
        return checkpoint

    async def tile(self, tile: Tile) -> bytes:
        """A hash tile (L >= 0) or entry bundle (L == -1) covered by the latest checkpoint."""
        size = (await self.latest()).size
        if size >> (8 * max(tile.L, 0)) < tile.N:  # beyond the tree: refuse before the database
            raise NotFoundError(f"tile {tile.L}/{tile.N} is beyond the log")
        if tile.L == -1:
            start = tile.N * TILE_WIDTH
            if start + tile.W > size:
                raise NotFoundError(f"entries {start}..{start + tile.W} are beyond the log")
            rows = await self.store.read_entries(start, tile.W)
            if len(rows) != tile.W:
                raise NotFoundError("entry bundle is incomplete")
            return encode_entry_bundle([r.event_hash for r in rows])
        data = await self.store.read_tile(tile.L, tile.N)
        if data is None or len(data) < tile.W * HASH_SIZE:
            raise NotFoundError(f"tile {tile.L}/{tile.N} of width {tile.W} does not exist")
        return data[: tile.W * HASH_SIZE]

    async def inclusion(self, event_hash: bytes, size: int | None = None) -> InclusionProof:
        """Inclusion proof of an event hash in the latest checkpoint (or tree ``size``)."""
        index = await self.store.find_index(event_hash)
        if index is None:
            raise NotFoundError("that event hash is not in the log (yet)")
        latest = await self.latest()
        size = latest.size if size is None else size
        if not index < size <= latest.size:
            raise InvalidInputError(
                f"size must be in {index + 1}..{latest.size} for entry {index}", field="size")
        checkpoint = latest if size == latest.size else None
        # One round trip for the proof's hashes (and the root's, for an unsigned size).
        proof, root = await with_hashes(lambda r: (
            prove_record(size, index, r), latest.root if checkpoint else tree_hash(size, r)),
            self.store.read_hashes)
        return InclusionProof(index, size, root, proof, checkpoint)

    async def consistency(self, size1: int, size2: int) -> ConsistencyProof:
        """Consistency proof between two tree sizes, both within the latest checkpoint."""
        latest = await self.latest()
        if not 1 <= size1 <= size2 <= latest.size:
            raise InvalidInputError(f"need 1 <= from <= to <= {latest.size}", field="from")
        proof, root1, root2 = await with_hashes(lambda r: (
            prove_tree(size2, size1, r), tree_hash(size1, r), tree_hash(size2, r)),
            self.store.read_hashes)
        return ConsistencyProof(size1, size2, root1, root2, proof)

    async def tlog_proof(self, event_hash: bytes,
                         cosignatures: CosignatureStore | None = None) -> bytes:
        """The C2SP tlog-proof of one event against the latest signed checkpoint; with
        ``cosignatures``, its checkpoint carries the witness cosignature lines stored for its
        size after the log's own (C2SP tlog-proof: "optionally including cosignatures"), so a
        reader holding the proof alone can apply a witness policy."""
        proof = await self.inclusion(event_hash)
        if proof.checkpoint is None:
            raise NotFoundError("no signed checkpoint covers that size")
        note = (proof.checkpoint.note if cosignatures is None
                else await cosigned(proof.checkpoint, cosignatures))
        return format_tlog_proof(proof.index, proof.proof, note)
