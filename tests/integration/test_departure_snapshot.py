"""The board keeps each departure whole (``ledger.aggregates.snapshot``) for
``GET /v1/departures``: the restored aggregate is the aggregate, field for field, and what
JSON cannot carry is refused rather than changed."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import pytest

from api.views import DepartureView
from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from ledger.aggregates.snapshot import restore, snapshot
from ledger.service import commands as c
from ledger.service.ledger import Ledger
from tests.contract.test_ledger_contract import HR, handing_over

LEFT_OUT = ("_pending_events", "event_time")


def _state(aggregate: object) -> dict[str, object]:
    return {k: v for k, v in vars(aggregate).items() if k not in LEFT_OUT}


async def test_a_departure_and_its_items_come_back_field_for_field(ledger: Ledger) -> None:
    departure_id = await handing_over(ledger)
    first = await ledger.load(Departure, UUID(departure_id))
    await ledger.execute(c.SendReminder(departure_id=departure_id, to=first.manager_id,
                                        item_ids=[first.item_ids[0]], channel="email"), HR)
    departure = await ledger.load(Departure, UUID(departure_id))
    again = restore(Departure, snapshot(departure))
    assert type(again) is Departure and _state(again) == _state(departure)
    assert again.reminders == 1 and again.item_ids and again.version == departure.version
    assert DepartureView.of(again, HR) == DepartureView.of(departure, HR)
    item = await ledger.load(HandoverItem, UUID(departure.item_ids[0]))
    assert _state(restore(HandoverItem, snapshot(item))) == _state(item)


async def test_what_json_cannot_carry_is_refused(ledger: Ledger) -> None:
    departure = await ledger.load(Departure, UUID(await handing_over(ledger, templates=())))
    departure.__dict__["reminders"] = dt.date(2026, 1, 1)  # no attribute is a date
    with pytest.raises(TypeError):  # orjson.JSONEncodeError, from _encode
        snapshot(departure)
    departure.__dict__["reminders"] = {1, 2}
    with pytest.raises(TypeError):
        snapshot(departure)
