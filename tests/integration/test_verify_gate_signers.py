"""``ledger verify``'s gate audit and the close agree on items with several signers (issue 9):
an item is confirmed only when all have signed, on both stores."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from ledger.entry import encode_entry
from ledger.errors import GateBlockedError
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.ledger import Ledger
from ledger.store.port import EventStore, NewEvent
from ledger.verify_gate import verify_gate
from tests.support.confirmation import sign_confirmation

HR = Actor("hr.t", "hr")
LEAVER = Actor("wang.lei", "employee")
MANAGER = Actor("li.qiang", "employee")
SUCCESSOR = Actor("zhao.min", "employee")


async def two_signer_item(ledger: Ledger) -> tuple[uuid.UUID, uuid.UUID]:
    """A case with one mandatory item for the manager and the successor to sign, submitted."""
    started = await ledger.execute(c.StartDeparture(
        leaver=c.Leaver(id=LEAVER.id, name="王磊", department="Sales", position="Manager",
                        role_family="sales"),
        manager_id=MANAGER.id, hr_owner_id=HR.id, notice_date="2026-11-01",
        last_working_day="2026-11-30", reason="resigned"), HR)
    departure = uuid.UUID(str(started.result["departure_id"]))
    await ledger.execute(c.SubmitForApproval(departure_id=departure), HR)
    added = await ledger.execute(c.AddItem(
        departure_id=departure, category="clients", title="客户资料", receiver=SUCCESSOR.id,
        signers=[MANAGER.id, SUCCESSOR.id]), HR)
    item = uuid.UUID(str(added.result["item_id"]))
    await ledger.execute(c.SubmitItem(item_id=item), LEAVER)
    return departure, item


async def half_signed(ledger: Ledger) -> tuple[uuid.UUID, uuid.UUID]:
    """A case whose one mandatory item the successor has signed and the manager has not."""
    departure, item = await two_signer_item(ledger)
    await ledger.execute(c.ConfirmItem(item_id=item), SUCCESSOR)
    return departure, item


async def forged_close(store: EventStore, departure: uuid.UUID) -> NewEvent:
    """A close appended straight into the store (as an operator could), claiming one item
    confirmed, correctly chained."""
    last = (await store.read_stream(departure))[-1]
    event_id, moment = uuid.uuid4(), dt.datetime.now(dt.UTC)
    raw, digest = encode_entry(
        event_id=event_id, stream_type="departure", stream_id=departure,
        version=last.version + 1, event_type="DepartureClosed", recorded_at=moment,
        actor={"id": "db.operator", "role": "operator"}, context={},
        payload={"by": HR.id, "note": "", "items_total": 1, "confirmed": 1, "waived": 0,
                 "optional_open": 0, "severance_releasable": True}, prev=last.event_hash)
    event = NewEvent(event_id, "departure", departure, last.version + 1, "DepartureClosed",
                     moment, raw, digest)
    await store.append([event])
    return event


async def test_the_close_waits_for_every_signer_and_the_audit_agrees(
        ledger: Ledger, store: EventStore) -> None:
    departure, item = await half_signed(ledger)

    with pytest.raises(GateBlockedError):
        await ledger.execute(c.CloseDeparture(departure_id=departure), HR)
    await ledger.execute(c.ConfirmItem(item_id=item), MANAGER)
    await sign_confirmation(ledger, departure)
    closed = await ledger.execute(c.CloseDeparture(departure_id=departure), HR)

    assert closed.result["closure"]["confirmed"] == 1  # type: ignore[index, call-overload]
    assert await verify_gate(store) == []


async def test_a_forged_close_after_only_some_sign_offs_is_reported(
        ledger: Ledger, store: EventStore) -> None:
    departure, item = await half_signed(ledger)

    close = await forged_close(store, departure)

    [problem] = await verify_gate(store)
    assert problem.event_id == str(close.event_id)
    assert f"mandatory item(s) not confirmed or waived: ['{item}']" in str(problem)


async def test_two_signers_signing_at_once_confirm_the_item_once(
        ledger: Ledger, store: EventStore) -> None:
    _, item = await two_signer_item(ledger)

    await asyncio.gather(ledger.execute(c.ConfirmItem(item_id=item), MANAGER),
                         ledger.execute(c.ConfirmItem(item_id=item), SUCCESSOR))

    types = [row.event_type for row in await store.read_stream(item)]
    assert types[-2:] == ["ItemSignedOff", "ItemConfirmed"]
    assert types.count("ItemConfirmed") == 1
