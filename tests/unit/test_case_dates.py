"""Dates and facts the handover never gates: a moved last working day (the checklist items'
due dates follow, on the items), the day the person left, the contract's termination, and
frozen access (the IT clearance items fall due now).

Seed 001: "未及时解除劳动合同"; "暂时冻结了老张的系统权限". Wages and the termination certificate
are never blocked (Labour Contract Law Art. 50).
"""

import pytest

from ledger.aggregates.departure import Departure, DepartureStateError
from ledger.aggregates.item import HandoverItem, ItemAlreadyDoneError
from ledger.errors import InvalidInputError, InvalidTransitionError
from tests.support.timed import timeless
from tests.unit.test_case_start import accept, recorded, requested
from tests.unit.test_departure import HR, departure_in

DOC = {"sha256": "cd" * 32, "size": 2048, "name": "解除劳动合同证明.pdf",
       "media_type": "application/pdf"}
FROZEN_AT = "2026-12-02T01:30:00.000000Z"


def item(template_item_key: str | None = "it-revoke-email", urgent: bool = False) -> HandoverItem:
    new = HandoverItem(departure_id="d-1", category="accounts_permissions", title="Email",
                       label="邮箱", acceptance_criteria="", giver_id="emp-zhang",
                       receiver="dept:it", mandatory=True, priority="high",
                       due_date="2025-03-31", template_item_key=template_item_key,
                       urgent=urgent)
    new.collect_events()
    return new


# --- the last working day ----------------------------------------------------------------


@pytest.mark.parametrize("state", ["draft", "pending_approval", "approved", "handing_over"])
def test_hr_moves_the_last_working_day_with_a_reason(state: str) -> None:
    departure = departure_in(state)

    departure.change_last_working_day(by=HR, last_working_day="2025-04-07",
                                      reason="老张 comes back next week", item_ids=["item-1"])

    assert departure.last_working_day == "2025-04-07"
    assert timeless(departure.last_working_day_changes) == [{
        "by": HR, "previous": "2025-03-31", "last_working_day": "2025-04-07",
        "reason": "老张 comes back next week"}]
    assert recorded(departure) == [("DepartureLastWorkingDayChanged", {
        "by": HR, "previous": "2025-03-31", "last_working_day": "2025-04-07",
        "reason": "老张 comes back next week", "item_ids": ["item-1"]})]


def test_moving_the_last_working_day_refuses_the_same_day_a_day_before_notice_or_no_reason(
) -> None:
    departure = departure_in("handing_over")

    with pytest.raises(InvalidTransitionError, match="already 2025-03-31"):
        departure.change_last_working_day(by=HR, last_working_day="2025-03-31", reason="x",
                                          item_ids=[])
    with pytest.raises(InvalidInputError, match="before the notice date"):
        departure.change_last_working_day(by=HR, last_working_day="2025-02-01", reason="x",
                                          item_ids=[])
    with pytest.raises(InvalidInputError, match="a reason is required"):
        departure.change_last_working_day(by=HR, last_working_day="2025-04-01", reason=" ",
                                          item_ids=[])


@pytest.mark.parametrize("state", ["closed", "withdrawn"])
def test_a_final_case_keeps_its_last_working_day(state: str) -> None:
    with pytest.raises(DepartureStateError, match=f"is {state}"):
        departure_in(state).change_last_working_day(by=HR, last_working_day="2025-04-07",
                                                     reason="late", item_ids=[])


def test_a_checklist_item_due_date_follows_the_last_day_and_says_why() -> None:
    it = item()

    it.change_due_date(by=HR, due_date="2025-04-07", reason="moved", cause="last_working_day",
                       urgent=False)

    assert (it.due_date, it.due_follows_last_day, it.urgent) == ("2025-04-07", True, False)
    assert [(type(e).TOPIC, e.previous_due_date, e.due_date, e.cause)  # type: ignore[attr-defined]
            for e in it.collect_events()] == [
        ("ItemDueDateChanged", "2025-03-31", "2025-04-07", "last_working_day")]


def test_an_ad_hoc_item_does_not_follow_the_last_day() -> None:
    assert not item(template_item_key=None).due_follows_last_day
    assert item().due_follows_last_day


def test_a_done_item_keeps_its_due_date() -> None:
    it = item()
    it.waive(by=HR, reason="not needed")

    with pytest.raises(ItemAlreadyDoneError):
        it.change_due_date(by=HR, due_date="2025-04-07", reason="moved",
                           cause="last_working_day", urgent=False)


# --- left, contract terminated: never gated ------------------------------------------------


@pytest.mark.parametrize("state", ["draft", "pending_approval", "handing_over", "closed"])
def test_the_day_the_person_left_is_recorded_open_items_or_closed(state: str) -> None:
    departure = departure_in(state)

    departure.record_left(by=HR, left_on="2025-03-28", note="left the site")

    assert departure.left_on == "2025-03-28"
    assert recorded(departure) == [("DepartureLeft", {
        "by": HR, "left_on": "2025-03-28", "note": "left the site", "previous_left_on": None})]


def test_a_corrected_leaving_day_keeps_the_previous_one_and_refuses_the_same_day() -> None:
    departure = departure_in("handing_over")
    departure.record_left(by=HR, left_on="2025-03-28", note="")
    departure.collect_events()

    departure.record_left(by=HR, left_on="2025-03-27", note="the gate log says Thursday")

    assert recorded(departure)[0][1]["previous_left_on"] == "2025-03-28"
    with pytest.raises(InvalidTransitionError, match="already recorded as 2025-03-27"):
        departure.record_left(by=HR, left_on="2025-03-27", note="")


@pytest.mark.parametrize("state", ["withdrawn", "requested", "declined"])
def test_no_leaving_day_or_termination_for_a_case_not_accepted_or_withdrawn(state: str) -> None:
    departure = requested() if state != "withdrawn" else departure_in("withdrawn")
    if state == "declined":
        departure.decline_request(by=HR, reason="no")

    with pytest.raises(DepartureStateError, match=f"is {state}"):
        departure.record_left(by=HR, left_on="2025-03-28", note="")
    with pytest.raises(DepartureStateError, match=f"is {state}"):
        departure.record_contract_terminated(by=HR, terminated_on="2025-03-31", document=DOC,
                                             note="")


@pytest.mark.parametrize("state", ["pending_approval", "handing_over", "closed"])
def test_the_contract_termination_is_recorded_with_its_document_digest(state: str) -> None:
    departure = departure_in(state)

    departure.record_contract_terminated(by=HR, terminated_on="2025-03-31", document=DOC,
                                         note="certificate issued")

    assert timeless(departure.contract_termination) == {"by": HR, "terminated_on": "2025-03-31",
                                              "document": DOC}
    assert recorded(departure) == [("DepartureContractTerminated", {
        "by": HR, "terminated_on": "2025-03-31", "document": DOC,
        "note": "certificate issued"})]
    with pytest.raises(InvalidTransitionError, match="already recorded"):
        departure.record_contract_terminated(by=HR, terminated_on="2025-03-31", document=DOC,
                                             note="")


# --- frozen access -----------------------------------------------------------------------


@pytest.mark.parametrize("state", ["accepted", "draft", "pending_approval", "handing_over"])
def test_freezing_access_names_the_principal_for_iam(state: str) -> None:
    departure: Departure = requested() if state == "accepted" else departure_in(state)
    if state == "accepted":  # a leaver's request HR accepted (a request alone: 409)
        accept(departure)
    departure.collect_events()

    departure.freeze_access(by=HR, frozen_at=FROZEN_AT, reason="left the site abruptly",
                            item_ids=["item-1"])

    assert departure.access_frozen == {"by": HR, "principal_id": "emp-zhang",
                                       "frozen_at": FROZEN_AT,
                                       "reason": "left the site abruptly"}
    assert recorded(departure) == [("DepartureAccessFrozen", {
        "by": HR, "principal_id": "emp-zhang", "frozen_at": FROZEN_AT,
        "reason": "left the site abruptly", "item_ids": ["item-1"]})]


def test_access_is_frozen_once_with_a_reason_and_not_after_the_case_ended() -> None:
    departure = departure_in("handing_over")
    with pytest.raises(InvalidInputError, match="a reason is required"):
        departure.freeze_access(by=HR, frozen_at=FROZEN_AT, reason="", item_ids=[])
    departure.freeze_access(by=HR, frozen_at=FROZEN_AT, reason="abrupt", item_ids=[])

    with pytest.raises(InvalidTransitionError, match="already frozen"):
        departure.freeze_access(by=HR, frozen_at=FROZEN_AT, reason="again", item_ids=[])
    with pytest.raises(DepartureStateError, match="already closed"):
        departure_in("closed").freeze_access(by=HR, frozen_at=FROZEN_AT, reason="x",
                                             item_ids=[])


def test_frozen_access_makes_an_it_item_due_now_and_urgent_for_good() -> None:
    it = item()

    it.change_due_date(by=HR, due_date="2025-03-02", reason="access frozen: abrupt",
                       cause="access_frozen", urgent=True)

    assert (it.due_date, it.urgent, it.due_follows_last_day) == ("2025-03-02", True, False)
    it.change_due_date(by=HR, due_date="2025-03-09", reason="other", cause="last_working_day",
                       urgent=False)
    assert it.urgent  # once urgent, a later move does not make it wait for approval again
