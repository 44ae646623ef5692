"""Translate aggregate events to and from entry payloads, by pinned name only.

Event types in entries are the pinned ``TOPIC`` names (``ItemConfirmed``), never module paths,
and decoding resolves them through the allow-list below: an entry cannot make us import or
instantiate anything else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from eventsourcing.domain import Aggregate, CanMutateAggregate

from ledger.aggregates.departure import Departure
from ledger.aggregates.dispute import Dispute
from ledger.aggregates.item import HandoverItem
from ledger.aggregates.template import Template
from ledger.canonical import JSONObject
from ledger.entry import Entry
from ledger.errors import VerificationError

STREAM_CLASSES: dict[str, type[Aggregate]] = {
    "departure": Departure,
    "item": HandoverItem,
    "template": Template,
    "dispute": Dispute,
}
# Fields written only when they differ from their default, so the entries of an item that
# uses no signers, lines, handover details or management module are byte for byte as before.
OMITTED_WHEN_DEFAULT: dict[str, JSONObject] = {
    "ItemCreated": {"signers": None, "signers_in_order": False, "module": None,
                    "criteria_label": None},
    "ItemSubmitted": {"lines": None, "how": None, "urgent": False},
    "ItemConfirmed": {"signer": None, "acknowledged": None, "how": None},
    "ItemRejected": {"signer": None, "rejected_lines": None, "acknowledged": None},
    "ItemSignedOff": {"acknowledged": None, "how": None},
    "DepartureReminderSent": {"rule": None},  # the scheduler's rule; HR's own have none
}
# Fields added to an event type after entries without them were stored, and the value such an
# old entry means (eventsourcing's event classes keep no defaults): old streams still replay.
# Every field omitted when default is one of them.
_ADDED_LATER: dict[str, JSONObject] = {
    "ItemCreated": {"satisfied_by": None, "department_may_confirm_directly": False,
                    "urgent": False, "requires": None, "unresolved_requires": None,
                    "confirm_within_working_days": None, "escalate_to": None},
    "ItemSubmitted": {"on_evidence": None, "confirm_by": None},
    "ItemConfirmed": {"direct": False},
    "TemplateCreated": {"author": None},
    "TemplateRevised": {"author": None},
    "DepartureClosed": {"confirmation_sha256": None, "warnings": None},
}
LATER_FIELDS: dict[str, JSONObject] = {
    event_type: {**_ADDED_LATER.get(event_type, {}), **OMITTED_WHEN_DEFAULT.get(event_type, {})}
    for event_type in {**_ADDED_LATER, **OMITTED_WHEN_DEFAULT}
}
# Attributes every eventsourcing event carries; the entry envelope holds them instead.
_ENVELOPE_ATTRIBUTES = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic"}
)


def _collect_event_classes() -> dict[str, tuple[str, type[CanMutateAggregate[Any]]]]:
    allowed: dict[str, tuple[str, type[CanMutateAggregate[Any]]]] = {}
    for stream_type, aggregate_class in STREAM_CLASSES.items():
        for name, value in vars(aggregate_class).items():
            if name == "Event" or not isinstance(value, type):
                continue
            if issubclass(value, CanMutateAggregate):
                allowed[value.TOPIC] = (stream_type, value)  # type: ignore[attr-defined]
    return allowed


EVENT_CLASSES = _collect_event_classes()


def stream_type_of(aggregate: Aggregate) -> str:
    """Return the entry stream type (``departure``, ``item``, ``template``,
    ``dispute``) of an aggregate."""
    for stream_type, aggregate_class in STREAM_CLASSES.items():
        if isinstance(aggregate, aggregate_class):
            return stream_type
    raise TypeError(f"{type(aggregate).__name__} is not a ledger aggregate")


def encode_event(domain_event: object) -> tuple[str, JSONObject]:
    """Return ``(pinned event type, payload)`` for a pending aggregate event."""
    event_type = cast(str, type(domain_event).TOPIC)  # type: ignore[attr-defined]
    omitted = OMITTED_WHEN_DEFAULT.get(event_type, {})
    payload = {k: v for k, v in vars(domain_event).items() if k not in _ENVELOPE_ATTRIBUTES
               and not (k in omitted and v == omitted[k])}
    return event_type, payload


def decode_event(entry: Entry) -> CanMutateAggregate[Any]:
    """Rebuild the domain event an entry records.

    Precondition: ``entry`` was decoded (and hash-checked) by ``ledger.entry.decode_entry``.
    Raises VerificationError for a type outside the allow-list or a payload it does not fit.
    """
    try:
        stream_type, event_class = EVENT_CLASSES[entry.event_type]
    except KeyError:
        raise _error(entry, f"event type {entry.event_type!r} is not allowed") from None
    if stream_type != entry.stream_type:
        raise _error(entry, f"{entry.event_type} does not belong to a {entry.stream_type}")
    kwargs: dict[str, Any] = {**LATER_FIELDS.get(entry.event_type, {}), **entry.payload}
    if entry.version == 1:
        kwargs["originator_topic"] = STREAM_CLASSES[stream_type].TOPIC  # type: ignore[attr-defined]
    try:
        return event_class(  # type: ignore[call-arg]
            originator_id=entry.stream_id,
            originator_version=entry.version,
            timestamp=entry.recorded_at,
            **kwargs,
        )
    except TypeError as e:
        raise _error(entry, f"payload does not fit {entry.event_type}: {e}") from e


def replay(entries: Iterable[Entry], start: Aggregate | None = None) -> Aggregate:
    """Rebuild an aggregate from its entries, oldest first, or bring ``start`` up to date.

    Precondition: the entries are one stream's next versions in order, from 1 when ``start``
    is None (the repository checks the chain before calling this).
    """
    aggregate = start
    for entry in entries:
        domain_event = decode_event(entry)
        if (aggregate is None) != (entry.version == 1):
            raise _error(entry, "stream does not start at version 1")
        aggregate = domain_event.mutate(aggregate)
    if aggregate is None:
        raise ValueError("no entries to replay")
    return aggregate


def _error(entry: Entry, message: str) -> VerificationError:
    return VerificationError(
        f"{message} (stream {entry.stream_id} version {entry.version})",
        stream_id=str(entry.stream_id), version=entry.version, event_id=str(entry.event_id),
    )


def clone_aggregate(aggregate: Aggregate) -> Aggregate:
    """Return an independent copy of an aggregate with no pending events.

    A shallow copy suffices because every event handler in ``ledger.aggregates`` replaces
    containers (``self.item_ids = [*self.item_ids, x]``) instead of mutating them in place;
    tests/unit/test_codec.py holds the aggregates to that.
    """
    clone = object.__new__(type(aggregate))
    clone.__dict__.update(aggregate.__dict__)
    clone.__dict__["_pending_events"] = []
    return clone
