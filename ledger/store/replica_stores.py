"""The read models' and the log's ports with their reads routed (``ledger.store.postgres_replica``):
each read goes to the replica or the primary as the route decides; every write, transaction
and leadership call goes to the primary's adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from ledger.store.log_port import LogBlock, LogEntryRow, LogStore, SequencingBatch, StoredCheckpoint
from ledger.store.postgres_log import PostgresLogStore
from ledger.store.postgres_projections import PostgresProjectionStore
from ledger.store.postgres_replica import ReplicaRoute
from ledger.store.projection_port import ProjectionState, ProjectionStore, ProjectionTx


class RoutedProjectionStore:
    """ProjectionStore: ``fetch``, ``states`` and ``log_size`` routed; the rest the primary's."""

    dialect = "postgres"

    def __init__(self, primary: ProjectionStore, route: ReplicaRoute) -> None:
        self.primary = primary
        self.route = route

    def transaction(self, name: str) -> AbstractAsyncContextManager[ProjectionTx | None]:
        return self.primary.transaction(name)

    async def record_error(self, name: str, error: str | None) -> None:
        await self.primary.record_error(name, error)

    async def fetch(self, sql: str, *args: object) -> list[Any]:
        return await self.route.read(lambda s: s.fetch(sql, *args), self.primary,
                                     PostgresProjectionStore)

    async def states(self) -> list[ProjectionState]:
        return await self.route.read(lambda s: s.states(), self.primary, PostgresProjectionStore)

    async def log_size(self) -> int:
        return await self.route.read(lambda s: s.log_size(), self.primary,
                                     PostgresProjectionStore)


class RoutedLogStore:
    """LogStore: every read routed; sequencing, leadership and key records the primary's."""

    def __init__(self, primary: LogStore, route: ReplicaRoute) -> None:
        self.primary = primary
        self.route = route

    def sequencing(self) -> AbstractAsyncContextManager[SequencingBatch]:
        return self.primary.sequencing()

    async def try_lead(self) -> bool:
        return await self.primary.try_lead()

    async def resign(self) -> None:
        await self.primary.resign()

    async def record_signing_keys(self, vkeys: Sequence[str]) -> None:
        await self.primary.record_signing_keys(vkeys)

    async def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        return await self.route.read(lambda s: s.read_hashes(indexes), self.primary,
                                     PostgresLogStore)

    async def read_tile(self, level: int, n: int) -> bytes | None:
        return await self.route.read(lambda s: s.read_tile(level, n), self.primary,
                                     PostgresLogStore)

    async def read_entries(self, start: int, count: int) -> list[LogEntryRow]:
        return await self.route.read(lambda s: s.read_entries(start, count), self.primary,
                                     PostgresLogStore)

    async def find_index(self, event_hash: bytes) -> int | None:
        return await self.route.read(lambda s: s.find_index(event_hash), self.primary,
                                     PostgresLogStore)

    async def find_indexes(self, event_hashes: Sequence[bytes]) -> dict[bytes, int]:
        return await self.route.read(lambda s: s.find_indexes(event_hashes), self.primary,
                                     PostgresLogStore)

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        return await self.route.read(lambda s: s.latest_checkpoint(), self.primary,
                                     PostgresLogStore)

    async def checkpoints(self) -> list[StoredCheckpoint]:
        return await self.route.read(lambda s: s.checkpoints(), self.primary, PostgresLogStore)

    async def read_entry_block(self, start: int, limit: int) -> LogBlock:
        return await self.route.read(lambda s: s.read_entry_block(start, limit), self.primary,
                                     PostgresLogStore)

    async def read_hash_block(self, start: int, limit: int) -> LogBlock:
        return await self.route.read(lambda s: s.read_hash_block(start, limit), self.primary,
                                     PostgresLogStore)

    async def iterate_tiles(self) -> AsyncIterator[tuple[int, int, int, bytes]]:
        # The audit's walk over every tile: one source for all of it, the primary.
        async for tile in self.primary.iterate_tiles():
            yield tile

    # The rest of the full audit (``ledger verify``) reads the primary too: one source.
    async def read_tile_block(self, level: int, start: int,
                              limit: int) -> list[tuple[int, int, bytes]]:
        return await self.primary.read_tile_block(level, start, limit)

    async def read_checkpoint_block(self, after: int, limit: int) -> list[StoredCheckpoint]:
        return await self.primary.read_checkpoint_block(after, limit)

    async def duplicate_entries(self, limit: int) -> list[tuple[int, int]]:
        return await self.primary.duplicate_entries(limit)

    async def stream_log_keys(self, stream_ids: Sequence[str], size: int) -> dict[str, int]:
        return await self.primary.stream_log_keys(stream_ids, size)

    async def indexes_of_positions(self, positions: Sequence[int]) -> dict[int, int]:
        return await self.primary.indexes_of_positions(positions)

    async def log_id(self) -> str:
        return await self.route.read(lambda s: s.log_id(), self.primary, PostgresLogStore)

    async def signing_keys(self) -> list[str]:
        return await self.route.read(lambda s: s.signing_keys(), self.primary, PostgresLogStore)
