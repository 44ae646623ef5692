"""A read model that counts the events it applies, per type, in its own table: a double
application shows as a count above the log's. ``slow`` makes each event take a while, so a
runner can be killed in the middle of a batch; ``full`` refuses that many applications as a
full disk refuses a write (StorageFullError)."""

from __future__ import annotations

import asyncio
from typing import Any

from ledger.errors import StorageFullError


class CountingProjector:
    """Counts events per type; cannot apply ``poison``."""

    name = "counting"

    def __init__(self, poison: str | None = None, slow: float = 0.0, full: int = 0) -> None:
        self.poison = poison
        self.slow = slow
        self.full = full

    def schema(self, dialect: str, generation: int) -> list[str]:
        return [f"CREATE TABLE IF NOT EXISTS counting_g{generation} "
                "(event_type TEXT PRIMARY KEY, n INTEGER NOT NULL)"]

    def drop(self, generation: int) -> list[str]:
        return [f"DROP TABLE IF EXISTS counting_g{generation}"]

    async def apply(self, tx: Any, generation: int, logged: Any, entry: Any) -> None:
        if entry.event_type == self.poison:
            raise ValueError("no rule for this event")
        if self.full > 0:
            self.full -= 1
            raise StorageFullError()
        if self.slow:
            await asyncio.sleep(self.slow)
        await tx.execute(f"INSERT INTO counting_g{generation} (event_type, n) VALUES ($1, 1) "
                         "ON CONFLICT (event_type) DO UPDATE SET n = counting_g"
                         f"{generation}.n + 1", entry.event_type)

    async def flush(self, tx: Any, generation: int) -> None:
        return None

    def reset(self) -> None:
        return None
