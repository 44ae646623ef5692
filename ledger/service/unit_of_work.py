"""Load aggregates from verified chains and turn their new events into chained entries."""

from __future__ import annotations

import uuid
from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.aggregates.codec import encode_event, replay, stream_type_of
from ledger.chain import verify_stream
from ledger.errors import ConflictError, NotFoundError
from ledger.service.context import Actor, RequestContext
from ledger.store.port import EventStore, NewEvent

A = TypeVar("A", bound=Aggregate)


class UnitOfWork:
    """Tracks the aggregates one command touches; ``collect`` yields what to append."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._tracked: dict[UUID, tuple[Aggregate, bytes | None]] = {}

    async def get(self, cls: type[A], aggregate_id: UUID | str,
                  expected_version: int | None = None) -> A:
        """Load (verifying its chain) the aggregate ``aggregate_id`` of type ``cls``."""
        key = aggregate_id if isinstance(aggregate_id, UUID) else _parse_id(aggregate_id)
        if key in self._tracked:
            return _checked(cls, self._tracked[key][0], key)
        rows = await self.store.read_stream(key)
        if not rows:
            raise NotFoundError(f"{cls.__name__} {key} not found")
        entries = verify_stream(rows)
        aggregate = _checked(cls, replay(entries), key)
        if expected_version is not None and aggregate.version != expected_version:
            raise ConflictError(
                f"{cls.__name__} {key} is at version {aggregate.version}, "
                f"not {expected_version}"
            )
        self._tracked[key] = (aggregate, entries[-1].event_hash)
        return aggregate

    def add(self, aggregate: Aggregate) -> None:
        """Track a newly created aggregate."""
        self._tracked[aggregate.id] = (aggregate, None)

    def collect(self, actor: Actor, context: RequestContext) -> list[NewEvent]:
        """Encode every pending event as a chained entry, in the order they happened."""
        from ledger.entry import encode_entry

        out: list[NewEvent] = []
        for aggregate_id, (aggregate, last_hash) in self._tracked.items():
            prev = last_hash
            stream_type = stream_type_of(aggregate)
            for domain_event in aggregate.collect_events():
                event_type, payload = encode_event(domain_event)
                event_id = uuid.uuid4()
                raw, event_hash = encode_entry(
                    event_id=event_id, stream_type=stream_type, stream_id=aggregate_id,
                    version=domain_event.originator_version, event_type=event_type,
                    recorded_at=domain_event.timestamp, actor=actor.as_json(),
                    context=context.as_json(), payload=payload, prev=prev,
                )
                out.append(NewEvent(event_id, stream_type, aggregate_id,
                                    domain_event.originator_version, event_type,
                                    domain_event.timestamp, raw, event_hash))
                prev = event_hash
        return out


def _parse_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise NotFoundError(f"{text!r} is not a valid id") from None


def _checked(cls: type[A], aggregate: Aggregate, key: UUID) -> A:
    if not isinstance(aggregate, cls):
        raise NotFoundError(f"{cls.__name__} {key} not found")
    return aggregate
