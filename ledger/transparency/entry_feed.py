"""The log entries the tree worker reads, handed on to the parent's log match.

``ledger verify`` reads every log entry twice: the child process that audits the tree reads
them (index, event position, hash) to rebuild it, and the parent reads them again to match
them with the events' hashes (``LogMatcher``). Reading them costs SQLite ~0.7 µs an entry
(its type checks and aggregation), on the parent, whose chain check is the critical path.
So the child writes each block it reads, as read, to a file the parent passed it, and the
parent's matcher takes a block from that file when it holds one, else reads the database
as before. Nothing is trusted that would not be otherwise: the child is this very code on
the same database, the parent already trusts its tree report, and a block is handed on
only when it is one the database would have answered to the matcher's own read.

A record: ``start`` and ``count`` (little-endian 64-bit), then ``count`` event
positions (64-bit) and ``count`` 32-byte hashes; the entries are those at indexes ``start``
… ``start + count - 1`` (only blocks with no gap are written). Each record is written with
one call, and the reader treats a record not yet written in full as not there yet.
"""

from __future__ import annotations

import os
import struct
from array import array

from ledger.store.log_port import LogBlock

_HEAD = struct.Struct("<qq")  # start, count
_POSITION = "q"


def encode_block(start: int, block: LogBlock) -> bytes | None:
    """The record for ``block``, as ``read_entry_block(start, …)`` answered it; None when it
    is not one the reader can use (a gap, a hash of the wrong length, a position that is not
    a 64-bit integer). Indexes are ascending and distinct (the port's promise), so a block
    whose last index is ``start + count - 1`` has no gap."""
    count = len(block.indexes)
    if not count or block.indexes[0] != start or block.indexes[-1] - start != count - 1 \
            or len(block.hashes) != 32 * count:
        return None
    try:
        positions = array(_POSITION, block.positions)
    except (TypeError, OverflowError):
        return None
    if len(positions) != count:
        return None
    return _HEAD.pack(start, count) + positions.tobytes() + block.hashes


class EntryWriter:
    """Writes records to a file descriptor; stops (silently: the reader then reads the
    database) at the first block it cannot encode or write."""

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    def __call__(self, start: int, block: LogBlock) -> None:
        if self.fd is None:
            return
        record = encode_block(start, block)
        try:
            if record is None:
                raise OSError("a block the reader cannot use")
            view = memoryview(record)
            while view:
                view = view[os.write(self.fd, view):]
        except OSError:
            self.fd = None  # a partial record is never completed: the reader stops there


class EntryFeed:
    """Reads records from a file another process is writing, at the reader's own pace.

    Precondition: ``block`` is asked for blocks in ascending ``start`` (the matcher reads the
    log in index order); a record is dropped once a later start is asked for.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.offset = 0  # of the next record not read yet
        self.start = self.count = 0
        self.positions: list[int] = []
        self.hashes = b""

    def block(self, start: int, limit: int) -> LogBlock | None:
        """What ``read_entry_block(start, limit)`` would answer, when a record holds all of it;
        else None (not written yet, or not a block the child read), and the caller reads the
        database."""
        while start >= self.start + self.count:
            if not self._next():
                return None
        if start < self.start:
            return None
        end = start + limit
        if end > self.start + self.count:
            return None  # an entry after this record's end might be wanted
        a, b = start - self.start, end - self.start
        return LogBlock(list(range(start, end)), self.positions[a:b],
                        self.hashes[32 * a:32 * b])

    def _next(self) -> bool:
        self.positions, self.hashes, self.count = [], b"", 0  # no later read wants them
        head = os.pread(self.fd, _HEAD.size, self.offset)
        if len(head) < _HEAD.size:
            return False
        start, count = _HEAD.unpack(head)
        at = self.offset + _HEAD.size
        hashes = os.pread(self.fd, 32 * count, at + 8 * count)  # written last: read first
        if len(hashes) < 32 * count:
            return False
        positions = array(_POSITION, os.pread(self.fd, 8 * count, at))
        self.offset = at + 40 * count
        self.start, self.count = start, count
        self.positions, self.hashes = positions.tolist(), hashes
        return True
