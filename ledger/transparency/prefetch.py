"""Run the synchronous tlog algorithms over asynchronously stored hashes.

Every ``ledger.tlog`` function reads all the stored hashes it needs in exactly one
``read_hashes`` call, so a first pass with a recording reader learns the indexes, one async
fetch gets them, and a second pass computes the real result.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from ledger.tlog.tree import HashReader

T = TypeVar("T")
Fetch = Callable[[Sequence[int]], Awaitable[list[bytes]]]
_PLACEHOLDER = bytes(32)


class _RecordingReader:
    def __init__(self) -> None:
        self.indexes: list[int] = []

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        self.indexes.extend(indexes)
        return [_PLACEHOLDER] * len(indexes)


class MapReader:
    """A HashReader over hashes already in memory (index → hash)."""

    def __init__(self, hashes: dict[int, bytes]) -> None:
        self.hashes = hashes

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """Return the hashes at ``indexes``; KeyError if one was not fetched."""
        return [self.hashes[i] for i in indexes]


async def with_hashes(compute: Callable[[HashReader], T], fetch: Fetch) -> T:
    """Return ``compute(reader)`` with the hashes it reads fetched asynchronously first.

    Precondition: ``compute`` is deterministic and reads through the reader it is given.
    """
    recorder = _RecordingReader()
    compute(recorder)
    if not recorder.indexes:
        return compute(MapReader({}))
    wanted = sorted(set(recorder.indexes))
    return compute(MapReader(dict(zip(wanted, await fetch(wanted), strict=True))))
