"""Departure state machine, approval chain, templates, reminders and the close gate.

draft → pending_approval → approved → handing_over → closed, or withdrawn from any non-final
state. The gate: close only when every mandatory item is confirmed or waived.
"""

import pytest

from ledger.aggregates.codec import encode_event
from ledger.aggregates.departure import (
    Departure,
    DepartureStateError,
    NotApproverError,
    TemplateAlreadyAppliedError,
)
from ledger.aggregates.item import ItemStatus
from ledger.canonical import JSONObject
from ledger.errors import (
    ForbiddenError,
    GateBlockedError,
    InvalidInputError,
    InvalidTransitionError,
)
from tests.support.timed import timeless

HR = "hr-li"
LEAVER: JSONObject = {
    "id": "emp-zhang", "name": "张伟", "department": "华东销售部", "position": "Sales manager",
    "role_family": "sales",
}
CHAIN: list[JSONObject] = [
    {"name": "Manager", "approver_id": "mgr-wang"},
    {"name": "Director", "approver_id": "dir-chen"},
]
SALES_R1: JSONObject = {
    "id": "0b6c1c35-8d7a-5f3e-9a51-3c1f4c1f0a01", "key": "sales", "revision": 1,
    "content_hash": "aa" * 32,
}
SALES_R2: JSONObject = {**SALES_R1, "revision": 2, "content_hash": "bb" * 32}
CLEARANCE_R1: JSONObject = {
    "id": "0b6c1c35-8d7a-5f3e-9a51-3c1f4c1f0a02", "key": "clearance", "revision": 1,
    "content_hash": "cc" * 32,
}
NON_FINAL_STATES = ("draft", "pending_approval", "approved", "handing_over")
BEFORE_APPROVAL = ("draft", "pending_approval")


def new_departure(chain: list[JSONObject] | None = None) -> Departure:
    return Departure(
        leaver=LEAVER, manager_id="mgr-wang", hr_owner_id=HR, notice_date="2025-03-01",
        last_working_day="2025-03-31", reason="resignation",
        approval_chain=CHAIN if chain is None else chain,
    )


def departure_in(state: str, item_ids: tuple[str, ...] = ("item-1", "item-2")) -> Departure:
    """Return a departure driven into ``state`` (items only from handing_over on)."""
    departure = new_departure()
    if state != "draft" and state != "withdrawn":
        departure.submit_for_approval(by=HR)
    if state in ("approved", "handing_over", "closed"):
        departure.approve_step(by="mgr-wang", step=0, comment="ok")
        departure.approve_step(by="dir-chen", step=1, comment="ok")
    if state in ("handing_over", "closed"):
        departure.apply_template(SALES_R1, list(item_ids))
    if state == "closed":
        departure.close(by=HR, items=[ItemStatus(i, i, True, "confirmed") for i in item_ids],
                        note="all done")
    if state == "withdrawn":
        departure.withdraw(by=HR, reason="opened in error")
    departure.collect_events()
    assert departure.state == state
    return departure


def recorded(departure: Departure) -> list[tuple[str, dict[str, object]]]:
    """Return (pinned topic, payload) of every pending event, collecting them."""
    envelope = {"originator_id", "originator_version", "timestamp", "originator_topic"}
    return [
        (encode_event(e)[0], {k: v for k, v in vars(e).items() if k not in envelope})
        for e in departure.collect_events()
    ]


def status(item_id: str, state: str, mandatory: bool = True) -> ItemStatus:
    return ItemStatus(item_id, f"title of {item_id}", mandatory, state)


# --- the happy path ----------------------------------------------------------------------


def test_new_departure_starts_in_draft_and_records_the_case() -> None:
    departure = new_departure()

    assert departure.state == "draft"
    assert departure.leaver_id == "emp-zhang"
    assert recorded(departure) == [("DepartureStarted", {
        "leaver": LEAVER, "manager_id": "mgr-wang", "hr_owner_id": HR,
        "notice_date": "2025-03-01", "last_working_day": "2025-03-31", "reason": "resignation",
        "approval_chain": CHAIN,
    })]


def test_goes_through_every_state_from_draft_to_closed() -> None:
    departure = new_departure()
    seen = [departure.state]

    departure.submit_for_approval(by=HR)
    seen.append(departure.state)
    departure.approve_step(by="mgr-wang", step=0, comment="同意")
    seen.append(departure.state)
    departure.approve_step(by="dir-chen", step=1, comment="同意")
    seen.append(departure.state)
    departure.apply_template(SALES_R1, ["item-1"])
    seen.append(departure.state)
    departure.close(by=HR, items=[status("item-1", "confirmed")], note="done")
    seen.append(departure.state)

    assert seen == ["draft", "pending_approval", "pending_approval", "approved",
                    "handing_over", "closed"]
    assert [topic for topic, _ in recorded(departure)] == [
        "DepartureStarted", "DepartureSubmittedForApproval", "DepartureStepApproved",
        "DepartureStepApproved", "DepartureTemplateApplied", "DepartureClosed",
    ]


def test_submitting_for_approval_records_who_sent_it() -> None:
    departure = departure_in("draft")

    departure.submit_for_approval(by=HR)

    assert departure.state == "pending_approval"
    assert departure.approved_steps == 0
    assert recorded(departure) == [("DepartureSubmittedForApproval", {"by": HR})]


def test_departure_with_an_empty_approval_chain_goes_straight_to_approved() -> None:
    departure = new_departure(chain=[])
    departure.collect_events()

    departure.submit_for_approval(by=HR)

    assert departure.state == "approved"
    assert recorded(departure) == [("DepartureSubmittedForApproval", {"by": HR})]


@pytest.mark.parametrize("state", ["pending_approval", "approved", "handing_over", "closed",
                                   "withdrawn"])
def test_refuses_to_submit_for_approval_outside_draft(state: str) -> None:
    departure = departure_in(state)

    with pytest.raises(DepartureStateError, match=f"is {state}; needs draft"):
        departure.submit_for_approval(by=HR)

    assert recorded(departure) == []


# --- the approval chain ------------------------------------------------------------------


def test_each_approval_step_is_recorded_and_the_last_one_approves() -> None:
    departure = departure_in("pending_approval")

    departure.approve_step(by="mgr-wang", step=0, comment="同意")
    assert departure.state == "pending_approval"
    assert departure.approved_steps == 1
    departure.approve_step(by="dir-chen", step=1, comment="ok")

    assert departure.state == "approved"
    assert departure.approved_steps == 2
    assert recorded(departure) == [
        ("DepartureStepApproved", {"by": "mgr-wang", "step": 0, "comment": "同意"}),
        ("DepartureStepApproved", {"by": "dir-chen", "step": 1, "comment": "ok"}),
    ]


@pytest.mark.parametrize("by", ["dir-chen", HR, "emp-zhang"])
def test_refuses_approval_by_anyone_but_the_current_steps_approver(by: str) -> None:
    departure = departure_in("pending_approval")

    with pytest.raises(NotApproverError, match=f"step 0 is for mgr-wang, not {by}"):
        departure.approve_step(by=by, step=0, comment="")

    assert issubclass(NotApproverError, ForbiddenError)
    assert departure.approved_steps == 0
    assert recorded(departure) == []


def test_later_approver_cannot_decide_before_their_step_is_current() -> None:
    departure = departure_in("pending_approval")

    with pytest.raises(DepartureStateError, match=r"step 1 is not the current approval step \(0\)"):
        departure.approve_step(by="dir-chen", step=1, comment="")

    assert recorded(departure) == []


@pytest.mark.parametrize("step", [-1, 0, 2, 7])
def test_refuses_approval_with_a_step_index_other_than_the_current_one(step: int) -> None:
    departure = departure_in("pending_approval")
    departure.approve_step(by="mgr-wang", step=0, comment="")
    departure.collect_events()

    with pytest.raises(DepartureStateError,
                       match=rf"step {step} is not the current approval step \(1\)"):
        departure.approve_step(by="mgr-wang", step=step, comment="")

    assert departure.approved_steps == 1


@pytest.mark.parametrize("state", ["draft", "approved", "handing_over", "closed", "withdrawn"])
def test_refuses_approval_decisions_outside_pending_approval(state: str) -> None:
    departure = departure_in(state)

    with pytest.raises(DepartureStateError, match=f"is {state}; needs pending_approval"):
        departure.approve_step(by="mgr-wang", step=0, comment="")
    with pytest.raises(DepartureStateError, match=f"is {state}; needs pending_approval"):
        departure.reject_step(by="mgr-wang", step=0, reason="no")


def test_rejecting_a_step_returns_to_draft_and_resets_the_steps() -> None:
    departure = departure_in("pending_approval")
    departure.approve_step(by="mgr-wang", step=0, comment="")
    departure.collect_events()

    departure.reject_step(by="dir-chen", step=1, reason="last working day is wrong")

    assert departure.state == "draft"
    assert departure.approved_steps == 0
    assert recorded(departure) == [("DepartureStepRejected", {
        "by": "dir-chen", "step": 1, "reason": "last working day is wrong",
    })]


def test_after_a_rejection_the_chain_starts_again_from_the_first_step() -> None:
    departure = departure_in("pending_approval")
    departure.approve_step(by="mgr-wang", step=0, comment="")
    departure.reject_step(by="dir-chen", step=1, reason="fix the date")
    departure.submit_for_approval(by=HR)

    with pytest.raises(DepartureStateError, match="step 1 is not the current approval step"):
        departure.approve_step(by="dir-chen", step=1, comment="")
    departure.approve_step(by="mgr-wang", step=0, comment="")
    departure.approve_step(by="dir-chen", step=1, comment="")

    assert departure.state == "approved"


def test_refuses_rejection_by_anyone_but_the_current_steps_approver() -> None:
    departure = departure_in("pending_approval")

    with pytest.raises(NotApproverError, match="step 0 is for mgr-wang, not dir-chen"):
        departure.reject_step(by="dir-chen", step=0, reason="no")

    assert departure.state == "pending_approval"


@pytest.mark.parametrize("reason", ["", "  \n"])
def test_rejecting_a_step_needs_a_non_blank_reason(reason: str) -> None:
    departure = departure_in("pending_approval")

    with pytest.raises(InvalidInputError, match="a reason is required"):
        departure.reject_step(by="mgr-wang", step=0, reason=reason)

    assert departure.state == "pending_approval"


# --- withdrawal --------------------------------------------------------------------------


@pytest.mark.parametrize("state", NON_FINAL_STATES)
def test_withdraws_from_every_non_final_state(state: str) -> None:
    departure = departure_in(state)

    departure.withdraw(by=HR, reason="the employee decided to stay")

    assert departure.state == "withdrawn"
    assert recorded(departure) == [("DepartureWithdrawn", {
        "by": HR, "reason": "the employee decided to stay", "previous_state": state,
    })]


@pytest.mark.parametrize("state", ["closed", "withdrawn"])
def test_refuses_to_withdraw_a_closed_or_withdrawn_departure(state: str) -> None:
    departure = departure_in(state)

    with pytest.raises(DepartureStateError, match=f"is already {state}"):
        departure.withdraw(by=HR, reason="again")

    assert departure.state == state
    assert recorded(departure) == []


def test_withdrawing_needs_a_non_blank_reason() -> None:
    departure = departure_in("draft")

    with pytest.raises(InvalidInputError, match="a reason is required"):
        departure.withdraw(by=HR, reason=" ")


# --- templates and items -----------------------------------------------------------------


def test_applying_a_template_records_its_reference_and_items_and_starts_the_handover() -> None:
    departure = departure_in("approved")

    departure.apply_template(SALES_R1, ["item-1", "item-2"])

    assert departure.state == "handing_over"
    assert departure.templates == [SALES_R1]
    assert departure.item_ids == ["item-1", "item-2"]
    assert recorded(departure) == [("DepartureTemplateApplied", {
        "template": SALES_R1, "item_ids": ["item-1", "item-2"],
    })]


def test_applying_another_template_adds_its_items() -> None:
    departure = departure_in("handing_over")

    departure.apply_template(CLEARANCE_R1, ["item-3"])

    assert departure.templates == [SALES_R1, CLEARANCE_R1]
    assert departure.item_ids == ["item-1", "item-2", "item-3"]


def test_refuses_to_apply_the_same_template_revision_twice() -> None:
    departure = departure_in("handing_over")

    with pytest.raises(TemplateAlreadyAppliedError, match="template sales r1 is already applied"):
        departure.apply_template(dict(SALES_R1), ["item-9"])

    assert departure.item_ids == ["item-1", "item-2"]
    assert recorded(departure) == []


def test_a_new_revision_of_an_applied_template_may_be_applied() -> None:
    departure = departure_in("handing_over")

    departure.apply_template(SALES_R2, ["item-3"])

    assert departure.templates == [SALES_R1, SALES_R2]


def test_a_checklist_the_approval_skipped_is_pending_until_a_revision_of_it_is_applied() -> None:
    departure = departure_in("approved")

    departure.skip_checklist(by="dir-chen", key="sales", reason="needs a successor")
    departure.skip_checklist(by="dir-chen", key="clearance", reason="refused")

    assert departure.checklists_skipped == {"sales": "needs a successor", "clearance": "refused"}
    assert recorded(departure)[0] == ("DepartureChecklistSkipped", {
        "by": "dir-chen", "key": "sales", "reason": "needs a successor"})
    departure.apply_template(SALES_R2, ["item-1"])
    assert departure.checklists_skipped == {"clearance": "refused"}


@pytest.mark.parametrize("state", ["draft", "pending_approval", "closed", "withdrawn"])
def test_a_checklist_is_skipped_only_while_the_case_is_worked(state: str) -> None:
    departure = departure_in(state)

    with pytest.raises(InvalidTransitionError):
        departure.skip_checklist(by=HR, key="sales", reason="needs a successor")

    assert recorded(departure) == []


# A checklist may be applied while approval is pending (its urgent items are worked at once):
# tests/unit/test_case_start.py.
@pytest.mark.parametrize("state", ["draft", "closed", "withdrawn"])
def test_refuses_to_apply_a_template_unless_pending_approval_approved_or_handing_over(
        state: str) -> None:
    departure = departure_in(state)

    with pytest.raises(DepartureStateError, match=f"is {state}; needs approved or handing_over"):
        departure.apply_template(CLEARANCE_R1, ["item-9"])

    assert recorded(departure) == []


@pytest.mark.parametrize("state", [*BEFORE_APPROVAL, "closed", "withdrawn"])
def test_refuses_to_add_an_item_unless_approved_or_handing_over(state: str) -> None:
    departure = departure_in(state)

    with pytest.raises(DepartureStateError, match=f"is {state}; needs approved or handing_over"):
        departure.add_item("item-9")

    assert recorded(departure) == []


@pytest.mark.parametrize("state", ["approved", "handing_over"])
def test_adding_an_ad_hoc_item_records_it_and_the_handover_is_under_way(state: str) -> None:
    departure = departure_in(state)
    before = list(departure.item_ids)

    departure.add_item("item-9")

    assert departure.state == "handing_over"
    assert departure.item_ids == [*before, "item-9"]
    assert recorded(departure) == [("DepartureItemAdded", {"item_id": "item-9"})]


# --- reminders ---------------------------------------------------------------------------


def test_reminders_and_escalations_are_recorded_as_proof_of_chasing() -> None:
    departure = departure_in("handing_over")

    departure.send_reminder(by=HR, to="emp-zhang", item_ids=["item-2"], channel="dingtalk",
                            escalation=False, message="请尽快提交客户清单")
    departure.send_reminder(by=HR, to="mgr-wang", item_ids=["item-1", "item-2"],
                            channel="email", escalation=True, message="overdue")

    assert departure.reminders == 2
    assert recorded(departure) == [
        ("DepartureReminderSent", {"by": HR, "to": "emp-zhang", "item_ids": ["item-2"],
                                   "channel": "dingtalk", "escalation": False,
                                   "message": "请尽快提交客户清单", "rule": None}),
        ("DepartureReminderSent", {"by": HR, "to": "mgr-wang", "item_ids": ["item-1", "item-2"],
                                   "channel": "email", "escalation": True,
                                   "message": "overdue", "rule": None}),
    ]


def test_reminders_reject_item_ids_that_are_not_in_the_departure() -> None:
    departure = departure_in("handing_over")

    with pytest.raises(InvalidInputError,
                       match=r"items not in this departure: \['item-7', 'item-8'\]") as caught:
        departure.send_reminder(by=HR, to="emp-zhang", item_ids=["item-8", "item-1", "item-7"],
                                channel="email", escalation=False, message="")

    assert caught.value.field == "item_ids"
    assert departure.reminders == 0
    assert recorded(departure) == []


@pytest.mark.parametrize("state", [*BEFORE_APPROVAL, "closed", "withdrawn"])
def test_refuses_reminders_outside_the_handover(state: str) -> None:
    departure = departure_in(state)

    with pytest.raises(DepartureStateError, match="needs approved or handing_over"):
        departure.send_reminder(by=HR, to="emp-zhang", item_ids=[], channel="email",
                                escalation=False, message="")


# --- the close gate ----------------------------------------------------------------------


def test_close_is_blocked_listing_exactly_the_blocking_mandatory_items() -> None:
    ids = ("m-open", "m-submitted", "m-rejected", "m-confirmed", "m-waived", "o-open",
           "o-rejected")
    departure = departure_in("handing_over", item_ids=ids)
    statuses = [
        status("m-open", "open"), status("m-submitted", "submitted"),
        status("m-rejected", "rejected"), status("m-confirmed", "confirmed"),
        status("m-waived", "waived"), status("o-open", "open", mandatory=False),
        status("o-rejected", "rejected", mandatory=False),
    ]

    with pytest.raises(GateBlockedError,
                       match=r"3 mandatory item\(s\) not confirmed or waived") as caught:
        departure.close(by=HR, items=statuses, note="")

    assert caught.value.blocking == ["m-open", "m-submitted", "m-rejected"]
    assert departure.state == "handing_over"
    assert departure.closure is None
    assert recorded(departure) == []


@pytest.mark.parametrize("blocking_state", ["open", "submitted", "rejected"])
def test_one_mandatory_item_that_is_not_done_blocks_the_close(blocking_state: str) -> None:
    departure = departure_in("handing_over", item_ids=("item-1", "item-2"))

    with pytest.raises(GateBlockedError, match=r"^1 mandatory item\(s\)") as caught:
        departure.close(by=HR, items=[status("item-1", "confirmed"),
                                      status("item-2", blocking_state)], note="")

    assert caught.value.blocking == ["item-2"]
    assert isinstance(caught.value, InvalidTransitionError)


def test_closes_when_every_mandatory_item_is_done_even_with_optional_items_open() -> None:
    ids = ("m-1", "m-2", "m-3", "o-1", "o-2", "o-3")
    departure = departure_in("handing_over", item_ids=ids)
    statuses = [
        status("m-1", "confirmed"), status("m-2", "waived"), status("m-3", "confirmed"),
        status("o-1", "open", mandatory=False), status("o-2", "submitted", mandatory=False),
        status("o-3", "confirmed", mandatory=False),
    ]

    departure.close(by=HR, items=statuses, note="交接完成")

    assert departure.state == "closed"
    assert timeless(departure.closure) == {"by": HR, "confirmed": 3, "waived": 1,
                                 "severance_releasable": True}
    assert recorded(departure) == [("DepartureClosed", {
        "by": HR, "note": "交接完成", "items_total": 6, "confirmed": 3, "waived": 1,
        "optional_open": 2, "severance_releasable": True, "warnings": [],
        "confirmation_sha256": None,
    })]


def test_closes_when_every_item_is_waived() -> None:
    departure = departure_in("handing_over", item_ids=("item-1", "item-2"))

    departure.close(by=HR, items=[status("item-2", "waived"), status("item-1", "waived")],
                    note="")

    [(_, payload)] = recorded(departure)
    assert payload["waived"] == 2
    assert payload["confirmed"] == 0
    assert payload["optional_open"] == 0
    assert payload["severance_releasable"] is True


@pytest.mark.parametrize("statuses", [
    pytest.param([status("item-1", "confirmed")], id="one missing"),
    pytest.param([status("item-1", "confirmed"), status("item-2", "confirmed"),
                  status("item-3", "confirmed")], id="one extra"),
    pytest.param([status("item-1", "confirmed"), status("item-x", "confirmed")],
                 id="one different"),
    pytest.param([status("item-1", "confirmed"), status("item-1", "confirmed")],
                 id="one duplicated"),
    pytest.param([], id="none"),
])
def test_refuses_item_statuses_that_do_not_match_the_departures_items(
    statuses: list[ItemStatus],
) -> None:
    departure = departure_in("handing_over", item_ids=("item-1", "item-2"))

    with pytest.raises(InvalidTransitionError,
                       match="item statuses do not match this departure's items") as caught:
        departure.close(by=HR, items=statuses, note="")

    assert not isinstance(caught.value, GateBlockedError)
    assert departure.state == "handing_over"
    assert recorded(departure) == []


def test_refuses_to_close_a_departure_twice() -> None:
    departure = departure_in("closed", item_ids=("item-1",))

    with pytest.raises(DepartureStateError, match="is closed; needs handing_over"):
        departure.close(by=HR, items=[status("item-1", "confirmed")], note="again")

    assert recorded(departure) == []


@pytest.mark.parametrize("state", [*BEFORE_APPROVAL, "withdrawn"])
def test_refuses_to_close_before_approval_or_after_withdrawal(state: str) -> None:
    departure = departure_in(state)

    with pytest.raises(DepartureStateError, match=f"is {state}; needs handing_over"):
        departure.close(by=HR, items=[], note="")


@pytest.mark.parametrize("state", ["draft", "pending_approval", "approved", "handing_over"])
def test_the_hr_owner_hands_the_case_over_and_the_event_names_both_owners(state: str) -> None:
    departure = departure_in(state)

    departure.hand_over(by=HR, hr_owner_id="hr-zhou", reason="HR-Li is on leave")

    assert departure.hr_owner_id == "hr-zhou"
    assert recorded(departure) == [("DepartureHandedOver", {
        "by": HR, "previous_hr_owner_id": HR, "hr_owner_id": "hr-zhou",
        "reason": "HR-Li is on leave"})]


@pytest.mark.parametrize("state", ["closed", "withdrawn"])
def test_refuses_to_hand_over_a_final_case(state: str) -> None:
    departure = departure_in(state)

    with pytest.raises(DepartureStateError):
        departure.hand_over(by=HR, hr_owner_id="hr-zhou", reason="late")
    assert recorded(departure) == []


def test_refuses_to_hand_a_case_to_its_owner_or_its_leaver_or_without_a_reason() -> None:
    departure = departure_in("handing_over")

    with pytest.raises(InvalidTransitionError, match="already owned"):
        departure.hand_over(by=HR, hr_owner_id=HR, reason="again")
    with pytest.raises(InvalidInputError, match="leaver"):
        departure.hand_over(by=HR, hr_owner_id=str(LEAVER["id"]), reason="self")
    with pytest.raises(InvalidInputError):
        departure.hand_over(by=HR, hr_owner_id="hr-zhou", reason=" ")
    assert recorded(departure) == []
