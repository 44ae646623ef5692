"""Several sign-offs per item, lines acknowledged one by one, how an item was handed over.

Seeds: 004 "由客户经理与新接手人共同签字" (two signers, any order); 002 "部门负责人审核→HR确认→
接收方签字" (in order) and "逐条签字确认" (line by line); 000 "时间、地点、参与人".
"""

from typing import cast

import pytest

from ledger.aggregates.codec import encode_event, replay
from ledger.aggregates.item import (
    HandoverItem,
    ItemNotSubmittedError,
    NotGiverError,
    NotReceiverError,
)
from ledger.aggregates.signoff import (
    AlreadySignedError,
    LinesNotAcknowledgedError,
    NotSignerError,
    SignOffOrderError,
    resolve_signers,
)
from ledger.canonical import JSONObject
from ledger.entry import decode_entry
from ledger.errors import InvalidInputError, InvalidTransitionError
from ledger.service.context import Actor, RequestContext
from ledger.service.unit_of_work import UnitOfWork
from ledger.store.port import EventStore

GIVER = "emp-leaver"
SUCCESSOR = "emp-successor"
MANAGER = "mgr-li"
HR = "hr-sun"
LINES: list[JSONObject] = [{"id": "client-1", "text": "华东集团: 续约谈判中"},
                           {"id": "client-2", "text": "南方物流: 应收 12 万"}]
HOW: JSONObject = {"mode": "meeting", "location": "3F 会议室", "attendees": [MANAGER, "张三"]}


def item_with(signers: list[str] | None, in_order: bool = False,
              giver: str = GIVER, receiver: str = SUCCESSOR) -> HandoverItem:
    item = HandoverItem(
        departure_id="7f1d9c2e-0000-4000-8000-000000000001", category="clients",
        title="Key clients", label="重点客户", acceptance_criteria="every client, its needs",
        giver_id=giver, receiver=receiver, mandatory=True, priority="high",
        due_date=None, template_item_key=None, signers=signers, signers_in_order=in_order)
    item.collect_events()
    return item


def submitted(signers: list[str] | None, in_order: bool = False,
              lines: list[JSONObject] | None = None) -> HandoverItem:
    item = item_with(signers, in_order)
    item.submit(by=GIVER, on_behalf=False, note="", evidence=[], lines=lines)
    item.collect_events()
    return item


def topics(item: HandoverItem) -> list[str]:
    return [encode_event(e)[0] for e in item.collect_events()]


def sign(item: HandoverItem, by: str, acting_for: set[str] | None = None,
         acknowledged: list[str] | None = None) -> None:
    item.confirm(by=by, acting_for=acting_for or {by}, note="ok", signature=None,
                 acknowledged=acknowledged)


def test_an_item_signed_by_two_in_any_order_is_confirmed_only_by_the_second() -> None:
    item = submitted([MANAGER, SUCCESSOR])

    sign(item, SUCCESSOR)

    assert item.state == "submitted"
    assert item.pending_signers() == [MANAGER]
    assert topics(item) == ["ItemSignedOff"]
    sign(item, MANAGER)
    assert item.state == "confirmed"
    assert item.confirmed_by == MANAGER
    assert item.status().state == "confirmed"
    assert [(t, p["signer"]) for t, p in
            (encode_event(e) for e in item.collect_events())] == [("ItemConfirmed", MANAGER)]


def test_each_sign_off_is_its_own_event_naming_its_signer_and_submission() -> None:
    item = submitted([MANAGER, SUCCESSOR])

    item.confirm(by=SUCCESSOR, acting_for={SUCCESSOR}, note="看过了",
                 signature={"key_id": "k"}, how=HOW)

    [(topic, payload)] = [encode_event(e) for e in item.collect_events()]
    assert (topic, payload) == ("ItemSignedOff", {
        "by": SUCCESSOR, "signer": SUCCESSOR, "submission": 1, "note": "看过了",
        "signature": {"key_id": "k"}, "how": HOW})
    assert item.signoffs[SUCCESSOR]["signed"] is True


def test_in_order_a_later_signer_waits_for_the_earlier_ones() -> None:
    item = submitted([MANAGER, HR, SUCCESSOR], in_order=True)

    with pytest.raises(SignOffOrderError, match=f"signed in order: {MANAGER} signs before"):
        sign(item, SUCCESSOR)

    sign(item, MANAGER)
    sign(item, HR)
    assert item.state == "submitted"
    sign(item, SUCCESSOR)
    assert item.state == "confirmed"


def test_a_department_queue_slot_is_signed_by_whoever_works_the_queue() -> None:
    item = submitted(["dept:finance", SUCCESSOR])

    sign(item, "fin-zhou", {"fin-zhou", "dept:finance"})

    assert item.signoffs["dept:finance"]["by"] == "fin-zhou"
    assert item.pending_signers() == [SUCCESSOR]


def test_nobody_signs_one_submission_twice_even_in_another_slot() -> None:
    item = submitted(["dept:finance", "fin-zhou", SUCCESSOR])
    sign(item, "fin-zhou", {"fin-zhou", "dept:finance"})
    item.collect_events()

    with pytest.raises(AlreadySignedError, match="fin-zhou has already signed"):
        sign(item, "fin-zhou", {"fin-zhou", "dept:finance"})
    assert item.collect_events() == []


def test_someone_who_is_not_a_signer_is_refused() -> None:
    item = submitted([MANAGER, SUCCESSOR])

    with pytest.raises(NotReceiverError, match="only its signers"):
        sign(item, "stranger")


def test_a_queue_slot_once_signed_is_not_signed_again_by_a_colleague() -> None:
    item = submitted(["dept:finance", SUCCESSOR])
    sign(item, "fin-zhou", {"fin-zhou", "dept:finance"})

    with pytest.raises(NotSignerError, match="fin-li holds no pending sign-off"):
        sign(item, "fin-li", {"fin-li", "dept:finance"})


def test_the_giver_never_signs_their_own_handover() -> None:
    with pytest.raises(InvalidInputError, match="cannot sign their own handover"):
        resolve_signers([MANAGER, GIVER], GIVER, SUCCESSOR)


def test_a_single_signer_who_is_the_receiver_is_stored_as_no_signers() -> None:
    assert resolve_signers([SUCCESSOR, SUCCESSOR], GIVER, SUCCESSOR) == []
    assert resolve_signers([MANAGER, SUCCESSOR, MANAGER], GIVER, SUCCESSOR) == [
        MANAGER, SUCCESSOR]


def test_any_signers_rejection_returns_the_item_to_the_giver_and_resubmission_starts_afresh(
) -> None:
    item = submitted([MANAGER, SUCCESSOR], lines=LINES)
    sign(item, SUCCESSOR, acknowledged=["client-1", "client-2"])
    item.collect_events()

    item.reject(by=MANAGER, acting_for={MANAGER}, reason="南方物流的应收不对",
                rejected_lines=[{"id": "client-2", "reason": "应收是 15 万"}],
                acknowledged=["client-1"])

    assert item.state == "rejected"
    [(topic, payload)] = [encode_event(e) for e in item.collect_events()]
    assert (topic, payload["signer"], payload["rejected_lines"], payload["acknowledged"]) == (
        "ItemRejected", MANAGER, [{"id": "client-2", "reason": "应收是 15 万"}], ["client-1"])
    assert item.line_rejections == [{"id": "client-2", "reason": "应收是 15 万", "by": MANAGER}]
    item.submit(by=GIVER, on_behalf=False, note="fixed", evidence=[], lines=LINES)
    assert item.signoffs == {}
    assert item.line_rejections == []
    assert item.pending_signers() == [MANAGER, SUCCESSOR]


def test_a_signer_who_has_signed_cannot_reject_afterwards() -> None:
    item = submitted([MANAGER, SUCCESSOR])
    sign(item, MANAGER)

    with pytest.raises(AlreadySignedError):
        item.reject(by=MANAGER, acting_for={MANAGER}, reason="changed my mind")


def test_in_order_a_later_signer_may_still_reject() -> None:
    item = submitted([MANAGER, SUCCESSOR], in_order=True)

    item.reject(by=SUCCESSOR, acting_for={SUCCESSOR}, reason="客户最新需求没有写")

    assert item.state == "rejected"


def test_a_confirmation_must_acknowledge_every_line_of_its_submission() -> None:
    item = submitted(None, lines=LINES)

    with pytest.raises(LinesNotAcknowledgedError, match="not acknowledged: client-2"):
        sign(item, SUCCESSOR, acknowledged=["client-1"])
    with pytest.raises(InvalidInputError, match="not lines of the current submission"):
        sign(item, SUCCESSOR, acknowledged=["client-1", "client-2", "client-9"])

    assert item.state == "submitted"
    sign(item, SUCCESSOR, acknowledged=["client-2", "client-1"])
    assert item.state == "confirmed"


def test_a_rejection_names_only_lines_of_the_submission_and_each_line_once() -> None:
    item = submitted(None, lines=LINES)

    with pytest.raises(InvalidInputError, match="client-7"):
        item.reject(by=SUCCESSOR, acting_for={SUCCESSOR}, reason="x",
                    rejected_lines=[{"id": "client-7", "reason": "?"}])
    with pytest.raises(InvalidInputError, match="both acknowledged and rejected: client-1"):
        item.reject(by=SUCCESSOR, acting_for={SUCCESSOR}, reason="x",
                    rejected_lines=[{"id": "client-1", "reason": "?"}],
                    acknowledged=["client-1"])
    assert item.state == "submitted"


def test_a_submission_records_its_lines_how_and_urgency() -> None:
    item = item_with(None)

    item.submit(by=GIVER, on_behalf=False, note="", evidence=[], lines=LINES, how=HOW,
                urgent=True)

    [(topic, payload)] = [encode_event(e) for e in item.collect_events()]
    assert topic == "ItemSubmitted"
    assert (payload["lines"], payload["how"], payload["urgent"]) == (LINES, HOW, True)
    assert (item.lines, item.submission_how, item.submission_urgent) == (LINES, HOW, True)


def test_a_plain_item_records_none_of_the_new_fields() -> None:
    item = HandoverItem(
        departure_id="7f1d9c2e-0000-4000-8000-000000000001", category="clients",
        title="Key clients", label="", acceptance_criteria="", giver_id=GIVER,
        receiver=SUCCESSOR, mandatory=True, priority="high", due_date=None,
        template_item_key=None)
    item.submit(by=GIVER, on_behalf=False, note="", evidence=[])
    item.confirm(by=SUCCESSOR, acting_for={SUCCESSOR}, note="", signature=None)

    created, submitted_, confirmed = [encode_event(e)[1] for e in item.collect_events()]

    assert not {"signers", "signers_in_order"} & set(created)
    assert not {"lines", "how", "urgent"} & set(submitted_)
    assert not {"signer", "acknowledged", "how"} & set(confirmed)


def test_a_department_queue_gives_and_anyone_working_it_submits() -> None:
    item = item_with(None, giver="dept:finance", receiver=GIVER)

    with pytest.raises(NotGiverError):
        item.submit(by="it-qian", on_behalf=False, note="", evidence=[],
                    acting_for={"it-qian", "dept:it"})
    item.submit(by="fin-zhou", on_behalf=False, note="final settlement", evidence=[],
                acting_for={"fin-zhou", "dept:finance"})
    item.confirm(by=GIVER, acting_for={GIVER}, note="acknowledged", signature=None)

    assert item.state == "confirmed"


def test_whoever_submitted_on_the_givers_behalf_cannot_sign_it() -> None:
    item = item_with([HR, SUCCESSOR])
    item.submit(by=HR, on_behalf=True, note="", evidence=[])

    with pytest.raises(NotReceiverError, match="cannot review it"):
        sign(item, HR)


def test_direct_confirmation_is_only_for_an_item_with_one_signer() -> None:
    item = HandoverItem(
        departure_id="7f1d9c2e-0000-4000-8000-000000000001", category="accounts_permissions",
        title="VPN", label="", acceptance_criteria="", giver_id=GIVER, receiver="dept:it",
        mandatory=True, priority="high", due_date=None, template_item_key=None,
        department_may_confirm_directly=True, signers=["dept:it", MANAGER])

    with pytest.raises(ItemNotSubmittedError):
        sign(item, "it-qian", {"it-qian", "dept:it"})


def test_reassigning_the_receiver_moves_its_slot() -> None:
    item = submitted([MANAGER, SUCCESSOR])

    item.reassign(by=HR, receiver="emp-other", reason="successor changed")

    assert item.signers == [MANAGER, "emp-other"]
    assert item.pending_signers() == [MANAGER, "emp-other"]


def test_the_receiver_cannot_be_reassigned_to_the_giver_or_another_signer() -> None:
    item = submitted([MANAGER, SUCCESSOR])
    finance_gives = item_with(None, giver="dept:finance", receiver=GIVER)

    with pytest.raises(InvalidTransitionError, match=f"{MANAGER} already gives or signs"):
        item.reassign(by=HR, receiver=MANAGER, reason="manager takes it")
    with pytest.raises(InvalidTransitionError, match="dept:finance already gives or signs"):
        finance_gives.reassign(by=HR, receiver="dept:finance", reason="?")


def test_sign_offs_replay_from_their_entries_to_the_same_state() -> None:
    item = HandoverItem(
        departure_id="7f1d9c2e-0000-4000-8000-000000000001", category="clients",
        title="Risks", label="风险清单", acceptance_criteria="", giver_id=GIVER,
        receiver=SUCCESSOR, mandatory=True, priority="high", due_date=None,
        template_item_key=None, signers=[MANAGER, SUCCESSOR], signers_in_order=True)
    item.submit(by=GIVER, on_behalf=False, note="", evidence=[], lines=LINES, how=HOW)
    sign(item, MANAGER, acknowledged=["client-1", "client-2"])
    uow = UnitOfWork(cast(EventStore, object()))
    uow.add(item)
    stored = uow.collect(Actor(HR, "hr"), RequestContext())

    entries = [decode_entry(e.entry, e.event_hash) for e in stored]
    rebuilt = cast(HandoverItem, replay(entries))

    assert [e.event_type for e in entries] == ["ItemCreated", "ItemSubmitted", "ItemSignedOff"]
    assert rebuilt.signoffs == item.signoffs
    assert (rebuilt.lines, rebuilt.signers_in_order) == (LINES, True)
    assert rebuilt.pending_signers() == [SUCCESSOR]


def test_the_receiver_is_not_reassigned_to_someone_who_already_signed_another_slot() -> None:
    """Else that person could neither sign the receiver's slot nor reject: stuck (review)."""
    item = submitted(["dept:finance", SUCCESSOR])
    sign(item, "fin-zhou", {"fin-zhou", "dept:finance"})

    with pytest.raises(InvalidTransitionError, match="already signed off"):
        item.reassign(by=MANAGER, receiver="fin-zhou", reason="she knows the clients")
    assert item.receiver == SUCCESSOR
