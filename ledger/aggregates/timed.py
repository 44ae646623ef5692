"""The time of the event being applied, for facts that a view shows with their moment.

eventsourcing hands a decorated method its event's fields but not its timestamp (it sets
``modified_on`` after the method ran). An aggregate that derives from ``Timed`` and whose
``Event`` derives from ``TimedEvent`` finds the timestamp of the event being applied in
``event_at`` — the entry's ``recorded_at``, in the same form, formatted only when a mutator
asks — so a decline, a moved day or a dispute's statement keeps when it happened, the same on
a live aggregate and on one replayed from its entries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from eventsourcing.domain import Aggregate

from ledger.entry import format_time


class TimedEvent(Aggregate.Event):
    """An event that tells its aggregate its time before it is applied."""

    def mutate(self, aggregate: Any) -> Any:
        if aggregate is not None:
            aggregate.event_time = self.timestamp
        return super().mutate(aggregate)


class Timed:
    """The aggregate's side: the time of the event being applied, as an entry writes it."""

    event_time: dt.datetime | None = None

    @property
    def event_at(self) -> str:
        if self.event_time is None:
            raise RuntimeError("event_at is read only while an event is applied")
        return format_time(self.event_time)
