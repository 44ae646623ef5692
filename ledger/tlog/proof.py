"""Inclusion and consistency proofs (RFC 9162 section 2.1.3 and 2.1.4).

Generation reads stored hashes, as Go's golang.org/x/mod/sumdb/tlog does; verification follows
transparency-dev/merkle's ``proof`` package, whose test vectors it must reproduce exactly.
Every failed check raises ``VerificationError``; a proof that is well formed but leads to another
root raises its subclass ``RootMismatchError``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ledger.errors import InvalidInputError, VerificationError
from ledger.tlog.hashing import HASH_SIZE, hash_children
from ledger.tlog.tree import (
    HashReader,
    _expect_exhausted,
    _maxpow2,
    _read,
    _sub_tree_hash,
    _sub_tree_index,
    _trailing_zeros,
)


class RootMismatchError(VerificationError):
    """A well-formed proof recomputes ``calculated``, not the trusted root ``expected``."""

    def __init__(self, *, tree_size: int, expected: bytes, calculated: bytes) -> None:
        super().__init__(
            f"root hash at tree size {tree_size} mismatched: "
            f"calculated {calculated.hex()}, expected {expected.hex()}"
        )
        self.tree_size = tree_size
        self.expected = expected
        self.calculated = calculated


def prove_record(t: int, n: int, reader: HashReader) -> list[bytes]:
    """Return the inclusion proof of record ``n`` in the tree of size ``t``; requires 0 <= n < t.

    The proof is RFC 9162's PATH(n, D[t]), ordered from the leaf's sibling up to the root.
    """
    if not 0 <= n < t:
        raise InvalidInputError(f"record {n} is not in a tree of size {t}")
    indexes = _leaf_proof_index(0, t, n, [])
    hashes = iter(_read(reader, indexes))
    proof = _leaf_proof(0, t, n, hashes)
    _expect_exhausted(hashes)
    return proof


def prove_records(t: int, ns: Sequence[int], reader: HashReader) -> list[list[bytes]]:
    """Return ``[prove_record(t, n, reader) for n in ns]``, reading the stored hashes once;
    requires 0 <= n < t for every n.

    The proofs of neighbouring records share most of their subtrees (all but the lowest
    levels), so each subtree is named, read and folded once however many proofs use it: an
    evidence bundle proves hundreds of records against one checkpoint.
    """
    for n in ns:
        if not 0 <= n < t:
            raise InvalidInputError(f"record {n} is not in a tree of size {t}")
    paths = [_leaf_proof_ranges(t, n) for n in ns]
    ranges = list(dict.fromkeys(r for path in paths for r in path))
    parts = [_sub_tree_index(lo, hi, []) for lo, hi in ranges]
    wanted = list(dict.fromkeys(i for indexes in parts for i in indexes))
    stored = dict(zip(wanted, _read(reader, wanted), strict=True))
    hashes = {r: _sub_tree_hash(r[0], r[1], iter([stored[i] for i in indexes]))
              for r, indexes in zip(ranges, parts, strict=True)}
    return [[hashes[r] for r in path] for path in paths]


def _leaf_proof_ranges(t: int, n: int) -> list[tuple[int, int]]:
    # The record ranges [lo, hi) whose subtree hashes make PATH(n, D[t]), leaf's sibling
    # first: _leaf_proof's walk, without reading.
    lo, hi, ranges = 0, t, []
    while lo + 1 < hi:
        k, _ = _maxpow2(hi - lo)
        if n < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def prove_tree(t: int, n: int, reader: HashReader) -> list[bytes]:
    """Return the consistency proof from the tree of size ``n`` to size ``t``; requires 1 <= n <= t.

    The proof is RFC 9162's PROOF(n, D[t]); it is empty when n == t.
    """
    if not 1 <= n <= t:
        raise InvalidInputError(f"no consistency proof from tree size {n} to {t}")
    indexes = _tree_proof_index(0, t, n, [])
    hashes = iter(_read(reader, indexes))
    proof = _tree_proof(0, t, n, hashes)
    _expect_exhausted(hashes)
    return proof


def verify_inclusion(
    leaf_index: int, tree_size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``proof`` shows ``leaf_hash`` at ``leaf_index`` in the tree with ``root``.

    Requires nothing: an index out of range, a wrong-length hash or proof raises
    VerificationError, and a proof leading to another root raises RootMismatchError.
    """
    if not 0 <= leaf_index < tree_size:
        raise VerificationError(
            f"leaf index {leaf_index} out of range for tree size {tree_size}", index=leaf_index
        )
    if len(leaf_hash) != HASH_SIZE:
        raise VerificationError(f"leaf hash is {len(leaf_hash)} bytes, want {HASH_SIZE}")
    # RFC 9162 section 2.1.3.2: the path splits where the paths to leaf_index and to the last
    # leaf diverge; below, siblings sit left or right by the index bits, above only left.
    inner, border = _decompose_inclusion_proof(leaf_index, tree_size)
    _check_proof_shape(proof, inner + border)
    calculated = _chain_inner(leaf_hash, proof[:inner], leaf_index)
    calculated = _chain_border_right(calculated, proof[inner:])
    _verify_match(tree_size, calculated, root)


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that ``proof`` shows the tree (size1, root1) is a prefix of (size2, root2).

    Requires nothing; size1 == 0 is rejected as meaningless (as in transparency-dev's vectors),
    equal sizes need an empty proof and equal roots. Raises VerificationError or, when a root
    is not reproduced, RootMismatchError.
    """
    if size1 > size2:
        raise VerificationError(f"tree size {size1} > {size2}", index=size1)
    if size1 == 0:
        raise VerificationError("consistency proof from an empty tree is meaningless", index=0)
    if size1 == size2:
        if proof:
            raise VerificationError(f"proof has {len(proof)} hashes, want 0 for equal sizes")
        _verify_match(size1, root1, root2)
        return
    if not proof:
        raise VerificationError("empty consistency proof for different tree sizes")
    # RFC 9162 section 2.1.4.2: the proof is an inclusion proof of leaf size1-1 in tree size2,
    # cut at level ``shift`` where the largest complete subtree ending at size1 sits; its root
    # is the first proof hash, unless size1 is a power of two and root1 is that root.
    inner, border = _decompose_inclusion_proof(size1 - 1, size2)
    shift = _trailing_zeros(size1)
    inner -= shift
    seed_is_root1 = size1 == 1 << shift
    start = 0 if seed_is_root1 else 1
    _check_proof_shape(proof, start + inner + border)
    seed = root1 if seed_is_root1 else proof[0]
    path = proof[start:]
    mask = (size1 - 1) >> shift
    hash1 = _chain_border_right(_chain_inner_right(seed, path[:inner], mask), path[inner:])
    _verify_match(size1, hash1, root1)
    hash2 = _chain_border_right(_chain_inner(seed, path[:inner], mask), path[inner:])
    _verify_match(size2, hash2, root2)


def _check_proof_shape(proof: Sequence[bytes], want: int) -> None:
    if len(proof) != want:
        raise VerificationError(f"wrong proof size {len(proof)}, want {want}")
    for i, h in enumerate(proof):
        # Stricter than transparency-dev, which hashes any length: a short hash can only lead
        # to a root mismatch there, so rejecting it early changes no verdict.
        if len(h) != HASH_SIZE:
            raise VerificationError(f"proof hash {i} is {len(h)} bytes, want {HASH_SIZE}")


def _verify_match(tree_size: int, calculated: bytes, expected: bytes) -> None:
    if calculated != expected:
        raise RootMismatchError(tree_size=tree_size, expected=expected, calculated=calculated)


def _decompose_inclusion_proof(index: int, size: int) -> tuple[int, int]:
    inner = (index ^ (size - 1)).bit_length()
    return inner, (index >> inner).bit_count()


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for i, h in enumerate(proof):
        seed = hash_children(seed, h) if (index >> i) & 1 == 0 else hash_children(h, seed)
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    # Only the left siblings: this recomputes the older, smaller version of the subtree.
    for i, h in enumerate(proof):
        if (index >> i) & 1 == 1:
            seed = hash_children(h, seed)
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    for h in proof:
        seed = hash_children(h, seed)
    return seed


def _leaf_proof_index(lo: int, hi: int, n: int, need: list[int]) -> list[int]:
    # Mirrors _leaf_proof: the stored indexes it will consume, in the same order.
    if lo + 1 == hi:
        return need
    k, _ = _maxpow2(hi - lo)
    if n < lo + k:
        _leaf_proof_index(lo, lo + k, n, need)
        return _sub_tree_index(lo + k, hi, need)
    _sub_tree_index(lo, lo + k, need)
    return _leaf_proof_index(lo + k, hi, n, need)


def _leaf_proof(lo: int, hi: int, n: int, hashes: Iterator[bytes]) -> list[bytes]:
    # RFC 6962 section 2.1.1 PATH: walk down towards n, keeping the subtree not taken.
    if lo + 1 == hi:
        return []
    k, _ = _maxpow2(hi - lo)
    if n < lo + k:
        proof = _leaf_proof(lo, lo + k, n, hashes)
        sibling = _sub_tree_hash(lo + k, hi, hashes)
    else:
        sibling = _sub_tree_hash(lo, lo + k, hashes)
        proof = _leaf_proof(lo + k, hi, n, hashes)
    proof.append(sibling)
    return proof


def _tree_proof_index(lo: int, hi: int, n: int, need: list[int]) -> list[int]:
    # Mirrors _tree_proof: the stored indexes it will consume, in the same order.
    if n == hi:
        return need if lo == 0 else _sub_tree_index(lo, hi, need)
    k, _ = _maxpow2(hi - lo)
    if n <= lo + k:
        _tree_proof_index(lo, lo + k, n, need)
        return _sub_tree_index(lo + k, hi, need)
    _sub_tree_index(lo, lo + k, need)
    return _tree_proof_index(lo + k, hi, n, need)


def _tree_proof(lo: int, hi: int, n: int, hashes: Iterator[bytes]) -> list[bytes]:
    # RFC 6962 section 2.1.2 SUBPROOF; the old tree's own root (lo == 0) is never sent.
    if n == hi:
        return [] if lo == 0 else [_sub_tree_hash(lo, hi, hashes)]
    k, _ = _maxpow2(hi - lo)
    if n <= lo + k:
        proof = _tree_proof(lo, lo + k, n, hashes)
        sibling = _sub_tree_hash(lo + k, hi, hashes)
    else:
        sibling = _sub_tree_hash(lo, lo + k, hashes)
        proof = _tree_proof(lo + k, hi, n, hashes)
    proof.append(sibling)
    return proof
