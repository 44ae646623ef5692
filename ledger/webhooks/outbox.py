"""The outbox projection: for each logged event a subscription wants, one outbox row (per
subscription and event), written in the same transaction as the projection's position.

The runner (``ledger.projections.runner``) applies the log in log order and exactly once, so
nothing is lost across crashes and nothing is queued twice; the rows' ids are derived from
(subscription, event) and inserted with ON CONFLICT DO NOTHING, so even a rebuild, which
replays the whole log, queues nothing again. A subscription receives the events logged after
it was created (from ``from_index``, the log's size then).

Each row carries its ordering key: the departure the event belongs to (a departure's own
events, and those of its items and disputes, share it), so the dispatcher keeps them in order.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from ledger.entry import Entry, format_time
from ledger.store.projection_port import LoggedEvent, ProjectionTx
from ledger.webhooks import repository as repo
from ledger.webhooks.formats import render

NAME = "webhooks"
_ID_SPACE = uuid.UUID("6f1c2d3e-4b5a-5c6d-8e7f-0a1b2c3d4e5f")
_KEYS_HELD = 50_000


def delivery_id(subscription_id: str, event_id: str) -> str:
    """The outbox row (and ``webhook-id``) of one event for one subscription: the same on
    every replay."""
    return str(uuid.uuid5(_ID_SPACE, f"{subscription_id}/{event_id}"))


@dataclass(frozen=True)
class Wanted:
    """A subscription as the projection matches events against it."""

    id: str
    format: str
    event_types: frozenset[str]
    from_index: int

    def wants(self, event_type: str, index: int) -> bool:
        return index >= self.from_index and (
            event_type in self.event_types or "*" in self.event_types)


class OutboxProjector:
    """Queues the events subscriptions want (Projector protocol)."""

    name = NAME

    def __init__(self, clock: Callable[[], Any]) -> None:
        self._clock = clock
        self._wanted: list[Wanted] | None = None
        self._rows: list[tuple[object, ...]] = []
        self._departure_of: dict[str, str] = {}
        self.queued = 0  # rows written since the process started (read by the runner)

    def schema(self, dialect: str, generation: int) -> list[str]:
        return []  # the outbox is durable state: its tables are migrated

    def drop(self, generation: int) -> list[str]:
        return []

    def reset(self) -> None:
        self._wanted = None
        self._rows.clear()

    async def apply(self, tx: ProjectionTx, generation: int, logged: LoggedEvent,
                    entry: Entry) -> None:
        matched = [w for w in await self._subscriptions(tx)
                   if w.wants(entry.event_type, logged.index)]
        if not matched:
            return
        key = await self._ordering_key(tx, entry)
        now = format_time(self._clock())
        for w in matched:
            body = render(w.format, entry, logged.index, key).decode()
            self._rows.append((delivery_id(w.id, str(entry.event_id)), w.id,
                               str(entry.event_id), entry.event_type, logged.index, key, body,
                               now))

    async def flush(self, tx: ProjectionTx, generation: int) -> None:
        if self._rows:
            await tx.executemany(repo.INSERT_OUTBOX, self._rows)
            self.queued += len(self._rows)
        self._rows.clear()
        self._wanted = None  # read again next batch: subscriptions come and go

    async def wanted_from(self, tx: ProjectionTx) -> int:
        """The first log position a subscription may want (read holding the projection, as
        ``subscriptions.create`` writes one): the earliest active subscription's start, or,
        with none active, the log's size (a subscription created later starts at the
        log's size then, or later). The runner skips what lies before it unread."""
        self._wanted = None  # read afresh each batch: subscriptions come and go
        wanted = await self._subscriptions(tx)
        if wanted:
            return min(w.from_index for w in wanted)
        return int((await tx.fetch(repo.LOG_SIZE))[0]["n"])

    async def _subscriptions(self, tx: ProjectionTx) -> list[Wanted]:
        if self._wanted is None:
            self._wanted = [Wanted(r["id"], r["format"], frozenset(json.loads(r["event_types"])),
                                   int(r["from_index"]))
                            for r in await tx.fetch(repo.ACTIVE_SUBSCRIPTIONS)]
        return self._wanted

    async def _ordering_key(self, tx: ProjectionTx, entry: Entry) -> str:
        stream = str(entry.stream_id)
        if entry.stream_type not in ("item", "dispute"):
            return stream
        if entry.version == 1:
            return str(entry.payload.get("departure_id", stream))
        if stream not in self._departure_of:
            if len(self._departure_of) >= _KEYS_HELD:
                self._departure_of.clear()
            rows = await tx.fetch(repo.FIRST_ENTRY, entry.stream_id)
            first = orjson.loads(bytes(rows[0]["entry"])) if rows else {}
            self._departure_of[stream] = str(first.get("payload", {}).get("departure_id",
                                                                          stream))
        return self._departure_of[stream]
