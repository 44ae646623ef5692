"""Each entry's C2SP tlog-proof against one signed checkpoint, in a few queries.

The export waits (bounded) until the log's latest checkpoint covers every event of the case,
then proves them all against that one checkpoint: one ``find_indexes`` query per poll, and one
batched read of every stored hash the proofs need (``with_hashes`` records the indexes all of
them read, then fetches them at once).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ledger.errors import PushbackError
from ledger.store.log_port import LogStore, StoredCheckpoint
from ledger.tlog.proof import prove_records
from ledger.tlog.proof_text import format_tlog_proof
from ledger.transparency.prefetch import with_hashes

DEFAULT_WAIT_SECONDS = 10.0
_POLL_SECONDS = (0.02, 0.05, 0.1, 0.2)


@dataclass(frozen=True)
class Coverage:
    """A signed checkpoint and the log index of every event hash it covers."""

    checkpoint: StoredCheckpoint
    indexes: dict[bytes, int]


async def await_coverage(log: LogStore, event_hashes: Sequence[bytes], *,
                         wait_seconds: float = DEFAULT_WAIT_SECONDS,
                         poke: Callable[[], None] | None = None) -> Coverage:
    """The latest signed checkpoint once it covers every one of ``event_hashes``.

    ``poke`` wakes a sequencer in this process. PushbackError (503, retry later) when the log
    has not covered them within ``wait_seconds``: no sequencer runs, or it is far behind.
    """
    deadline = time.monotonic() + wait_seconds
    polls = 0
    while True:
        if poke is not None:
            poke()
        indexes = await log.find_indexes(event_hashes)
        checkpoint = await log.latest_checkpoint()
        size = checkpoint.size if checkpoint is not None else 0
        missing = sum(1 for h in event_hashes if indexes.get(h, size) >= size)
        if checkpoint is not None and not missing:
            return Coverage(checkpoint, indexes)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise PushbackError(
                f"the transparency log has not yet covered {missing} of the case's "
                f"{len(event_hashes)} events within {wait_seconds:g}s; is the sequencer "
                "running (ledger serve)? Try again shortly", retry_after=2)
        await asyncio.sleep(min(remaining, _POLL_SECONDS[min(polls, len(_POLL_SECONDS) - 1)]))
        polls += 1


async def prove_all(log: LogStore, coverage: Coverage,
                    event_hashes: Sequence[bytes]) -> dict[bytes, bytes]:
    """Event hash → its tlog-proof against ``coverage.checkpoint``; one batched hash read.

    Precondition: ``coverage`` covers every one of ``event_hashes``.
    """
    size, note = coverage.checkpoint.size, coverage.checkpoint.note
    wanted = list(dict.fromkeys(event_hashes))
    indexes = [coverage.indexes[h] for h in wanted]
    proofs = await with_hashes(lambda r: prove_records(size, indexes, r),
                               log.read_hashes)
    return {h: format_tlog_proof(i, p, note)
            for h, i, p in zip(wanted, indexes, proofs, strict=True)}
