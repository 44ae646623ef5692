"""The advisory lock key of a stream is its UUID's first 8 bytes as a signed bigint: the same
in every process, so every append sorts its locks into the one global order."""

from __future__ import annotations

import uuid

from ledger.store.postgres_batch import lock_key


def test_lock_key_is_the_first_eight_bytes_as_a_signed_bigint() -> None:
    for text, expected in [("00000000-0000-0001-ffff-ffffffffffff", 1),
                           ("ffffffff-ffff-ffff-0000-000000000000", -1),
                           ("80000000-0000-0000-0000-000000000000", -(1 << 63)),
                           ("7fffffff-ffff-ffff-ffff-ffffffffffff", (1 << 63) - 1)]:
        assert lock_key(uuid.UUID(text)) == expected


def test_lock_key_agrees_with_the_bytes_for_random_ids() -> None:
    for _ in range(1000):
        stream = uuid.uuid4()
        assert lock_key(stream) == int.from_bytes(stream.bytes[:8], "big", signed=True)
