"""Starting a case: the leaver's own request (requested → accepted into the approval chain, or
declined), checklists applied while approval is pending, and the approval that follows.

Seed 001: "员工只需通过手机端提交离职申请"; "标注'紧急'…需立即交接".
"""


import pytest

from ledger.aggregates.codec import encode_event
from ledger.aggregates.departure import Departure, DepartureStateError
from ledger.canonical import JSONObject
from ledger.errors import ForbiddenError, InvalidInputError
from tests.support.timed import timeless
from tests.unit.test_departure import CHAIN, CLEARANCE_R1, HR, SALES_R1, departure_in

LEAVER: JSONObject = {"id": "emp-zhang", "name": "老张", "department": "项目点",
                      "position": "Technician"}
LETTER: JSONObject = {"sha256": "ab" * 32, "size": 1024, "name": "辞职信.pdf",
                      "media_type": "application/pdf"}


def recorded(departure: Departure) -> list[tuple[str, dict[str, object]]]:
    envelope = {"originator_id", "originator_version", "timestamp", "originator_topic"}
    return [(encode_event(e)[0], {k: v for k, v in vars(e).items() if k not in envelope})
            for e in departure.collect_events()]


def requested() -> Departure:
    return Departure.request_departure(leaver=LEAVER, reason="家庭原因",
                                       intended_last_working_day="2026-12-16", letter=LETTER,
                                       notice_date="2026-12-01")


def accept(departure: Departure, chain: list[JSONObject] | None = None,
           last_day: str = "2026-12-16") -> None:
    departure.accept_request(by=HR, role_family="technical", manager_id="mgr-wang",
                             hr_owner_id=HR, notice_date="2026-12-01",
                             last_working_day=last_day,
                             approval_chain=CHAIN if chain is None else chain,
                             successor_id="emp-li")


def test_a_request_starts_in_requested_citing_the_letter() -> None:
    departure = requested()

    assert departure.state == "requested"
    assert departure.leaver_id == "emp-zhang"
    assert departure.request is not None
    assert departure.request["letter"] == LETTER
    assert departure.request["requested_on"] == departure.notice_date == "2026-12-01"
    assert departure.manager_id == "" and departure.approval_chain == []
    assert recorded(departure) == [("DepartureRequested", {
        "leaver": LEAVER, "reason": "家庭原因", "intended_last_working_day": "2026-12-16",
        "letter": LETTER, "notice_date": "2026-12-01"})]


def test_a_request_needs_a_reason() -> None:
    with pytest.raises(InvalidInputError, match="a reason is required"):
        Departure.request_departure(leaver=LEAVER, reason=" ",
                                    intended_last_working_day="2026-12-16", letter=LETTER,
                                    notice_date="2026-12-01")


def test_a_request_replays_from_its_events_to_the_same_state() -> None:
    departure = requested()
    accept(departure)
    replayed = None
    for domain_event in departure.collect_events():
        replayed = domain_event.mutate(replayed)

    assert isinstance(replayed, Departure)
    assert (replayed.state, replayed.request, replayed.leaver, replayed.successor_id) == (
        departure.state, departure.request, departure.leaver, departure.successor_id)


def test_accepting_a_request_puts_it_into_the_approval_chain_with_what_hr_supplies() -> None:
    departure = requested()
    departure.collect_events()

    accept(departure, last_day="2026-12-20")

    assert departure.state == "pending_approval"
    assert departure.leaver["role_family"] == "technical"
    assert (departure.manager_id, departure.hr_owner_id, departure.successor_id) == (
        "mgr-wang", HR, "emp-li")
    assert (departure.notice_date, departure.last_working_day) == ("2026-12-01", "2026-12-20")
    assert recorded(departure) == [("DepartureRequestAccepted", {
        "by": HR, "role_family": "technical", "manager_id": "mgr-wang", "hr_owner_id": HR,
        "notice_date": "2026-12-01", "last_working_day": "2026-12-20", "approval_chain": CHAIN,
        "successor_id": "emp-li"})]


def test_accepting_with_an_empty_chain_approves_at_once() -> None:
    departure = requested()

    accept(departure, chain=[])

    assert departure.state == "approved"


def test_an_accepted_request_is_approved_step_by_step_like_a_started_case() -> None:
    departure = requested()
    accept(departure)

    departure.approve_step(by="mgr-wang", step=0, comment="ok")
    departure.approve_step(by="dir-chen", step=1, comment="ok")

    assert departure.state == "approved"


def test_the_leaver_cannot_accept_or_decline_their_own_request() -> None:
    departure = requested()

    with pytest.raises(ForbiddenError, match="cannot accept their own request"):
        departure.accept_request(by="emp-zhang", role_family="technical", manager_id="m",
                                 hr_owner_id=HR, notice_date="2026-12-01",
                                 last_working_day="2026-12-16", approval_chain=[],
                                 successor_id=None)
    with pytest.raises(ForbiddenError, match="cannot decline their own request"):
        departure.decline_request(by="emp-zhang", reason="changed my mind")


def test_accepting_refuses_a_last_day_before_the_notice_date() -> None:
    departure = requested()

    with pytest.raises(InvalidInputError, match="before the notice date"):
        accept(departure, last_day="2026-11-30")
    assert departure.state == "requested"


@pytest.mark.parametrize("state", ["draft", "pending_approval", "handing_over", "closed",
                                   "withdrawn"])
def test_only_a_request_can_be_accepted_or_declined(state: str) -> None:
    departure = departure_in(state)

    with pytest.raises(DepartureStateError, match=f"is {state}; needs requested"):
        accept(departure)
    with pytest.raises(DepartureStateError, match=f"is {state}; needs requested"):
        departure.decline_request(by=HR, reason="no")


def test_declining_a_request_is_final_and_records_the_reason() -> None:
    departure = requested()
    departure.collect_events()

    departure.decline_request(by=HR, reason="the letter is not signed")

    assert departure.state == "declined"
    assert timeless(departure.decline) == {"by": HR, "reason": "the letter is not signed"}
    assert recorded(departure) == [("DepartureRequestDeclined", {
        "by": HR, "reason": "the letter is not signed"})]
    with pytest.raises(DepartureStateError, match="is declined; needs requested"):
        accept(departure)
    with pytest.raises(DepartureStateError, match="is already declined"):
        departure.withdraw(by=HR, reason="again")
    with pytest.raises(DepartureStateError, match="is already declined"):
        departure.hand_over(by=HR, hr_owner_id="hr-zhou", reason="holiday")


def test_a_request_has_no_owner_to_hand_over_from_until_accepted() -> None:
    with pytest.raises(DepartureStateError, match="is requested; accept it first"):
        requested().hand_over(by=HR, hr_owner_id="hr-zhou", reason="holiday")


def test_declining_needs_a_reason() -> None:
    with pytest.raises(InvalidInputError, match="a reason is required"):
        requested().decline_request(by=HR, reason="")


# --- checklists while approval is pending ------------------------------------------------


def test_a_checklist_applied_while_approval_is_pending_leaves_it_pending() -> None:
    departure = departure_in("pending_approval")

    departure.apply_template(SALES_R1, ["item-1"])

    assert departure.state == "pending_approval"
    assert departure.item_ids == ["item-1"]
    assert departure.applied_template_keys() == {"sales"}


def test_the_approval_that_completes_the_chain_starts_the_handover_when_items_exist() -> None:
    departure = departure_in("pending_approval")
    departure.apply_template(SALES_R1, ["item-1"])

    departure.approve_step(by="mgr-wang", step=0, comment="ok")
    departure.approve_step(by="dir-chen", step=1, comment="ok")

    assert departure.state == "handing_over"
    departure.apply_template(CLEARANCE_R1, ["item-2"])
    assert departure.applied_template_keys() == {"sales", "clearance"}



def test_a_request_is_dated_by_the_organisations_day_it_is_given() -> None:
    departure = Departure.request_departure(leaver=LEAVER, reason="家庭原因",
                                            intended_last_working_day="2026-12-07",
                                            letter=LETTER, notice_date="2026-12-07")
    assert departure.notice_date == "2026-12-07"
    with pytest.raises(InvalidInputError, match="has passed"):
        Departure.request_departure(leaver=LEAVER, reason="家庭原因",
                                    intended_last_working_day="2026-12-06", letter=LETTER,
                                    notice_date="2026-12-07")


def test_access_is_frozen_only_on_a_case_hr_accepted() -> None:
    departure = requested()
    with pytest.raises(DepartureStateError, match="requested"):
        departure.freeze_access(by=HR, frozen_at="2026-12-01T00:00:00.000000Z",
                                reason="走了", item_ids=[])
    departure.decline_request(by=HR, reason="请先与经理面谈")
    with pytest.raises(DepartureStateError, match="declined"):
        departure.freeze_access(by=HR, frozen_at="2026-12-01T00:00:00.000000Z",
                                reason="走了", item_ids=[])


def test_the_leaver_withdraws_their_own_request_with_a_reason_while_it_is_requested() -> None:
    departure = requested()
    with pytest.raises(ForbiddenError, match="only the leaver"):
        departure.withdraw_request(by=HR, reason="x")
    with pytest.raises(InvalidInputError):
        departure.withdraw_request(by="emp-zhang", reason=" ")
    departure.withdraw_request(by="emp-zhang", reason="已与经理谈妥，留下")
    assert departure.state == "withdrawn"
    assert recorded(departure)[-1] == ("DepartureWithdrawn", {
        "by": "emp-zhang", "reason": "已与经理谈妥，留下", "previous_state": "requested"})
    accepted = requested()
    accept(accepted)
    with pytest.raises(DepartureStateError, match="needs requested"):
        accepted.withdraw_request(by="emp-zhang", reason="晚了")
