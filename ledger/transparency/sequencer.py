"""The sequencer: the one leader that gives committed events their log index and signs.

Each step is one database transaction: take committed queue rows, assign gap-free indexes,
store the new subtree hashes and tiles, check the new root is consistent with the last signed
checkpoint, sign, and delete the queue rows. Killed at any point, the transaction rolls back
and the next leader starts from the last committed state: no index lost, none duplicated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence

from ledger.errors import LedgerError, PushbackError, VerificationError
from ledger.log_format import fields
from ledger.store.log_port import LogEntryRow, LogStore, StoredCheckpoint
from ledger.tlog.checkpoint import Checkpoint, format_checkpoint
from ledger.tlog.hashing import hash_leaf
from ledger.tlog.note import Signer, sign_note
from ledger.tlog.proof import prove_tree, verify_consistency
from ledger.tlog.tile import changed_tiles, read_tile_data
from ledger.tlog.tree import append_leaf_hashes, tree_hash
from ledger.transparency.prefetch import with_hashes

log = logging.getLogger("ledger.sequencer")
# The longest pause between attempts while the database is away: each attempt is one
# connection, and the log should resume within seconds of the database's return (a 30 s cap
# let it lag 11 s behind a 20 s outage, scripts/fault_pg.py).
MAX_BACKOFF_SECONDS = 5.0
# Once a commit shows the database answers again, the most a back-off still waits.
POKED_BACKOFF_SECONDS = 1.0


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


class Sequencer:
    """Sequences the queue into the log; ``run`` loops while leading, ``step`` does one batch."""

    def __init__(self, store: LogStore, signers: Sequence[Signer], origin: str, *,
                 batch_size: int = 2000, poll_interval: float = 0.05) -> None:
        if not signers:
            raise LedgerError("the sequencer needs at least one signing key")
        self.store = store
        self.signers = list(signers)
        self.origin = origin
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._grown = asyncio.Condition()
        self.leading = False  # whether this process held the lead at its last try
        # One step at a time in a process: every step's batch runs on the leader's one
        # connection, which takes one transaction at a time.
        self._stepping = asyncio.Lock()
        # Called after each batch that grew the log (the projection runners' poke).
        self.on_grown: list[Callable[[], None]] = []

    def poke(self) -> None:
        """Wake the loop now (a writer in this process just committed)."""
        self._wake.set()

    async def step(self) -> int:
        """Sequence one batch and sign, if this process leads; return how many were added.

        On a new, empty log the first step signs the checkpoint of size 0. A step asked for
        while another runs in this process waits for it.
        """
        async with self._stepping:
            return await self._step()

    async def _step(self) -> int:
        self.leading = await self.store.try_lead()
        if not self.leading:
            return 0
        started = time.perf_counter()
        async with self.store.sequencing() as batch:
            size = await batch.size()
            queued = await batch.take_queue(self.batch_size)
            last = await batch.last_checkpoint()
            if not queued and last is not None:
                return 0
            entries = [LogEntryRow(size + k, position, event_hash)
                       for k, (position, event_hash) in enumerate(queued)]
            leaves = [hash_leaf(e.event_hash) for e in entries]
            hashes = await with_hashes(lambda r: append_leaf_hashes(size, leaves, r),
                                       batch.read_hashes)
            await batch.append(entries, hashes)
            new_size = size + len(entries)
            tiles = changed_tiles(size, new_size)
            signed = last.size if last is not None else 0
            # Tiles, root and consistency proof read their hashes in one round trip.
            datas, root, proof = await with_hashes(lambda r: (
                [read_tile_data(tile, r) for tile in tiles], tree_hash(new_size, r),
                prove_tree(new_size, signed, r) if signed else []), batch.read_hashes)
            for tile, data in zip(tiles, datas, strict=True):
                await batch.write_tile(tile.L, tile.N, tile.W, data)
            await batch.write_checkpoint(self._sign(last, new_size, root, proof))
        log.info("sequenced %d events, log size %d", len(entries), new_size, extra=fields(
            worker="sequencer", action="batch", done=len(entries), log_size=new_size,
            duration_ms=round((time.perf_counter() - started) * 1000, 1)))
        async with self._grown:
            self._grown.notify_all()
        for listener in self.on_grown:
            listener()
        return len(entries)

    def _sign(self, last: StoredCheckpoint | None, new_size: int, root: bytes,
              proof: list[bytes]) -> StoredCheckpoint:
        if last is not None and last.size > 0:
            # Never sign two mutually inconsistent checkpoints (C2SP tlog-checkpoint): prove
            # the new tree extends the last signed one before signing anything.
            try:
                verify_consistency(last.size, new_size, proof, last.root, root)
            except VerificationError as e:
                log.critical("refusing to sign size %d: inconsistent with checkpoint %d: %s",
                             new_size, last.size, e)
                raise VerificationError(
                    f"refusing to sign tree size {new_size}: not consistent with the signed "
                    f"checkpoint of size {last.size} ({e})") from e
        text = format_checkpoint(Checkpoint(self.origin, new_size, root))
        return StoredCheckpoint(new_size, root, sign_note(text, self.signers))

    async def run(self, stop: asyncio.Event) -> None:
        """Lead and sequence until ``stop`` is set; stand by while another process leads.

        Database trouble (a dropped connection, a restart) costs leadership and a pause, never
        the loop; only a refusal to sign (VerificationError: the stored tree contradicts a
        signed checkpoint) stops it, loudly, because signing on would fork the log.
        """
        backoff = 1.0
        try:
            while not stop.is_set():
                self._wake.clear()  # pokes from now on wake the pause after this step
                try:
                    leading = self.leading = await self.store.try_lead()
                    added = await self.step() if leading else 0
                except VerificationError:
                    raise
                except Exception as e:  # any other failure: resign, back off, retry
                    log.warning("sequencer step failed; resigning, retrying in %.0fs: %r",
                                backoff, e)
                    self.leading = False
                    await self._resign_quietly()
                    await self._back_off(stop, backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                    continue
                backoff = 1.0
                if not leading:
                    await _sleep_unless(stop, 1.0)  # stand by: another process leads
                elif added < self.batch_size:
                    await self._pause(stop, self.poll_interval)
        finally:
            self.leading = False
            await self._resign_quietly()

    async def _back_off(self, stop: asyncio.Event, seconds: float) -> None:
        """Wait ``seconds`` or until ``stop``. A poke meanwhile (a command of this process
        committed: the database answers again) cuts what is left to at most
        ``POKED_BACKOFF_SECONDS``, so the log resumes within about a second of the
        database's return; a failure that persists under a stream of commits is still
        retried at most once in that long, never in a hot loop."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for w in waits:
            w.cancel()
        left = deadline - loop.time()
        if self._wake.is_set() and not stop.is_set() and left > 0:
            await _sleep_unless(stop, min(left, POKED_BACKOFF_SECONDS))

    async def _resign_quietly(self) -> None:
        try:
            await self.store.resign()
        except Exception as e:  # the session is gone either way
            log.info("resign failed (connection already gone): %r", e)

    async def _pause(self, stop: asyncio.Event, seconds: float) -> None:
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for w in waits:
            w.cancel()

    async def wait_for_inclusion(self, event_hash: bytes, wait_seconds: float) -> int:
        """Return the event's log index, waiting up to ``wait_seconds`` for it."""
        deadline = time.monotonic() + wait_seconds
        self.poke()
        while True:
            index = await self.store.find_index(event_hash)
            if index is not None:
                return index
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PushbackError(f"event not sequenced within {wait_seconds}s",
                                    retry_after=1)
            async with self._grown:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._grown.wait(),
                                           min(remaining, self.poll_interval * 4))
