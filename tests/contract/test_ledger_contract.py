"""Use cases end to end on every store: idempotency, concurrency, authorization, the gate."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem, NotReceiverError
from ledger.errors import (
    ConflictError,
    ForbiddenError,
    GateBlockedError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
)
from ledger.service import commands as c
from ledger.service.context import Actor, RequestContext
from ledger.service.ledger import Ledger
from ledger.store.port import EventStore
from tests.support.confirmation import sign_confirmation

HR = Actor("hr.sun", "hr")
MANAGER = Actor("li.qiang", "employee")
LEAVER = Actor("wang.lei", "employee")
SUCCESSOR = Actor("zhao.min", "employee")
IT = Actor("it.qian", "it")
FINANCE = Actor("fin.zhou", "finance")
ADMIN = Actor("adm.wu", "admin")


def start_command(approvers: list[str] | None = None) -> c.StartDeparture:
    return c.StartDeparture(
        leaver=c.Leaver(id=LEAVER.id, name="王磊", department="华东销售部", position="销售经理",
                        role_family="sales"),
        manager_id=MANAGER.id, hr_owner_id=HR.id, notice_date="2026-11-01",
        last_working_day="2026-11-30", reason="个人发展",
        approval_chain=[c.ApprovalStep(name="manager", approver_id=a) for a in approvers or []])


async def handing_over(ledger: Ledger, templates: tuple[str, ...] = ("sales",)) -> str:
    started = await ledger.execute(start_command([MANAGER.id]), HR)
    departure_id = str(started.result["departure_id"])
    await ledger.execute(c.SubmitForApproval(departure_id=departure_id), HR)
    await ledger.execute(c.ApproveStep(departure_id=departure_id, step=0), MANAGER)
    for key in templates:
        await ledger.execute(c.ApplyTemplate(departure_id=departure_id, template_key=key,
                                             successor_id=SUCCESSOR.id), HR)
    return departure_id


async def test_idempotent_replay_returns_first_outcome_and_appends_nothing(
        ledger: Ledger, store: EventStore) -> None:
    first = await ledger.execute(start_command(), HR, idempotency_key="key-1")
    count = await store.count_events()
    again = await ledger.execute(start_command(), HR, idempotency_key="key-1")
    assert again.replayed and not first.replayed
    assert again.body == first.body
    assert await store.count_events() == count


async def test_same_key_with_different_request_is_refused(ledger: Ledger) -> None:
    await ledger.execute(start_command(), HR, idempotency_key="key-2")
    with pytest.raises(IdempotencyKeyReusedError):
        await ledger.execute(start_command([MANAGER.id]), HR, idempotency_key="key-2")


async def test_idempotency_keys_are_scoped_per_principal(ledger: Ledger) -> None:
    other_hr = Actor("hr.two", "hr")
    a = await ledger.execute(start_command(), HR, idempotency_key="shared")
    b = await ledger.execute(start_command(), other_hr, idempotency_key="shared")
    assert a.result != b.result


async def test_concurrent_retries_with_one_key_execute_once(ledger: Ledger,
                                                            store: EventStore) -> None:
    before = await store.count_events()
    outcomes = await asyncio.gather(*(
        ledger.execute(start_command(), HR, idempotency_key="burst") for _ in range(6)))
    assert len({str(o.result["departure_id"]) for o in outcomes}) == 1
    assert await store.count_events() == before + 1


async def test_applying_a_template_creates_items_in_one_transaction(
        ledger: Ledger, store: EventStore) -> None:
    departure_id = await handing_over(ledger)
    departure = await ledger.load(Departure, departure_id)
    assert departure.state == "handing_over"
    assert departure.templates[0]["key"] == "sales"
    assert len(departure.templates[0]["content_hash"]) == 64
    items = [await ledger.load(HandoverItem, i) for i in departure.item_ids]
    assert {i.giver_id for i in items} == {LEAVER.id}
    assert SUCCESSOR.id in {i.receiver for i in items}


async def test_stale_expected_version_is_a_conflict(ledger: Ledger) -> None:
    departure_id = await handing_over(ledger)
    with pytest.raises(ConflictError):
        await ledger.execute(c.CloseDeparture(departure_id=departure_id, expected_version=1), HR)


async def test_receiver_confirms_but_nobody_else_does(ledger: Ledger) -> None:
    departure_id = await handing_over(ledger)
    departure = await ledger.load(Departure, departure_id)
    item_id = departure.item_ids[0]
    item = await ledger.load(HandoverItem, item_id)
    await ledger.execute(c.SubmitItem(item_id=item_id, note="done"), LEAVER)
    intruder = Actor("someone.else", "employee")
    with pytest.raises(NotFoundError, match=f"^{item_id} not found$"):  # as if absent
        await ledger.execute(c.ConfirmItem(item_id=item_id), intruder)
    receiver = SUCCESSOR if item.receiver == SUCCESSOR.id else MANAGER
    with pytest.raises(NotReceiverError):  # the leaver reads the item, but does not review it
        await ledger.execute(c.ConfirmItem(item_id=item_id), LEAVER)
    done = await ledger.execute(c.ConfirmItem(item_id=item_id, note="ok"), receiver)
    assert done.result["state"] == "confirmed"


async def test_roles_are_enforced_before_relations(ledger: Ledger) -> None:
    departure_id = await handing_over(ledger)
    item_id = (await ledger.load(Departure, departure_id)).item_ids[0]
    for actor, command in [
        (LEAVER, c.StartDeparture.model_validate(start_command().model_dump())),
        (LEAVER, c.WaiveItem(item_id=item_id, reason="no")),
        (SUCCESSOR, c.CloseDeparture(departure_id=departure_id)),
        (Actor("auditor.x", "auditor"), c.ConfirmItem(item_id=item_id)),
        (LEAVER, c.RecordExternalEvidence(item_id=item_id, source="x", kind="y")),
    ]:
        with pytest.raises(ForbiddenError):
            await ledger.execute(command, actor)
    # A relation refused to someone who may not even read the target reads as its absence.
    with pytest.raises(NotFoundError, match=f"^{item_id} not found$"):
        await ledger.execute(c.CommentItem(item_id=item_id, text="hi"),
                             Actor("stranger", "employee"))
    with pytest.raises(NotFoundError, match=f"^{departure_id} not found$"):
        await ledger.execute(c.AddItem(departure_id=departure_id, category="assets",
                                       title="笔记本", receiver="dept:admin"), SUCCESSOR)


async def test_department_queue_items_are_confirmed_by_that_department(ledger: Ledger) -> None:
    departure_id = await handing_over(ledger, ("clearance",))
    departure = await ledger.load(Departure, departure_id)
    items = [await ledger.load(HandoverItem, i) for i in departure.item_ids]
    it_item = next(i for i in items if i.receiver == "dept:it")
    await ledger.execute(c.SubmitItem(item_id=it_item.id, note="laptop returned"), LEAVER)
    with pytest.raises(NotFoundError):  # finance may not read a dept:it item
        await ledger.execute(c.ConfirmItem(item_id=it_item.id), FINANCE)
    outcome = await ledger.execute(c.ConfirmItem(item_id=it_item.id), IT)
    assert outcome.result["state"] == "confirmed"


async def test_gate_blocks_close_until_every_mandatory_item_is_done(
        ledger: Ledger, store: EventStore) -> None:
    departure_id = await handing_over(ledger, ("finance",))
    departure = await ledger.load(Departure, departure_id)
    items = [await ledger.load(HandoverItem, i) for i in departure.item_ids]
    with pytest.raises(GateBlockedError) as blocked:
        await ledger.execute(c.CloseDeparture(departure_id=departure_id), HR)
    assert sorted(blocked.value.blocking) == sorted(str(i.id) for i in items if i.mandatory)
    for item in items:
        await ledger.execute(c.WaiveItem(item_id=item.id, reason="不适用"), HR)
    await sign_confirmation(ledger, departure_id)
    closed = await ledger.execute(c.CloseDeparture(departure_id=departure_id, note="ok"), HR)
    assert closed.result["closure"]["severance_releasable"] is True  # type: ignore[index]


async def test_context_and_actor_are_recorded_in_every_entry(ledger: Ledger) -> None:
    context = RequestContext(request_id="req-9", ip="127.0.0.1", user_agent="pytest",
                             auth="bearer")
    outcome = await ledger.execute(start_command(), HR, context)
    entries = await ledger.entries(uuid.UUID(str(outcome.result["departure_id"])))
    assert entries[0].actor == {"id": HR.id, "role": "hr"}
    assert entries[0].context == {"request_id": "req-9", "ip": "127.0.0.1",
                                  "user_agent": "pytest", "auth": "bearer"}


async def test_template_needing_a_successor_refuses_without_one(ledger: Ledger) -> None:
    started = await ledger.execute(start_command(), HR)
    departure_id = str(started.result["departure_id"])
    await ledger.execute(c.SubmitForApproval(departure_id=departure_id), HR)
    with pytest.raises(InvalidInputError, match="successor_id"):
        await ledger.execute(c.ApplyTemplate(departure_id=departure_id, template_key="sales"),
                             HR)


async def test_template_revision_is_recorded_and_unchanged_redefinition_appends_nothing(
        ledger: Ledger, store: EventStore) -> None:
    from ledger.service.template_cases import builtin_template_commands

    sales = next(t for t in builtin_template_commands() if t.key == "sales")
    before = await store.count_events()
    same = await ledger.execute(sales, HR)
    assert same.result["changed"] is False and await store.count_events() == before
    revised = sales.model_copy(update={"label": "Sales handover checklist v2"})
    outcome = await ledger.execute(revised, HR)
    assert outcome.result["revision"] == 2


async def test_the_leaver_cannot_be_the_receiver_of_their_own_handover(ledger: Ledger) -> None:
    departure_id = await handing_over(ledger)
    with pytest.raises(InvalidInputError, match="own handover"):
        await ledger.execute(c.AddItem(departure_id=departure_id, category="documents",
                                       title="项目文档", receiver=LEAVER.id), HR)
    item_id = (await ledger.load(Departure, departure_id)).item_ids[0]
    with pytest.raises(InvalidInputError, match="own handover"):
        await ledger.execute(c.ReassignItem(item_id=item_id, receiver=LEAVER.id,
                                            reason="self"), HR)


async def test_hr_cannot_run_their_own_departure(ledger: Ledger) -> None:
    own = start_command().model_copy(update={"leaver": c.Leaver(
        id=HR.id, name="孙丽", department="HR", position="HRBP", role_family="admin")})
    with pytest.raises(InvalidInputError, match="own departure"):
        await ledger.execute(own, HR)
    departure_id = await handing_over(ledger)
    other_hr = Actor(LEAVER.id, "hr")  # the leaver also holds the hr role
    item_id = (await ledger.load(Departure, departure_id)).item_ids[0]
    for command in (c.WaiveItem(item_id=item_id, reason="x"),
                    c.CloseDeparture(departure_id=departure_id)):
        with pytest.raises(ForbiddenError, match="leaver"):
            await ledger.execute(command, other_hr)


async def test_nobody_reviews_what_they_submitted_or_reassigned_to_themself(
        ledger: Ledger) -> None:
    # management's legal-compliance-confidentiality is received by HR (the clearance's
    # confidentiality notice is given by HR, and its archive line is gone: issue 9)
    departure_id = await handing_over(ledger, ("management", "clearance"))
    items = [await ledger.load(HandoverItem, i)
             for i in (await ledger.load(Departure, departure_id)).item_ids]
    hr_item = next(i for i in items if i.receiver == HR.id)
    await ledger.execute(c.SubmitItem(item_id=hr_item.id, note="on behalf", on_behalf=True), HR)
    with pytest.raises(NotReceiverError, match="submitted"):
        await ledger.execute(c.ConfirmItem(item_id=hr_item.id), HR)
    other = next(i for i in items if i.receiver == SUCCESSOR.id)
    with pytest.raises(NotReceiverError, match="themself"):
        await ledger.execute(c.ReassignItem(item_id=other.id, receiver=MANAGER.id,
                                            reason="I'll take it"), MANAGER)


async def test_items_of_a_withdrawn_departure_are_frozen(ledger: Ledger) -> None:
    departure_id = await handing_over(ledger)
    item_id = (await ledger.load(Departure, departure_id)).item_ids[0]
    await ledger.execute(c.WithdrawDeparture(departure_id=departure_id, reason="stays"), HR)
    with pytest.raises(InvalidTransitionError, match="withdrawn"):
        await ledger.execute(c.SubmitItem(item_id=item_id, note="late"), LEAVER)


async def test_a_refusal_on_stale_cached_state_is_rechecked_on_fresh_state(
        ledger: Ledger, store: EventStore) -> None:
    departure_id = await handing_over(ledger)
    item_id = (await ledger.load(Departure, departure_id)).item_ids[0]
    item = await ledger.load(HandoverItem, item_id)
    receiver = SUCCESSOR if item.receiver == SUCCESSOR.id else MANAGER
    await ledger.execute(c.SubmitItem(item_id=item_id, note="v1"), LEAVER)
    other_process = Ledger(store)
    await other_process.execute(c.RejectItem(item_id=item_id, reason="incomplete"), receiver)
    # This process still caches the item as submitted; resubmitting must see the rejection.
    outcome = await ledger.execute(c.SubmitItem(item_id=item_id, note="v2"), LEAVER)
    assert outcome.result["state"] == "submitted"


async def test_reassigning_to_a_queue_you_work_does_not_let_you_confirm(ledger: Ledger) -> None:
    departure_id = await handing_over(ledger)
    item_id = (await ledger.load(Departure, departure_id)).item_ids[0]
    await ledger.execute(c.SubmitItem(item_id=item_id, note="done"), LEAVER)
    await ledger.execute(c.ReassignItem(item_id=item_id, receiver="dept:it", reason="IT owns it"),
                         HR)
    with pytest.raises(NotReceiverError, match="reassigned"):
        await ledger.execute(c.ConfirmItem(item_id=item_id), Actor(HR.id, "it"))
    assert (await ledger.execute(c.ConfirmItem(item_id=item_id), IT)).result["state"] == (
        "confirmed")


async def test_a_process_with_a_stale_cache_cannot_touch_items_of_a_withdrawn_departure(
        ledger: Ledger, store: EventStore) -> None:
    departure_id = await handing_over(ledger)
    item_id = (await ledger.load(Departure, departure_id)).item_ids[0]
    await ledger.load(Departure, departure_id)  # cached here as handing_over
    await Ledger(store).execute(c.WithdrawDeparture(departure_id=departure_id, reason="stays"),
                                HR)
    with pytest.raises(InvalidTransitionError, match="withdrawn"):
        await ledger.execute(c.SubmitItem(item_id=item_id, note="late"), LEAVER)


async def test_racing_retries_with_one_key_on_one_stream_all_get_the_first_answer(
        ledger: Ledger, store: EventStore) -> None:
    departure_id = await handing_over(ledger)
    item_id = (await ledger.load(Departure, departure_id)).item_ids[0]
    item = await ledger.load(HandoverItem, item_id)
    receiver = SUCCESSOR if item.receiver == SUCCESSOR.id else MANAGER
    await ledger.execute(c.SubmitItem(item_id=item_id, note="done"), LEAVER)
    processes = [ledger, Ledger(store), Ledger(store)]
    outcomes = await asyncio.gather(*(
        p.execute(c.ConfirmItem(item_id=item_id), receiver, idempotency_key="confirm-once")
        for p in processes))
    assert len({o.encoded() for o in outcomes}) == 1
    assert sum(not o.replayed for o in outcomes) == 1
