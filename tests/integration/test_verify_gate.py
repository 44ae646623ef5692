"""``ledger verify`` audits the close gate: an item event appended after its departure closed
or was withdrawn (as an operator with database access could, correctly chained), and a close
whose recorded counts are not the items' states, are reported with the event id, the stream
and the log index, on both stores; an honest ledger passes."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest

from ledger.cli import main
from ledger.demo_scenarios import play_all
from ledger.entry import encode_entry
from ledger.errors import VerificationError
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.ledger import Ledger
from ledger.settings import DEFAULT_LOG_ORIGIN
from ledger.store.blob_factory import blob_store_for
from ledger.store.factory import log_store_for
from ledger.store.port import EventStore, NewEvent
from ledger.store.sqlite import SQLiteEventStore
from ledger.transparency.keys import load_signers, load_verifiers
from ledger.transparency.sequencer import Sequencer
from ledger.verify import verify_ledger
from ledger.verify_gate import verify_gate
from tests.conftest import TEST_ORIGIN, drain
from tests.support.confirmation import sign_confirmation

HR = Actor("hr.t", "hr")
OPERATOR = {"id": "db.operator", "role": "operator"}


async def handing_over(ledger: Ledger, mandatory: bool) -> tuple[uuid.UUID, uuid.UUID]:
    """A departure (no approval chain) handing over one item for zhao.min."""
    started = await ledger.execute(c.StartDeparture(
        leaver=c.Leaver(id="wang.lei", name="王磊", department="Sales", position="Manager",
                        role_family="sales"),
        manager_id="li.qiang", hr_owner_id=HR.id, notice_date="2026-11-01",
        last_working_day="2026-11-30", reason="resigned"), HR)
    departure = uuid.UUID(str(started.result["departure_id"]))
    await ledger.execute(c.SubmitForApproval(departure_id=departure), HR)
    added = await ledger.execute(c.AddItem(departure_id=departure, category="clients",
                                           title="客户资料", receiver="zhao.min",
                                           mandatory=mandatory), HR)
    return departure, uuid.UUID(str(added.result["item_id"]))


async def forge(store: EventStore, stream_type: str, stream: uuid.UUID, event_type: str,
                payload: dict[str, Any]) -> NewEvent:
    """Append a correctly chained event straight into the store, past the service's rules."""
    last = (await store.read_stream(stream))[-1]
    event_id, moment = uuid.uuid4(), dt.datetime.now(dt.UTC)
    raw, digest = encode_entry(
        event_id=event_id, stream_type=stream_type, stream_id=stream, version=last.version + 1,
        event_type=event_type, recorded_at=moment, actor=OPERATOR, context={},
        payload=payload, prev=last.event_hash)
    event = NewEvent(event_id, stream_type, stream, last.version + 1, event_type, moment, raw,
                     digest)
    await store.append([event])
    return event


async def audited(store: EventStore, keys: Path) -> list[VerificationError]:
    """Sequence and sign everything, then run the full verification; its problems."""
    log = log_store_for(store)
    await drain(Sequencer(log, load_signers(keys, TEST_ORIGIN), TEST_ORIGIN))
    report = await verify_ledger(store, log, load_verifiers(keys, []), TEST_ORIGIN)
    assert report.chains.ok and not report.log.problems, report.problems  # forged, yet chained
    return report.gate


async def test_honest_ledger_passes_the_gate_audit(ledger: Ledger, store: EventStore,
                                                   signer_keys: Path, tmp_path: Path) -> None:
    await play_all(ledger, dt.date(2026, 11, 24), blob_store_for(store, None, tmp_path))
    departure, _ = await handing_over(ledger, mandatory=False)
    await sign_confirmation(ledger, departure)
    await ledger.execute(c.CloseDeparture(departure_id=departure), HR)
    assert await audited(store, signer_keys) == []
    assert await verify_gate(store) == []


async def test_item_event_after_close_is_reported_with_its_event_stream_and_log_index(
        ledger: Ledger, store: EventStore, signer_keys: Path) -> None:
    departure, item = await handing_over(ledger, mandatory=False)
    await sign_confirmation(ledger, departure)
    await ledger.execute(c.CloseDeparture(departure_id=departure), HR)
    late = await forge(store, "item", item, "ItemCommented",
                       {"by": "hr.t", "text": "after the close"})
    problems = await audited(store, signer_keys)
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.event_id, problem.stream_id, problem.version) == (
        str(late.event_id), str(item), late.version)
    logged = await log_store_for(store).read_entry_block(0, 1000)
    assert problem.index == logged.indexes[-1]  # the forged event was sequenced last
    assert f"at log index {problem.index} after departure {departure} was closed" in str(problem)


async def test_item_event_after_withdrawal_is_reported(ledger: Ledger, store: EventStore,
                                                       signer_keys: Path) -> None:
    departure, item = await handing_over(ledger, mandatory=True)
    await ledger.execute(c.WithdrawDeparture(departure_id=departure, reason="stays"), HR)
    late = await forge(store, "item", item, "ItemSubmitted",
                       {"by": "wang.lei", "on_behalf": False, "note": "", "evidence": [],
                        "submission": 1})
    problems = await audited(store, signer_keys)
    assert [p.event_id for p in problems] == [str(late.event_id)]
    assert "was withdrawn" in str(problems[0])


async def test_forged_close_with_wrong_counts_is_reported(ledger: Ledger, store: EventStore,
                                                          signer_keys: Path) -> None:
    departure, item = await handing_over(ledger, mandatory=True)
    close = await forge(store, "departure", departure, "DepartureClosed",
                        {"by": "hr.t", "note": "", "items_total": 1, "confirmed": 1,
                         "waived": 0, "optional_open": 0, "severance_releasable": True})
    problems = await audited(store, signer_keys)
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.event_id, problem.stream_id, problem.version) == (
        str(close.event_id), str(departure), close.version)
    assert problem.index is not None
    assert ("records items_total=1, confirmed=1, waived=0, optional_open=0, but its items at "
            "that point in the log give items_total=1, confirmed=0, waived=0, optional_open=1"
            ) in str(problem)
    assert f"mandatory item(s) not confirmed or waived: ['{item}']" in str(problem)


@pytest.mark.parametrize(("event_type", "payload"), [
    ("DepartureClosed", {"by": "hr.t", "note": "again", "items_total": 5, "confirmed": 5,
                         "waived": 0, "optional_open": 0, "severance_releasable": True}),
    ("DepartureWithdrawn", {"by": "hr.t", "reason": "undo", "previous_state": "closed"}),
    ("DepartureReminderSent", {"by": "hr.t", "to": "wang.lei", "item_ids": [], "channel":
                               "email", "escalation": False, "message": "late"}),
])
async def test_a_departure_event_after_its_close_is_reported(
        ledger: Ledger, store: EventStore, signer_keys: Path, event_type: str,
        payload: dict[str, Any]) -> None:
    departure, _ = await handing_over(ledger, mandatory=False)
    await sign_confirmation(ledger, departure)
    await ledger.execute(c.CloseDeparture(departure_id=departure), HR)
    late = await forge(store, "departure", departure, event_type, payload)
    problems = await audited(store, signer_keys)
    assert [(p.event_id, p.stream_id, p.version) for p in problems] == [
        (str(late.event_id), str(departure), late.version)]
    assert problems[0].index is not None
    assert f"follows departure {departure}'s close" in str(problems[0])


LEFT = ("DepartureLeft", {"by": "hr.t", "left_on": "2026-11-30", "note": "",
                         "previous_left_on": None})


async def test_the_leaving_day_after_a_close_passes_but_after_a_withdrawal_is_reported(
        ledger: Ledger, store: EventStore, signer_keys: Path) -> None:
    closed, _ = await handing_over(ledger, mandatory=False)
    await sign_confirmation(ledger, closed)
    await ledger.execute(c.CloseDeparture(departure_id=closed), HR)
    await forge(store, "departure", closed, *LEFT)  # never gated (Labour Contract Law Art. 50)
    withdrawn, _ = await handing_over(ledger, mandatory=False)
    await ledger.execute(c.WithdrawDeparture(departure_id=withdrawn, reason="stays"), HR)
    late = await forge(store, "departure", withdrawn, *LEFT)

    problems = await audited(store, signer_keys)

    assert [(p.event_id, p.stream_id) for p in problems] == [
        (str(late.event_id), str(withdrawn))]


async def test_close_counts_are_judged_at_the_close_not_later(
        ledger: Ledger, store: EventStore, signer_keys: Path) -> None:
    """A correct close followed by a forged confirmation: the close's counts still agree with
    the states at its place in the log; only the late event is reported."""
    departure, item = await handing_over(ledger, mandatory=False)
    await sign_confirmation(ledger, departure)
    await ledger.execute(c.CloseDeparture(departure_id=departure), HR)
    late = await forge(store, "item", item, "ItemWaived",
                       {"by": "hr.t", "reason": "late", "previous_state": "open"})
    problems = await audited(store, signer_keys)
    assert [p.event_id for p in problems] == [str(late.event_id)]


async def test_queued_item_event_after_close_is_reported_before_sequencing(
        ledger: Ledger, store: EventStore) -> None:
    departure, item = await handing_over(ledger, mandatory=False)
    await sign_confirmation(ledger, departure)
    await ledger.execute(c.CloseDeparture(departure_id=departure), HR)
    late = await forge(store, "item", item, "ItemCommented", {"by": "hr.t", "text": "late"})
    problems = await verify_gate(store)
    assert [p.event_id for p in problems] == [str(late.event_id)]
    assert "queued at position" in str(problems[0])


async def test_ledger_verify_passes_a_closed_case_and_fails_on_an_item_event_after_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("LEDGER_DATABASE_URL", "LEDGER_DATA_DIR", "LEDGER_KEY_DIR",
                 "LEDGER_LOG_ORIGIN"):
        monkeypatch.delenv(name, raising=False)
    assert await asyncio.to_thread(main, ["keygen"]) == 0
    data = tmp_path / "ledger-data"

    async def sequence(store: EventStore) -> None:
        await drain(Sequencer(log_store_for(store),
                              load_signers(data / "keys", DEFAULT_LOG_ORIGIN),
                              DEFAULT_LOG_ORIGIN))

    store = await SQLiteEventStore.connect(data / "ledger.db")
    try:
        await store.migrate()
        ledger = Ledger(store)
        departure, item = await handing_over(ledger, mandatory=False)
        await sign_confirmation(ledger, departure)
        await ledger.execute(c.CloseDeparture(departure_id=departure), HR)
        await sequence(store)
    finally:
        await store.close()
    assert await asyncio.to_thread(main, ["verify"]) == 0
    assert "; the close gate held" in capsys.readouterr().out
    store = await SQLiteEventStore.connect(data / "ledger.db")
    try:
        late = await forge(store, "item", item, "ItemCommented", {"by": "x", "text": "late"})
        await sequence(store)
    finally:
        await store.close()
    assert await asyncio.to_thread(main, ["verify"]) == 1
    out = capsys.readouterr().out
    assert f"TAMPERED: item event {late.event_id} (ItemCommented, item {item} v" in out
    assert f"after departure {departure} was closed" in out
    assert "FAILED: 1 problem(s)" in out
