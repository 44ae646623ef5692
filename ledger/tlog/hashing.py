"""Merkle tree hashing of RFC 6962 section 2.1 (unchanged in RFC 9162 section 2.1.1).

Leaves and interior nodes are hashed with different one-byte prefixes so that a leaf can never
be passed off as an interior node (the second-preimage defence of RFC 6962 section 2.1).
"""

from __future__ import annotations

import hashlib

HASH_SIZE = 32
"""Size in bytes of every hash in the log: SHA-256 (RFC 6962 section 2.1)."""

LEAF_HASH_PREFIX = b"\x00"
"""Domain-separation byte prepended to a leaf's entry (RFC 6962 section 2.1)."""

NODE_HASH_PREFIX = b"\x01"
"""Domain-separation byte prepended to two child hashes (RFC 6962 section 2.1)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256(), the root hash of the empty tree (RFC 6962 section 2.1)."""


def hash_leaf(entry: bytes) -> bytes:
    """Return SHA-256(0x00 ‖ entry), the leaf hash of one log entry; any entry is accepted."""
    return hashlib.sha256(LEAF_HASH_PREFIX + entry).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 ‖ left ‖ right); callers pass two HASH_SIZE-byte hashes (unchecked)."""
    return hashlib.sha256(NODE_HASH_PREFIX + left + right).digest()
