"""The projection runner: applies the log, in log order, to each read model.

Each batch reads the next logged events from the projection's position, applies them and
advances the position in one transaction (exactly once across crashes and restarts). An
event a projector cannot apply stops that projection: the error, naming the log index and
the event, is recorded in ``projection_state`` and shown by ``/readyz`` and ``ledger
projections status``; nothing is skipped. Storage that is busy, away or full is not the
event's fault: the batch is rolled back and tried again (ledger.workers). A rebuild
projects the whole log into tables of the next generation while the current ones keep
serving, then swaps them in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from ledger.entry import Entry
from ledger.errors import ProjectionStoppedError, PushbackError
from ledger.recent_entries import RECENT
from ledger.store.projection_port import LoggedEvent, ProjectionStore, ProjectionTx
from ledger.workers import LoopWorker

log = logging.getLogger("ledger.projections")
BATCH = 500
# Under load the log grows every few tens of milliseconds; a projection applies what came in
# at most this often (one transaction, one row written per item touched, for all of it).
PACE_SECONDS = 0.05


class Projector(Protocol):
    """One read model: its tables, and how a logged event changes them."""

    name: str

    def schema(self, dialect: str, generation: int) -> list[str]:
        """CREATE statements (IF NOT EXISTS) for the tables of ``generation``."""
        ...

    def drop(self, generation: int) -> list[str]:
        """DROP statements for the tables of ``generation``."""
        ...

    async def apply(self, tx: ProjectionTx, generation: int, logged: LoggedEvent,
                    entry: Entry) -> None:
        """Apply one event (its tables are those of ``generation``)."""
        ...

    async def flush(self, tx: ProjectionTx, generation: int) -> None:
        """Write what the batch's events changed (called once per batch, before commit)."""
        ...

    def reset(self) -> None:
        """Forget in-memory state: the batch it came from was rolled back."""
        ...


def decoded(logged: LoggedEvent) -> Entry:
    """The logged event's entry, hash-checked and decoded (once per process, recently; an
    entry this process's own commands wrote is taken as written: ledger.recent_entries)."""
    return RECENT.entry(logged.event.event_hash, logged.event.entry)


def _describe(logged: LoggedEvent) -> str:
    e = logged.event
    return (f"log index {logged.index} (event {e.event_id}, {e.event_type}, "
            f"stream {e.stream_id} version {e.version})")


async def apply_batch(projector: Projector, tx: ProjectionTx, generation: int,
                      batch: Sequence[LoggedEvent]) -> None:
    """Apply ``batch`` to ``projector``'s tables of ``generation``; ProjectionStoppedError
    naming the event when one cannot be applied."""
    begin = getattr(projector, "begin", None)  # optional: read what the batch will need
    if begin is not None:
        await begin(tx, generation, batch)
    for logged in batch:
        try:
            await projector.apply(tx, generation, logged, decoded(logged))
        except PushbackError:  # the storage's trouble (busy, away, full), not the event's
            raise
        except Exception as e:
            raise ProjectionStoppedError(
                f"projection {projector.name} stopped at {_describe(logged)}: "
                f"{type(e).__name__}: {e}") from e
    await projector.flush(tx, generation)


class ProjectionRunner:
    """Keeps one projection up to date with the log."""

    def __init__(self, store: ProjectionStore, projector: Projector,
                 batch: int = BATCH) -> None:
        self.store = store
        self.projector = projector
        self.batch = batch
        self._schema_ready: set[int] = set()
        # Poked each time the log grows (the sequencer's ``on_grown``): a batch that was not
        # full reached the end of the log, so the next one waits for the next growth.
        self.worker = LoopWorker(f"projection:{projector.name}", self.step, full=batch,
                                 pace_seconds=PACE_SECONDS)

    async def _ensure_schema(self, tx: ProjectionTx, generation: int) -> None:
        if generation not in self._schema_ready:
            for statement in self.projector.schema(self.store.dialect, generation):
                await tx.execute(statement)
            self._schema_ready.add(generation)

    async def prepare(self) -> None:
        """Create the projection's state row and current tables, so reads work before the
        first batch (another process holding the projection has created them). Tables of an
        older shape (made by an earlier release, lacking what this one reads) are rebuilt
        into the next generation at once, so an upgrade needs no manual step."""
        try:
            async with self.store.transaction(self.projector.name) as tx:
                if tx is not None:
                    await self._ensure_schema(tx, tx.state.generation)
            current = await self._current_shape()
        except Exception as e:  # an index on a column the old tables lack, say
            log.info("projection %s: tables not as this release makes them: %s",
                     self.projector.name, e)
            self._forget()
            current = False
        if not current:
            log.warning("projection %s: its tables are of an earlier release's shape; "
                        "rebuilding them from the log", self.projector.name)
            await self.rebuild()

    async def _current_shape(self) -> bool:
        """Whether the current tables have every column this release reads (the projector's
        optional ``shape_probe``: a query that fails on tables of an older shape)."""
        probe = getattr(self.projector, "shape_probe", None)
        if probe is None:
            return True
        try:
            async with self.store.transaction(self.projector.name) as tx:
                if tx is not None:
                    await tx.fetch(probe(tx.state.generation))
        except Exception as e:
            log.info("projection %s: shape probe failed: %s", self.projector.name, e)
            self._forget()
            return False
        return True

    async def step(self) -> int:
        """Apply the next batch; the number of events applied (0: none waiting, or another
        process holds the projection this turn)."""
        try:
            async with self.store.transaction(self.projector.name) as tx:
                if tx is None:
                    return 0
                if tx.state.error:
                    raise ProjectionStoppedError(tx.state.error)
                await self._ensure_schema(tx, tx.state.generation)
                start = await self._first_wanted(tx)
                batch = await tx.read_log(start, self.batch)
                end = batch[-1].index + 1 if batch else start
                if end == tx.state.position:
                    return 0
                if batch:
                    await apply_batch(self.projector, tx, tx.state.generation, batch)
                await tx.advance(end)
                self.worker.detail = f"at log position {end}"
                return end - tx.state.position
        except ProjectionStoppedError as e:
            self._forget()
            await self.store.record_error(self.projector.name, str(e))
            raise
        except BaseException:
            self._forget()
            raise

    async def _first_wanted(self, tx: ProjectionTx) -> int:
        """Where the next batch starts: the projection's position, or later when the
        projector says no event before some position concerns it (``wanted_from``, optional:
        the webhook outbox with no subscription wanting the events logged so far)."""
        wanted_from = getattr(self.projector, "wanted_from", None)
        if wanted_from is None:
            return tx.state.position
        return max(tx.state.position, int(await wanted_from(tx)))

    def _forget(self) -> None:
        self.projector.reset()
        self._schema_ready.clear()

    async def catch_up(self) -> int:
        """Apply everything logged so far (tests, the CLI); the number of events applied."""
        total = 0
        while done := await self.step():
            total += done
        return total

    async def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Project the whole log into fresh tables of the next generation while the current
        ones keep serving, then swap them in and drop the old ones; clears a stopping error.
        Returns the position reached."""
        self.projector.reset()
        async with self.store.transaction(self.projector.name) as tx:
            if tx is None:
                raise ProjectionStoppedError(
                    f"projection {self.projector.name} is busy in another process; retry")
            old = tx.state.generation
            new, position = old + 1, 0
            for statement in self.projector.drop(new) + self.projector.schema(
                    self.store.dialect, new):
                await tx.execute(statement)
        done = False
        while not done:  # in batches, each its own transaction: reads go on meanwhile
            async with self.store.transaction(self.projector.name) as tx:
                if tx is None:
                    await asyncio.sleep(0.05)
                    continue
                batch = await tx.read_log(position, self.batch)
                if batch:
                    await apply_batch(self.projector, tx, new, batch)
                    position = batch[-1].index + 1
                if len(batch) < self.batch:  # caught up: swap within this transaction
                    await tx.switch_generation(new, position)
                    for statement in self.projector.drop(old):
                        await tx.execute(statement)
                    done = True
            if progress is not None:  # outside the transaction (SQLite holds its one lock)
                progress(position, max(position, await self.store.log_size()))
        self._forget()
        return position
