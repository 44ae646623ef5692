"""PostgreSQL adapter of the timestamp port (ledger.store.timestamp_port)."""

from __future__ import annotations

from typing import Any

import asyncpg

from ledger.store.postgres import PostgresEventStore, map_postgres_error
from ledger.store.timestamp_port import StoredTimestamp

_COLUMNS = "size, tsa_url, gen_time, response, recorded_at"


def _stamp(row: Any) -> StoredTimestamp:
    return StoredTimestamp(int(row[0]), str(row[1]), row[2], bytes(row[3]), row[4])


class PostgresTimestampStore:
    """The timestamp port over a PostgresEventStore's pool."""

    def __init__(self, events: PostgresEventStore) -> None:
        self.events = events

    async def add(self, stamp: StoredTimestamp) -> bool:
        try:
            status = await self.events.pool.execute(
                "INSERT INTO checkpoint_timestamps (size, tsa_url, gen_time, response) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                stamp.size, stamp.tsa_url, stamp.gen_time, stamp.response)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
            raise map_postgres_error(e) from e
        return str(status).endswith(" 1")

    async def for_size(self, size: int) -> list[StoredTimestamp]:
        rows = await self.events.pool.fetch(
            f"SELECT {_COLUMNS} FROM checkpoint_timestamps WHERE size = $1 "  # noqa: S608
            "ORDER BY gen_time, tsa_url", size)
        return [_stamp(r) for r in rows]

    async def newest(self) -> StoredTimestamp | None:
        row = await self.events.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM checkpoint_timestamps "  # noqa: S608
            "ORDER BY size DESC, gen_time, tsa_url LIMIT 1")
        return _stamp(row) if row else None
