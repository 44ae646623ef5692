"""Stored-hash layout of the log's Merkle tree, ported from Go's golang.org/x/mod/sumdb/tlog.

Every complete subtree hash is stored once, at a dense linear index (Crosby and Wallach,
"Efficient Data Structures for Tamper-Evident Logging", section 3.3): appending record n stores
its leaf hash, then one hash per subtree that record completes. The root of any tree size, and
any proof, is then assembled from at most a few dozen stored hashes (RFC 6962 section 2.1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Protocol

from ledger.errors import InvalidInputError, VerificationError
from ledger.tlog.hashing import EMPTY_ROOT, HASH_SIZE, hash_children, hash_leaf


class HashReader(Protocol):
    """The port through which the pure code reads stored hashes (an adapter implements it)."""

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """Return the hashes stored at ``indexes``, in order; every index must already be stored.

        Implementations may run faster when ``indexes`` is sorted ascending.
        """
        ...


def stored_hash_index(level: int, n: int) -> int:
    """Return the storage index of the n-th hash at ``level``; requires level >= 0 and n >= 0."""
    if level < 0 or n < 0:
        raise InvalidInputError(f"invalid tree coordinates ({level}, {n})")
    # Level L's n-th hash is written right after level L+1's (2n+1)-th hash, so walk down to
    # level 0, whose n-th hash sits at n + n/2 + n/4 + ... = 2n - popcount(n).
    n = (n << level) | ((1 << level) - 1)
    return 2 * n - n.bit_count() + level


def split_stored_hash_index(index: int) -> tuple[int, int]:
    """Return (level, n) such that stored_hash_index(level, n) == index; requires index >= 0."""
    if index < 0:
        raise InvalidInputError(f"invalid stored hash index {index}")
    # stored_hash_index(0, n) < 2n, so the record that stored ``index`` is in
    # [index/2, index/2 + log2(index)]; each record n adds 1 + trailing_zeros(n+1) hashes.
    n = index // 2
    index_n = stored_hash_index(0, n)
    while True:
        x = index_n + 1 + _trailing_zeros(n + 1)
        if x > index:
            break
        n += 1
        index_n = x
    level = index - index_n
    return level, n >> level


def stored_hash_count(n: int) -> int:
    """Return how many hashes are stored for a tree of ``n`` records; requires n >= 0."""
    if n < 0:
        raise InvalidInputError(f"invalid tree size {n}")
    # Equals the index at which record n's leaf hash will be stored.
    return stored_hash_index(0, n)


def stored_hashes(n: int, entry: bytes, reader: HashReader) -> list[bytes]:
    """Return the hashes to store, from stored_hash_index(0, n) on, when appending entry n.

    Requires the hashes of records 0..n-1 to be readable from ``reader``.
    """
    if n < 0:
        raise InvalidInputError(f"invalid record index {n}")
    leaf_hash = hash_leaf(entry)
    indexes = _completed_subtree_indexes(n)
    old = _read(reader, indexes)
    hashes = [leaf_hash]
    h = leaf_hash
    # Each trailing 1 bit of n completes a subtree, consuming the hash of its left sibling.
    for sibling in reversed(old):
        h = hash_children(sibling, h)
        hashes.append(h)
    return hashes


def append_leaf_hashes(
    size: int, leaf_hashes: Sequence[bytes], reader: HashReader
) -> list[tuple[int, bytes]]:
    """Return the (stored index, hash) pairs to persist when appending a batch of leaf hashes.

    Requires the tree to hold ``size`` records whose hashes ``reader`` can read; the batch's
    records get indexes size, size+1, ... Reads the older hashes it needs in one call.
    """
    if size < 0:
        raise InvalidInputError(f"invalid tree size {size}")
    for k, leaf_hash in enumerate(leaf_hashes):
        _check_leaf_hash(leaf_hash, size + k)
    base = stored_hash_count(size)
    needed = sorted(
        {i for k in range(len(leaf_hashes)) for i in _completed_subtree_indexes(size + k)}
    )
    old = [i for i in needed if i < base]
    known = dict(zip(old, _read(reader, old), strict=True))
    written: list[tuple[int, bytes]] = []
    for k, leaf_hash in enumerate(leaf_hashes):
        n = size + k
        h = leaf_hash
        new = [h]
        for sibling_index in reversed(_completed_subtree_indexes(n)):
            h = hash_children(known[sibling_index], h)
            new.append(h)
        start = stored_hash_index(0, n)
        for offset, value in enumerate(new):
            known[start + offset] = value
            written.append((start + offset, value))
    return written


def tree_hash(n: int, reader: HashReader) -> bytes:
    """Return the root hash of the tree of the first ``n`` records; requires n >= 0.

    Unlike Go's tlog.TreeHash (all-zero hash for n == 0) the empty tree hashes to EMPTY_ROOT,
    MTH({}) of RFC 6962 section 2.1, which is what a C2SP checkpoint of size 0 carries.
    """
    if n < 0:
        raise InvalidInputError(f"invalid tree size {n}")
    if n == 0:
        return EMPTY_ROOT
    indexes = _sub_tree_index(0, n, [])
    hashes = iter(_read(reader, indexes))
    root = _sub_tree_hash(0, n, hashes)
    _expect_exhausted(hashes)
    return root


def _sub_tree_index(lo: int, hi: int, need: list[int]) -> list[int]:
    """Append to ``need`` the stored indexes that make up records [lo, hi); requires lo <= hi.

    Package-internal (proof and tile share it, as Go's tlog.go and tile.go share subTreeIndex).
    """
    while lo < hi:
        k, level = _maxpow2(hi - lo + 1)
        need.append(stored_hash_index(level, lo >> level))
        lo += k
    return need


def _sub_tree_hash(lo: int, hi: int, hashes: Iterator[bytes]) -> bytes:
    """Return MTH of records [lo, hi), consuming from ``hashes`` those _sub_tree_index named.

    Requires lo < hi; package-internal.
    """
    # [lo, hi) splits into maximal complete subtrees, left to right; the root folds them
    # from the right, as the right edge of an RFC 6962 tree is the only incomplete part.
    parts: list[bytes] = []
    while lo < hi:
        k, _ = _maxpow2(hi - lo + 1)
        parts.append(_next_hash(hashes))
        lo += k
    h = parts[-1]
    for left in reversed(parts[:-1]):
        h = hash_children(left, h)
    return h


def _maxpow2(n: int) -> tuple[int, int]:
    """Return (k, log2 k) for the largest power of two k smaller than n; requires n >= 1.

    For n <= 2 this is (1, 0), as in Go's tlog (RFC 6962 section 2.1 uses it with n > 1).
    """
    level = max(n - 1, 1).bit_length() - 1
    return 1 << level, level


def _completed_subtree_indexes(n: int) -> list[int]:
    """Stored indexes of the left siblings that appending record n combines with, ascending."""
    m = _trailing_zeros(n + 1)
    return [stored_hash_index(i, (n >> i) - 1) for i in reversed(range(m))]


def _check_leaf_hash(leaf_hash: bytes, n: int) -> None:
    if len(leaf_hash) != HASH_SIZE:
        raise InvalidInputError(f"leaf hash of record {n} is not {HASH_SIZE} bytes")


def _trailing_zeros(x: int) -> int:
    return (x & -x).bit_length() - 1


def _read(reader: HashReader, indexes: Sequence[int]) -> list[bytes]:
    if not indexes:
        return []
    hashes = reader.read_hashes(indexes)
    if len(hashes) != len(indexes):
        raise VerificationError(
            f"hash reader returned {len(hashes)} hashes for {len(indexes)} indexes"
        )
    for index, h in zip(indexes, hashes, strict=True):
        if len(h) != HASH_SIZE:
            raise VerificationError(
                f"stored hash {index} is {len(h)} bytes, not {HASH_SIZE}", index=index
            )
    return hashes


def _next_hash(hashes: Iterator[bytes]) -> bytes:
    try:
        return next(hashes)
    except StopIteration:
        raise AssertionError("tlog: bad index math (too few hashes)") from None


def _expect_exhausted(hashes: Iterator[bytes]) -> None:
    if next(hashes, None) is not None:
        raise AssertionError("tlog: bad index math (hashes left over)")


def rebuild_stored_hashes(record_hashes: bytes) -> tuple[bytes, bytes]:
    """Return every stored hash of the tree over ``record_hashes`` in storage order, and the
    leaf hashes alone.

    ``record_hashes`` is the concatenation of the records' 32-byte hashes (record i at offset
    32i). The first result concatenates the ``stored_hash_count(n)`` stored hashes (index k at
    offset 32k), byte-identical to what appending the records one by one stores; the second,
    the n leaf hashes (the level-0 tiles' contents). ``TreeBuilder`` does the same a block
    at a time.
    """
    builder = TreeBuilder()
    stored, leaves, _ = builder.add(record_hashes)
    return stored, leaves


class TreeBuilder:
    """The tree rebuilt from its records' hashes a block at a time, in bounded memory.

    Keeps only the frontier: the roots of the complete subtrees left of the next record, at
    most one per level (RFC 6962's right edge). ``add`` returns the stored hashes the block's
    records append, in storage order, so a whole log is audited without holding its tree.
    """

    def __init__(self, mark_every: int = 0) -> None:
        self.size = 0
        self._pending: list[bytes] = []  # complete subtree roots, largest (leftmost) first
        self._mark = mark_every  # also report hashes at levels that are multiples of this

    def add(self, record_hashes: bytes) -> tuple[bytes, bytes, list[tuple[int, bytes]]]:
        """Append records; return their stored hashes (concatenated, storage order), their
        leaf hashes, and each (level, hash) completed at a positive level that is a multiple
        of ``mark_every`` (in the order completed: per level, in index order)."""
        if len(record_hashes) % HASH_SIZE:
            raise InvalidInputError("record hashes are not a whole number of 32-byte hashes")
        sha256 = hashlib.sha256
        out: list[bytes] = []
        leaves: list[bytes] = []
        marked: list[tuple[int, bytes]] = []
        append, append_leaf = out.append, leaves.append
        pending = self._pending
        push, pop = pending.append, pending.pop
        mark = self._mark
        for n, offset in enumerate(range(0, len(record_hashes), HASH_SIZE), start=self.size + 1):
            h = sha256(b"\x00" + record_hashes[offset:offset + HASH_SIZE]).digest()
            append(h)
            append_leaf(h)
            level = 0
            while not n & 1:  # each trailing 0 bit of n completes a subtree with its sibling
                h = sha256(b"\x01" + pop() + h).digest()
                append(h)
                n >>= 1
                level += 1
                if mark and not level % mark:
                    marked.append((level, h))
            push(h)
        self.size += len(record_hashes) // HASH_SIZE
        return b"".join(out), b"".join(leaves), marked

    def root(self) -> bytes:
        """The root hash of the tree of the records added so far (EMPTY_ROOT for none)."""
        if not self._pending:
            return EMPTY_ROOT
        h = self._pending[-1]
        for left in reversed(self._pending[:-1]):
            h = hash_children(left, h)
        return h
