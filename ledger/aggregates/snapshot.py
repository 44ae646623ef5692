"""An aggregate's state as JSON and back, for a read model that answers with whole aggregates
(the board's departures for ``GET /v1/departures``) without replaying their streams.

Every attribute but the pending events and the time of the event being applied is kept; the
aggregates' attributes are JSON values (strings, numbers, lists, dicts) besides their id and
times, which are restored to their types. tests/unit/test_snapshot.py holds every aggregate
kind to a round trip.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar
from uuid import UUID

import orjson
from eventsourcing.domain import Aggregate

A = TypeVar("A", bound=Aggregate)
_LEFT_OUT = ("_pending_events", "event_time")
_TIMES = ("_created_on", "_modified_on")


def snapshot(aggregate: Aggregate) -> str:
    """``aggregate``'s state as a JSON text."""
    state = {k: v for k, v in aggregate.__dict__.items() if k not in _LEFT_OUT}
    return orjson.dumps(state, option=orjson.OPT_PASSTHROUGH_DATETIME,
                        default=_encode).decode()


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$time": value.isoformat()}
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"a snapshot cannot keep a {type(value).__name__}")


def restore(cls: type[A], text: str | bytes) -> A:
    """The aggregate ``snapshot`` wrote (with no pending events)."""
    state = orjson.loads(text)
    state["_id"] = UUID(state["_id"])
    for name in _TIMES:
        state[name] = dt.datetime.fromisoformat(state[name]["$time"])
    aggregate = object.__new__(cls)
    aggregate.__dict__.update(state, _pending_events=[])
    return aggregate
