"""Naive reference Merkle tree, written straight from RFC 6962 section 2.1, for tests only.

It recomputes everything recursively from the entries and is slow on purpose: the fast,
stored-hash code in ``tree``, ``proof`` and ``tile`` is cross-checked against it. Nothing in
the ledger may call it outside tests.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.tlog.hashing import EMPTY_ROOT, hash_children, hash_leaf


def mth(entries: Sequence[bytes]) -> bytes:
    """Return MTH(D[n]) of RFC 6962 section 2.1 for the list of entries D[n]; any list."""
    n = len(entries)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hash_leaf(entries[0])
    k = _largest_power_of_two_below(n)
    return hash_children(mth(entries[:k]), mth(entries[k:]))


def path(m: int, entries: Sequence[bytes]) -> list[bytes]:
    """Return PATH(m, D[n]) of RFC 6962 section 2.1.1; requires 0 <= m < n."""
    n = len(entries)
    if not 0 <= m < n:
        raise ValueError(f"PATH({m}, D[{n}]) is undefined")
    if n == 1:
        return []
    k = _largest_power_of_two_below(n)
    if m < k:
        return [*path(m, entries[:k]), mth(entries[k:])]
    return [*path(m - k, entries[k:]), mth(entries[:k])]


def proof(m: int, entries: Sequence[bytes]) -> list[bytes]:
    """Return PROOF(m, D[n]) of RFC 6962 section 2.1.2; requires 0 < m <= n."""
    if not 0 < m <= len(entries):
        raise ValueError(f"PROOF({m}, D[{len(entries)}]) is undefined")
    return subproof(m, entries, True)


def subproof(m: int, entries: Sequence[bytes], b: bool) -> list[bytes]:
    """Return SUBPROOF(m, D[n], b) of RFC 6962 section 2.1.2; requires 0 < m <= n."""
    n = len(entries)
    if m == n:
        return [] if b else [mth(entries)]
    k = _largest_power_of_two_below(n)
    if m <= k:
        return [*subproof(m, entries[:k], b), mth(entries[k:])]
    return [*subproof(m - k, entries[k:], False), mth(entries[:k])]


def tile_hashes(level: int, number: int, width: int, entries: Sequence[bytes]) -> bytes:
    """Return the C2SP tlog-tiles tile (level, number) of ``width`` hashes, concatenated.

    Requires the entries to cover the tile; hash i is MTH(D[(n*256+i)*256**l : (n*256+i+1)*256**l])
    as the tlog-tiles specification defines it.
    """
    span = 256**level
    out = b""
    for i in range(width):
        start = (number * 256 + i) * span
        out += mth(entries[start : start + span])
    return out


def _largest_power_of_two_below(n: int) -> int:
    # RFC 6962 section 2.1: "k is the largest power of two smaller than n" (n > 1).
    k = 1
    while k * 2 < n:
        k *= 2
    return k
