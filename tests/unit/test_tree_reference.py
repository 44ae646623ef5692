"""The fast stored-hash tree agrees with the naive RFC 6962 reference in ``reference``.

Entries are the 32-byte SHA-256 of each index, as our log's entries are event hashes. One
store of 1,000 entries (appended in uneven batches) serves every tree size up to 1,000, since a
tree of size n depends only on its first n entries; a 65,537-entry store covers the third tile
level and the 2**16 boundary.
"""

import hashlib
from collections.abc import Sequence
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import InvalidInputError, VerificationError
from ledger.tlog import reference
from ledger.tlog.hashing import EMPTY_ROOT, hash_leaf
from ledger.tlog.proof import (
    RootMismatchError,
    prove_record,
    prove_records,
    prove_tree,
    verify_consistency,
    verify_inclusion,
)
from ledger.tlog.tile import (
    changed_tiles,
    hash_from_tile,
    new_tiles,
    read_tile_data,
    tile_for_index,
)
from ledger.tlog.tree import (
    append_leaf_hashes,
    rebuild_stored_hashes,
    split_stored_hash_index,
    stored_hash_count,
    stored_hash_index,
    stored_hashes,
    tree_hash,
)

SMALL = 1000
LARGE = 65537


class MemoryHashStore:
    """A HashReader over a Python list: the in-memory fake of the hash storage port."""

    def __init__(self) -> None:
        self.hashes: list[bytes] = []
        self.size = 0

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        return [self.hashes[i] for i in indexes]

    def append(self, batch: Sequence[bytes]) -> None:
        for index, h in append_leaf_hashes(self.size, [hash_leaf(e) for e in batch], self):
            assert index == len(self.hashes)  # writes are dense and in order
            self.hashes.append(h)
        self.size += len(batch)


def entry(i: int) -> bytes:
    return hashlib.sha256(i.to_bytes(8, "big")).digest()


@cache
def store(size: int) -> MemoryHashStore:
    s = MemoryHashStore()
    batch, start = 1, 0
    while start < size:
        s.append([entry(i) for i in range(start, min(size, start + batch))])
        start, batch = start + batch, batch * 3 % 301 + 1  # uneven batch sizes, 1 to 301
    return s


@cache
def entries(size: int) -> list[bytes]:
    return [entry(i) for i in range(size)]


sizes = st.integers(min_value=1, max_value=300)


@given(st.integers(min_value=0, max_value=SMALL))
def test_rebuild_equals_incremental_appends(n: int) -> None:
    rebuilt, leaves = rebuild_stored_hashes(b"".join(entries(n)))
    assert rebuilt == b"".join(store(SMALL).hashes[:stored_hash_count(n)])
    assert leaves == b"".join(hash_leaf(e) for e in entries(n))


def test_rebuild_equals_incremental_appends_past_the_third_tile_level() -> None:
    rebuilt, _ = rebuild_stored_hashes(b"".join(entries(LARGE)))
    assert rebuilt == b"".join(store(LARGE).hashes)


def test_rebuild_refuses_a_partial_hash() -> None:
    with pytest.raises(InvalidInputError):
        rebuild_stored_hashes(b"\x00" * 33)


@given(sizes)
def test_tree_hash_matches_reference_mth(n: int) -> None:
    assert tree_hash(n, store(SMALL)) == reference.mth(entries(n))


def test_empty_tree_hashes_to_sha256_of_nothing() -> None:
    assert tree_hash(0, store(SMALL)) == EMPTY_ROOT == reference.mth([])


@given(st.data())
def test_inclusion_proof_matches_reference_path_and_verifies(data: st.DataObject) -> None:
    n = data.draw(sizes)
    m = data.draw(st.integers(min_value=0, max_value=n - 1))
    proof = prove_record(n, m, store(SMALL))
    assert proof == reference.path(m, entries(n))
    verify_inclusion(m, n, hash_leaf(entry(m)), proof, tree_hash(n, store(SMALL)))


class CountingReader:
    """A HashReader that counts its reads: prove_records must read once, nothing twice."""

    def __init__(self, inner: MemoryHashStore) -> None:
        self.inner, self.reads = inner, 0
        self.indexes: list[int] = []

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        self.reads += 1
        self.indexes += indexes
        return self.inner.read_hashes(indexes)


@given(st.data())
def test_batched_inclusion_proofs_match_one_by_one_and_the_reference(
        data: st.DataObject) -> None:
    n = data.draw(sizes)
    ms = data.draw(st.lists(st.integers(min_value=0, max_value=n - 1), max_size=40))
    reader = CountingReader(store(SMALL))
    proofs = prove_records(n, ms, reader)
    assert proofs == [prove_record(n, m, store(SMALL)) for m in ms]
    assert proofs == [reference.path(m, entries(n)) for m in ms]
    assert reader.reads <= 1
    assert len(reader.indexes) == len(set(reader.indexes))


def test_batched_inclusion_proofs_share_their_subtrees() -> None:
    # 600 neighbouring records of a 65,537-record tree: one read, of far fewer hashes than
    # 600 separate proofs would read.
    s, es = store(LARGE), entries(LARGE)
    ms = list(range(30_000, 30_600))
    reader = CountingReader(s)
    proofs = prove_records(LARGE, ms, reader)
    assert reader.reads == 1
    assert len(reader.indexes) < sum(len(p) for p in proofs) // 4
    root = tree_hash(LARGE, s)
    for m in (ms[0], ms[299], ms[-1]):
        assert proofs[m - ms[0]] == reference.path(m, es)
        verify_inclusion(m, LARGE, hash_leaf(es[m]), proofs[m - ms[0]], root)


def test_batched_inclusion_proofs_refuse_a_record_outside_the_tree() -> None:
    with pytest.raises(InvalidInputError, match="record 5 is not in a tree of size 5"):
        prove_records(5, [0, 5], store(SMALL))


@given(st.data())
def test_consistency_proof_matches_reference_proof_and_verifies(data: st.DataObject) -> None:
    n = data.draw(sizes)
    m = data.draw(st.integers(min_value=1, max_value=n))
    proof = prove_tree(n, m, store(SMALL))
    assert proof == reference.proof(m, entries(n))
    verify_consistency(m, n, proof, tree_hash(m, store(SMALL)), tree_hash(n, store(SMALL)))


@given(st.data())
def test_mutated_inclusion_proof_fails(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=2, max_value=300))
    m = data.draw(st.integers(min_value=0, max_value=n - 1))
    proof = prove_record(n, m, store(SMALL))
    root = tree_hash(n, store(SMALL))
    i = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
    bit = data.draw(st.integers(min_value=0, max_value=255))
    flipped = bytearray(proof[i])
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(RootMismatchError):
        verify_inclusion(
            m, n, hash_leaf(entry(m)), [*proof[:i], bytes(flipped), *proof[i + 1 :]], root
        )
    with pytest.raises(VerificationError, match="wrong proof size"):
        verify_inclusion(m, n, hash_leaf(entry(m)), proof[:-1], root)
    with pytest.raises(VerificationError, match="wrong proof size"):
        verify_inclusion(m, n, hash_leaf(entry(m)), [*proof, proof[0]], root)
    with pytest.raises(RootMismatchError):
        verify_inclusion(m, n, hash_leaf(entry((m + 1) % n)), proof, root)


@given(st.data())
def test_mutated_consistency_proof_fails(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=2, max_value=300))
    m = data.draw(st.integers(min_value=1, max_value=n - 1))
    proof = prove_tree(n, m, store(SMALL))
    root1, root2 = tree_hash(m, store(SMALL)), tree_hash(n, store(SMALL))
    i = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
    flipped = bytearray(proof[i])
    flipped[data.draw(st.integers(min_value=0, max_value=31))] ^= 0x10
    with pytest.raises(RootMismatchError):
        verify_consistency(m, n, [*proof[:i], bytes(flipped), *proof[i + 1 :]], root1, root2)
    with pytest.raises(VerificationError):
        verify_consistency(m, n, proof[:-1], root1, root2)
    with pytest.raises(VerificationError):
        verify_consistency(m, n, proof, root2, root1)


@settings(max_examples=25)
@given(st.data())
def test_tiles_match_reference_and_rebuild_their_hashes(data: st.DataObject) -> None:
    old = data.draw(st.integers(min_value=0, max_value=SMALL))
    new = data.draw(st.integers(min_value=old, max_value=SMALL))
    for tile in new_tiles(8, old, new):
        content = read_tile_data(tile, store(SMALL))
        assert content == reference.tile_hashes(tile.L, tile.N, tile.W, entries(SMALL))
    assert set(changed_tiles(old, new)) <= set(new_tiles(8, old, new))


@given(st.integers(min_value=0, max_value=stored_hash_count(SMALL) - 1), st.integers(1, 10))
def test_every_stored_hash_can_be_read_back_from_its_tile(index: int, height: int) -> None:
    s = store(SMALL)
    level, n = split_stored_hash_index(index)
    assert stored_hash_index(level, n) == index
    tile = tile_for_index(height, index)
    assert hash_from_tile(tile, read_tile_data(tile, s), index) == s.hashes[index]


def test_stored_hashes_match_the_batch_append() -> None:
    s = store(SMALL)
    for n in range(300):
        start = stored_hash_index(0, n)
        want = s.hashes[start : stored_hash_count(n + 1)]
        assert stored_hashes(n, entry(n), s) == want


@pytest.mark.parametrize("size", [1000, LARGE])
def test_large_trees_match_reference(size: int) -> None:
    s, es = store(size), entries(size)
    root = tree_hash(size, s)
    assert root == reference.mth(es)
    for m in (0, 1, 255, 256, 65535, 65536):
        if m < size:
            proof = prove_record(size, m, s)
            assert proof == reference.path(m, es)
            verify_inclusion(m, size, hash_leaf(es[m]), proof, root)
    for m in (1, 256, 999, 65536):
        if m < size:
            proof = prove_tree(size, m, s)
            assert proof == reference.proof(m, es)
            verify_consistency(m, size, proof, tree_hash(m, s), root)


def test_large_tree_tiles_match_reference() -> None:
    s, es = store(LARGE), entries(LARGE)
    tiles = changed_tiles(0, LARGE)
    assert [(t.L, t.W) for t in tiles if t.W != 256] == [(0, 1), (2, 1)]
    for tile in tiles:
        if tile.L > 0 or tile.N in (0, 255, 256):
            assert read_tile_data(tile, s) == reference.tile_hashes(tile.L, tile.N, tile.W, es)
