"""Which streams a departure's bundle holds, read and chain-checked from the event store.

docs/bundle-format.md, "Files": the departure; every item it names (``TemplateApplied`` and
``ItemAdded``); every template revision it applied (versions 1 to the applied revision); every
dispute on it (``LegalHoldPlaced``). The entries are the exact stored bytes, each stream's
chain verified on the way, so a bundle never carries a broken chain the store let through.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

from ledger.aggregates.codec import replay
from ledger.aggregates.departure import Departure
from ledger.chain import verify_stream
from ledger.entry import Entry
from ledger.errors import NotFoundError, VerificationError
from ledger.store.port import EventStore


@dataclass(frozen=True)
class CaseStream:
    """One stream of the case: its type, id and verified entries from version 1, in order."""

    type: str
    id: str
    entries: list[Entry]

    @property
    def head(self) -> bytes:
        return self.entries[-1].event_hash


@dataclass(frozen=True)
class CaseEntries:
    """Every stream a bundle of the departure holds, departure first."""

    departure: Departure
    streams: list[CaseStream]

    def entries(self) -> Iterator[Entry]:
        for stream in self.streams:
            yield from stream.entries


async def collect_case(store: EventStore, departure_id: UUID) -> CaseEntries:
    """Read the departure and the streams it names; NotFoundError when there is no such
    departure, VerificationError when a named stream is absent or of another kind."""
    departure_stream = await _read(store, "departure", str(departure_id), None)
    if departure_stream is None:
        raise NotFoundError(f"{departure_id} not found")
    departure = replay(departure_stream.entries)
    if not isinstance(departure, Departure):  # pragma: no cover - _read checked the type
        raise NotFoundError(f"{departure_id} not found")
    streams = [departure_stream]
    for item_id in dict.fromkeys(departure.item_ids):
        streams.append(await _required(store, "item", item_id, None))
    applied: dict[str, int] = {}
    for template in departure.templates:
        template_id, revision = str(template["id"]), template["revision"]
        if not isinstance(revision, int):
            raise VerificationError(f"template {template_id}: revision {revision!r}")
        applied[template_id] = max(applied.get(template_id, 0), revision)
    for template_id, revision in applied.items():
        streams.append(await _required(store, "template", template_id, revision))
    for dispute_id in dict.fromkeys(departure.dispute_ids):
        streams.append(await _required(store, "dispute", dispute_id, None))
    return CaseEntries(departure, streams)


async def _required(store: EventStore, stream_type: str, stream_id: str,
                    versions: int | None) -> CaseStream:
    stream = await _read(store, stream_type, stream_id, versions)
    if stream is None or (versions is not None and len(stream.entries) < versions):
        raise VerificationError(
            f"the case names {stream_type} {stream_id}"
            f"{f' revision {versions}' if versions else ''}, which the store does not hold")
    return stream


async def _read(store: EventStore, stream_type: str, stream_id: str,
                versions: int | None) -> CaseStream | None:
    try:
        key = UUID(stream_id)
    except ValueError:
        return None
    rows = await store.read_stream(key)
    if versions is not None:
        rows = rows[:versions]
    if not rows or rows[0].stream_type != stream_type:
        return None
    # The chain (hashes, prev links), not the canonical form: ledger verify --strict does that.
    return CaseStream(stream_type, str(key), verify_stream(rows, strict=False))
