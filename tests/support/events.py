"""Chained events made without the service, for the store, log and tamper tests."""

from __future__ import annotations

import datetime as dt
import uuid

from ledger.entry import encode_entry
from ledger.store.port import NewEvent


def make_event(stream_id: uuid.UUID, version: int, prev: bytes | None,
               payload: dict[str, object] | None = None) -> NewEvent:
    """Version ``version`` of an item stream (a comment), chained to ``prev``."""
    event_id = uuid.uuid4()
    moment = dt.datetime.now(dt.UTC)
    raw, digest = encode_entry(
        event_id=event_id, stream_type="item", stream_id=stream_id, version=version,
        event_type="ItemCommented", recorded_at=moment, actor={"id": "t", "role": "hr"},
        context={}, payload=payload or {"by": "t", "text": f"v{version} 交接"}, prev=prev,
    )
    return NewEvent(event_id, "item", stream_id, version, "ItemCommented", moment, raw, digest)


def chain(stream_id: uuid.UUID, count: int) -> list[NewEvent]:
    """Versions 1..``count`` of one item stream, each chained to the one before."""
    events: list[NewEvent] = []
    for version in range(1, count + 1):
        events.append(make_event(stream_id, version, events[-1].event_hash if events else None))
    return events
