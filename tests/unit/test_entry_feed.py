"""The tree worker's log entries handed on to the parent: a block is served only when it is
what ``read_entry_block`` would answer, and a record not yet written in full is not there."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

from ledger.store.log_port import LogBlock
from ledger.transparency.entry_feed import EntryFeed, EntryWriter, encode_block


def _block(start: int, count: int) -> LogBlock:
    """Entries ``start`` … ``start + count - 1``, naming positions 1000 + index."""
    return LogBlock(list(range(start, start + count)),
                    [1000 + i for i in range(start, start + count)],
                    b"".join(i.to_bytes(32, "big") for i in range(start, start + count)))


@pytest.fixture
def fd() -> Iterator[int]:
    with tempfile.TemporaryFile() as file:
        yield file.fileno()


def test_serves_any_run_inside_a_written_block(fd: int) -> None:
    write, feed = EntryWriter(fd), EntryFeed(fd)
    write(0, _block(0, 100))
    write(100, _block(100, 50))
    assert feed.block(0, 40) == _block(0, 40)
    assert feed.block(40, 60) == _block(40, 60)
    assert feed.block(100, 50) == _block(100, 50)


def test_leaves_to_the_database_what_a_block_does_not_hold_whole(fd: int) -> None:
    write, feed = EntryWriter(fd), EntryFeed(fd)
    write(10, _block(10, 100))
    assert feed.block(0, 20) is None  # before the first record
    assert feed.block(90, 40) is None  # runs past the record's end
    assert feed.block(110, 10) is None  # nothing written there yet
    write(110, _block(110, 10))
    assert feed.block(110, 10) == _block(110, 10)


def test_a_record_not_yet_written_in_full_is_not_there(fd: int) -> None:
    record = encode_block(0, _block(0, 64))
    assert record is not None
    os.write(fd, record[:-1])
    feed = EntryFeed(fd)
    assert feed.block(0, 64) is None
    os.write(fd, record[-1:])
    assert feed.block(0, 64) == _block(0, 64)


@pytest.mark.parametrize("block", [
    LogBlock([0, 2], [1, 2], bytes(64)),  # a gap
    LogBlock([1, 2], [1, 2], bytes(64)),  # not read from its start
    LogBlock([0, 1], [1, 2], bytes(63)),  # a hash of the wrong length
    LogBlock([0, 1], [1, 2 ** 63], bytes(64)),  # a position beyond 64 bits
    LogBlock([], [], b""),
])
def test_a_block_the_reader_cannot_use_is_not_written_nor_any_after_it(
        fd: int, block: LogBlock) -> None:
    assert encode_block(0, block) is None
    write = EntryWriter(fd)
    write(0, block)
    write(0, _block(0, 10))
    assert os.fstat(fd).st_size == 0
    assert EntryFeed(fd).block(0, 10) is None
