"""The close gate, audited from the stored events: what ``ledger verify`` checks of the domain.

The store refuses an item write that commits after its departure closed, and a close whose
items moved under it (read dependencies, ledger.store.port); an operator with database access
can still append a correctly chained event after the close, or a close with made-up counts.
So ``ledger verify`` replays just enough of the domain to catch both, in log order:

* no item event is sequenced after its departure's ``DepartureClosed`` or
  ``DepartureWithdrawn``, and no departure event either, but a legal hold (a dispute raised
  after the case ended, ``AFTER_FINAL_EVENTS``) and the facts the handover never gates, which
  a closed case still records (``AFTER_CLOSE_EVENTS``: the day the person left, the contract's
  termination; Labour Contract Law Art. 50);
* every ``DepartureClosed`` records the counts (``items_total``, ``confirmed``, ``waived``,
  ``optional_open``) the departure's items had at that point in the log, and no mandatory item
  was still open then.

An item with several signers records ``ItemSignedOff`` for each sign-off but the last,
which alone records ``ItemConfirmed``: a sign-off changes no state here (nor in the aggregate),
so a close after some but not all sign-offs counts that item as not confirmed.

Cost on a large ledger: ``GateFacts.feed`` sees each row's stream type and event type only
(columns, no parse) and keeps nothing per event: per item its departure, mandatory flag and
state changes, per departure its items and final event. Payloads are parsed for the few
event types that carry what the gate needs (an item's departure and mandatory flag, a
departure's items, a close's counts). Log order is needed only for departures that are final:
the log indexes of their events and their items' state changes, and per item the latest
place in the log of any of its events (``LogStore.stream_log_keys``), are asked of the log.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from ledger.aggregates.item import DONE_STATES
from ledger.errors import VerificationError
from ledger.store.log_port import LogStore
from ledger.store.port import AuditRow, EventStore

# ItemSignedOff is deliberately absent: an item is confirmed only when all have signed.
ITEM_STATE_AFTER = {"ItemCreated": "open", "ItemSubmitted": "submitted",
                    "ItemConfirmed": "confirmed", "ItemRejected": "rejected",
                    "ItemWaived": "waived"}
FINAL_EVENTS = ("DepartureClosed", "DepartureWithdrawn")
# Departure events a final case may still take: a dispute after close places a legal hold;
# an evidence bundle may be exported at any time.
AFTER_FINAL_EVENTS = frozenset({"DepartureLegalHoldPlaced", "DepartureEvidenceExported"})
AFTER_CLOSE_EVENTS = ("DepartureLeft", "DepartureContractTerminated")
CLOSE_COUNTS = ("items_total", "confirmed", "waived", "optional_open")
OrderKey = Callable[[int], int]  # storage position → its place in log order


@dataclass
class _Final:
    """A departure's first final event."""

    position: int
    event_id: str
    version: int
    event_type: str
    counts: dict[str, object]


@dataclass
class GateFacts:
    """What the gate audit keeps of the events, fed in storage order by ``feed``."""

    item_departure: dict[str, str] = field(default_factory=dict)
    item_mandatory: dict[str, bool] = field(default_factory=dict)
    item_states: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    departure_items: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    finals: dict[str, _Final] = field(default_factory=dict)
    # departure → (position, event id, version, type) of its events after its first final one
    after_final: dict[str, list[tuple[int, str, int, str]]] = field(default_factory=dict)

    def feed(self, rows: Iterable[AuditRow]) -> None:
        """Take what the gate needs from rows of any stream type (others are skipped). Runs
        once per event, so the common case (an item event that changes no state, such as a
        comment) is written out inline: it keeps nothing (where an item's events fall in the
        log is asked of the log afterwards, for the items of final cases only)."""
        changes = ITEM_STATE_AFTER
        for row in rows:
            stream_type = row[2]
            if stream_type == "item":
                if row[5] in changes:
                    self._item_changed(row[0], row[3], row[5], row[7])
            elif stream_type == "departure":
                self._departure(row[0], row[1], row[3], row[4], row[5], row[7])

    def _item_changed(self, position: int, item: str, event_type: str, entry: bytes) -> None:
        self.item_states.setdefault(item, []).append((position, ITEM_STATE_AFTER[event_type]))
        if event_type == "ItemCreated":
            payload = _payload(entry)
            self.item_departure[item] = str(payload.get("departure_id"))
            self.item_mandatory[item] = payload.get("mandatory") is True

    def _departure(self, position: int, event_id: str, departure: str, version: int,
                   event_type: str, entry: bytes) -> None:
        if departure in self.finals:  # a final state is final: nothing may follow it
            if event_type in AFTER_FINAL_EVENTS or (
                    event_type in AFTER_CLOSE_EVENTS
                    and self.finals[departure].event_type == "DepartureClosed"):
                return
            self.after_final.setdefault(departure, []).append(
                (position, event_id, version, event_type))
            return
        if event_type == "DepartureTemplateApplied":
            added = _payload(entry).get("item_ids")
            items = [str(i) for i in added] if isinstance(added, list) else []
        elif event_type == "DepartureItemAdded":
            items = [str(_payload(entry).get("item_id"))]
        elif event_type in FINAL_EVENTS:
            counts = _payload(entry) if event_type == "DepartureClosed" else {}
            self.finals[departure] = _Final(position, event_id, version, event_type, counts)
            return
        else:
            return
        self.departure_items.setdefault(departure, []).extend((position, i) for i in items)

    def final_items(self) -> dict[str, set[str]]:
        """The items of each final departure (created for it, or added to it)."""
        items: dict[str, set[str]] = {departure: set() for departure in self.finals}
        for item, departure in self.item_departure.items():
            if departure in items:
                items[departure].add(item)
        for departure, added in self.departure_items.items():
            if departure in items:
                items[departure].update(item for _, item in added)
        return items

    def relevant_positions(self) -> set[int]:
        """Positions whose log order the audit needs: those of final departures' events and
        of their items' state changes (an item's other events are asked of the log by
        stream: ``LogStore.stream_log_keys``)."""
        wanted: set[int] = set()
        for departure, items in self.final_items().items():
            wanted.add(self.finals[departure].position)
            wanted.update(p for p, _, _, _ in self.after_final.get(departure, ()))
            wanted.update(p for p, _ in self.departure_items.get(departure, ()))
            for item in items:
                wanted.update(p for p, _ in self.item_states.get(item, ()))
        return wanted


def _payload(entry: bytes) -> dict[str, object]:
    """The entry's payload, or {} when it cannot be read (the chain check reports that)."""
    try:
        payload = json.loads(entry).get("payload")
    except (ValueError, AttributeError):
        return {}
    return payload if isinstance(payload, dict) else {}


class _LogOrder:
    """Where positions fall in the log: a position's key is its log index when sequenced
    within the audited ``size``, else ``size`` plus its position (after every sequenced
    event, in storage order: the sequencer takes the queue so)."""

    def __init__(self, size: int, index: dict[int, int],
                 lookup: Callable[[list[int]], Awaitable[dict[int, int]]] | None,
                 stream_keys: Callable[[list[str]], Awaitable[dict[str, int]]]) -> None:
        self.size, self.index = size, index
        self._lookup, self.stream_keys = lookup, stream_keys

    def key(self, position: int) -> int:
        return self.index.get(position, self.size + position)

    async def learn(self, positions: Iterable[int]) -> None:
        """Ask the log for the indexes of ``positions`` (when it is asked, not listed)."""
        wanted = sorted(set(positions) - self.index.keys())
        if self._lookup is not None and wanted:
            found = await self._lookup(wanted)
            self.index.update((p, i) for p, i in found.items() if i < self.size)


async def check_gate_in_log(store: EventStore, facts: GateFacts, log: LogStore,
                            size: int) -> list[VerificationError]:
    """``check_gate`` in the order of the log's first ``size`` entries, asking the log for
    the indexes it needs (no list of every entry, nor of every item event, is kept)."""
    async def stream_keys(items: list[str]) -> dict[str, int]:
        return await log.stream_log_keys(items, size)

    order = _LogOrder(size, {}, log.indexes_of_positions, stream_keys)
    await order.learn(facts.relevant_positions())
    return await _check_gate(store, facts, order)


async def check_gate(store: EventStore, facts: GateFacts,
                     log_positions: Sequence[int] = ()) -> list[VerificationError]:
    """Every gate violation in ``facts``, in log order given by ``log_positions`` (log index →
    storage position; without it, storage order). Reads the offending items' streams only to
    name their events."""
    index = {p: i for i, p in enumerate(log_positions)}
    size = len(log_positions)

    async def stream_keys(items: list[str]) -> dict[str, int]:
        keys = {}
        for item in items:
            rows = await store.read_stream(UUID(item))
            if rows:
                keys[item] = max(index.get(r.position, size + r.position) for r in rows)
        return keys

    return await _check_gate(store, facts, _LogOrder(size, index, None, stream_keys))


async def _check_gate(store: EventStore, facts: GateFacts,
                      order: _LogOrder) -> list[VerificationError]:
    problems: list[VerificationError] = []
    key, index = order.key, order.index
    for departure, items in facts.final_items().items():
        final = facts.finals[departure]
        problems.extend(_late_departure_events(departure, final,
                                               facts.after_final.get(departure, []), index))
        final_key = key(final.position)
        last = await order.stream_keys(sorted(items))
        late = sorted(item for item, k in last.items() if k > final_key)
        problems.extend(await _name_late_events(store, departure, final, late, order))
        if final.event_type == "DepartureClosed":
            problem = _check_counts(facts, departure, final, key, index)
            if problem is not None:
                problems.append(problem)
    return problems


def _late_departure_events(departure: str, final: _Final,
                           after: list[tuple[int, str, int, str]],
                           index: dict[int, int]) -> list[VerificationError]:
    """A departure event after its close or withdrawal (a second close, a reminder): the
    case was final, so the stream may not go on."""
    return [VerificationError(
        f"departure event {event_id} ({event_type}, v{version}) follows departure "
        f"{departure}'s {'close' if final.event_type == 'DepartureClosed' else 'withdrawal'} "
        f"(event {final.event_id}, v{final.version}): a final case has no later events",
        stream_id=departure, version=version, event_id=event_id, index=index.get(position))
        for position, event_id, version, event_type in after]


async def _name_late_events(store: EventStore, departure: str, final: _Final,
                            late: list[str], order: _LogOrder) -> list[VerificationError]:
    problems = []
    index = order.index
    for item in late:
        rows = await store.read_stream(UUID(item))
        await order.learn(row.position for row in rows)
        final_key = order.key(final.position)
        for row in rows:
            if order.key(row.position) <= final_key:
                continue
            problems.append(VerificationError(
                f"item event {row.event_id} ({row.event_type}, item {item} v{row.version}) is "
                f"sequenced {_where(row.position, index)} after departure {departure} was "
                f"{'closed' if final.event_type == 'DepartureClosed' else 'withdrawn'} "
                f"(event {final.event_id}, {_where(final.position, index)})",
                stream_id=item, version=row.version, event_id=str(row.event_id),
                index=index.get(row.position)))
    return problems


def _check_counts(facts: GateFacts, departure: str, final: _Final, key: OrderKey,
                  index: dict[int, int]) -> VerificationError | None:
    at = key(final.position)
    items = {item for position, item in facts.departure_items.get(departure, ())
             if key(position) < at}
    states = {item: _state_at(facts.item_states.get(item, []), at, key) for item in items}
    actual = {"items_total": len(items),
              "confirmed": sum(s == "confirmed" for s in states.values()),
              "waived": sum(s == "waived" for s in states.values()),
              "optional_open": sum(s not in DONE_STATES for s in states.values())}
    recorded = {name: final.counts.get(name) for name in CLOSE_COUNTS}
    blocking = sorted(i for i, s in states.items()
                      if facts.item_mandatory.get(i, True) and s not in DONE_STATES)
    if recorded == actual and not blocking:
        return None
    found = ", ".join(f"{n}={actual[n]}" for n in CLOSE_COUNTS)
    said = ", ".join(f"{n}={recorded[n]}" for n in CLOSE_COUNTS)
    blocked = f"; mandatory item(s) not confirmed or waived: {blocking}" if blocking else ""
    return VerificationError(
        f"close {final.event_id} of departure {departure} ({_where(final.position, index)}) "
        f"records {said}, but its items at that point in the log give {found}{blocked}",
        stream_id=departure, version=final.version, event_id=final.event_id,
        index=index.get(final.position))


def _state_at(changes: list[tuple[int, str]], at: int, key: OrderKey) -> str | None:
    """The item's state just before log place ``at`` (None: not created by then)."""
    state = None
    for position, after in sorted(changes, key=lambda change: key(change[0])):
        if key(position) > at:
            break
        state = after
    return state


def _where(position: int, index: dict[int, int]) -> str:
    logged = index.get(position)
    return f"at log index {logged}" if logged is not None else f"queued at position {position}"


async def verify_gate(store: EventStore, log_positions: Sequence[int] = (),
                      batch: int = 5000) -> list[VerificationError]:
    """Read every event and check the gate on its own (``verify_ledger`` instead feeds the
    facts while it checks the chains, so the events are read once)."""
    facts = GateFacts()
    after = 0
    while rows := await store.read_for_audit(after, batch):
        facts.feed(rows)
        after = rows[-1][0]
    return await check_gate(store, facts, log_positions)
