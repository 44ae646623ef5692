"""The advisory lock key of a stream is its UUID's first 8 bytes as two signed 32-bit integers:
the same in every process, so every append sorts its locks into the one global order."""

from __future__ import annotations

import struct
import uuid

from ledger.store.postgres_batch import lock_key


def test_lock_key_is_the_first_eight_bytes_as_two_signed_integers() -> None:
    for text, expected in [("00000001-0000-0002-ffff-ffffffffffff", (1, 2)),
                           ("ffffffff-ffff-ffff-0000-000000000000", (-1, -1)),
                           ("80000000-7fff-ffff-0000-000000000000", (-(1 << 31), (1 << 31) - 1))]:
        assert lock_key(uuid.UUID(text)) == expected


def test_lock_key_agrees_with_the_bytes_for_random_ids() -> None:
    for _ in range(1000):
        stream = uuid.uuid4()
        assert lock_key(stream) == struct.unpack(">ii", stream.bytes[:8])
