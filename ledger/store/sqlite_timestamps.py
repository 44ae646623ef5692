"""SQLite adapter of the timestamp port (ledger.store.timestamp_port)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ledger.store.sqlite import SQLiteEventStore
from ledger.store.timestamp_port import StoredTimestamp

_COLUMNS = "size, tsa_url, gen_time, response, recorded_at"


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def _stamp(row: Any) -> StoredTimestamp:
    return StoredTimestamp(int(row[0]), str(row[1]), _time(str(row[2])), bytes(row[3]),
                           _time(str(row[4])))


class SQLiteTimestampStore:
    """The timestamp port over a SQLiteEventStore's connection."""

    def __init__(self, events: SQLiteEventStore) -> None:
        self.events = events

    async def add(self, stamp: StoredTimestamp) -> bool:
        gen_time = stamp.gen_time.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        async with self.events.transaction() as db:
            cursor = await db.execute(
                "INSERT INTO checkpoint_timestamps (size, tsa_url, gen_time, response) "
                "VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
                (stamp.size, stamp.tsa_url, gen_time, stamp.response))
            return cursor.rowcount == 1

    async def for_size(self, size: int) -> list[StoredTimestamp]:
        rows = await self.events.fetch(
            f"SELECT {_COLUMNS} FROM checkpoint_timestamps WHERE size = ? "  # noqa: S608
            "ORDER BY gen_time, tsa_url", (size,))
        return [_stamp(r) for r in rows]

    async def newest(self) -> StoredTimestamp | None:
        rows = await self.events.fetch(
            f"SELECT {_COLUMNS} FROM checkpoint_timestamps "  # noqa: S608
            "ORDER BY size DESC, gen_time, tsa_url LIMIT 1")
        return _stamp(rows[0]) if rows else None
