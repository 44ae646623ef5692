"""Issue 9 on the HandoverItem aggregate: items required first (004: "方能进入下一环"), the
receiver's deadline and its escalation (002: "接收方需在3个工作日内确认"), and questions that
their addressee answers (003: "老刘需要在离职前完成所有问题的解答")."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import cast

import pytest

from ledger.aggregates.codec import encode_event, replay
from ledger.aggregates.departure import Departure
from ledger.aggregates.dependency import (
    NotOverdueError,
    PrerequisitesNotDoneError,
    QuestionStateError,
    find_cycle,
)
from ledger.aggregates.item import HandoverItem, ItemStatus
from ledger.entry import Entry, decode_entry, encode_entry
from ledger.errors import ForbiddenError, InvalidInputError, InvalidTransitionError

GIVER = "emp-leaver"
RECEIVER = "emp-successor"
LAPTOP = "0f0e0d0c-0000-4000-8000-000000000001"
BACKUP = "0f0e0d0c-0000-4000-8000-000000000002"


def wipe_item(requires: list[str] | None = None, days: int | None = None) -> HandoverItem:
    """The clearance's device wipe, which needs the laptop review (and the backup) first."""
    item = HandoverItem(
        departure_id="7f1d9c2e-0000-4000-8000-000000000001", category="assets",
        title="Wipe the laptop", label="擦除笔记本", acceptance_criteria="after the review",
        giver_id=GIVER, receiver=RECEIVER, mandatory=True, priority="high", due_date=None,
        template_item_key="device-wipe", requires=requires,
        confirm_within_working_days=days, escalate_to="manager" if days else None)
    item.collect_events()
    return item


def payloads(item: HandoverItem) -> list[tuple[str, dict[str, object]]]:
    envelope = {"originator_id", "originator_version", "timestamp", "originator_topic"}
    return [(encode_event(e)[0], {k: v for k, v in vars(e).items() if k not in envelope})
            for e in item.collect_events()]


def submit(item: HandoverItem, states: dict[str, str] | None = None,
           confirm_by: str | None = None) -> None:
    item.submit(by=GIVER, on_behalf=False, note="", evidence=[], prerequisites=states,
                confirm_by=confirm_by)


# --- dependencies ------------------------------------------------------------------------------

@pytest.mark.parametrize("state", ["open", "submitted", "rejected"])
def test_an_item_cannot_be_submitted_while_a_required_item_is_not_done(state: str) -> None:
    item = wipe_item([LAPTOP, BACKUP])

    with pytest.raises(PrerequisitesNotDoneError, match=f"{LAPTOP} \\({state}\\)"):
        submit(item, {LAPTOP: state, BACKUP: "confirmed"})
    assert item.state == "open"
    assert item.pending_events == []


def test_an_item_is_submitted_once_every_required_item_is_confirmed_or_waived() -> None:
    item = wipe_item([LAPTOP, BACKUP])

    submit(item, {LAPTOP: "confirmed", BACKUP: "waived"})

    assert item.state == "submitted"


def test_states_that_were_never_looked_up_count_as_not_done() -> None:
    # A use case that forgets to read the required items cannot slip past the rule.
    item = wipe_item([LAPTOP])

    with pytest.raises(PrerequisitesNotDoneError, match="unknown"):
        submit(item)


def test_an_item_without_requirements_needs_no_states() -> None:
    item = wipe_item()

    submit(item)

    assert item.state == "submitted"


def test_confirming_also_waits_for_the_required_items() -> None:
    item = wipe_item([LAPTOP])
    submit(item, {LAPTOP: "confirmed"})

    with pytest.raises(PrerequisitesNotDoneError):
        item.confirm(by=RECEIVER, acting_for={RECEIVER}, note="", signature=None,
                     prerequisites={LAPTOP: "submitted"})
    item.confirm(by=RECEIVER, acting_for={RECEIVER}, note="", signature=None,
                 prerequisites={LAPTOP: "confirmed"})

    assert item.state == "confirmed"


def test_a_system_report_on_an_item_with_open_requirements_is_recorded_not_submitted() -> None:
    item = HandoverItem(
        departure_id="d", category="accounts_permissions", title="Disable accounts", label="",
        acceptance_criteria="", giver_id=GIVER, receiver="dept:it", mandatory=True,
        priority="high", due_date=None, template_item_key="it-revoke",
        satisfied_by=[{"source_role": "system", "kind": "account_disabled"}],
        requires=[LAPTOP])
    item.collect_events()

    item.record_external_evidence(by="iam", role="system", source="IAM",
                                  kind="account_disabled", reference="", details={},
                                  prerequisites={LAPTOP: "open"})
    assert item.state == "open"
    item.record_external_evidence(by="iam", role="system", source="IAM",
                                  kind="account_disabled", reference="", details={},
                                  prerequisites={LAPTOP: "confirmed"})
    assert item.state == "submitted"


def test_waiving_is_never_held_back_by_requirements() -> None:
    item = wipe_item([LAPTOP])

    item.waive(by="hr", reason="no laptop was issued")

    assert item.state == "waived"


def test_a_cycle_is_found_and_named_along_its_path() -> None:
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["a"]}) == ["a", "a"]
    assert find_cycle({"a": ["b", "elsewhere"], "b": [], "c": ["a", "b"]}) is None


# --- deadlines and escalation ------------------------------------------------------------------

def test_a_submission_records_the_date_its_receiver_must_confirm_by() -> None:
    item = wipe_item(days=3)

    submit(item, confirm_by="2025-10-11")

    assert item.confirm_by == "2025-10-11"
    assert payloads(item)[0][1]["confirm_by"] == "2025-10-11"


def test_an_item_without_a_confirmation_period_records_no_deadline() -> None:
    item = wipe_item()

    submit(item, confirm_by="2025-10-11")

    assert item.confirm_by is None


def test_an_overdue_confirmation_is_escalated_once_per_submission() -> None:
    item = wipe_item(days=3)
    submit(item, confirm_by="2025-10-11")

    with pytest.raises(NotOverdueError, match="until 2025-10-11"):
        item.escalate_confirmation(by="hr", today="2025-10-11", to="mgr", channel="email",
                                   message="")
    item.escalate_confirmation(by="hr", today="2025-10-13", to="mgr", channel="email",
                               message="三个工作日已过")
    with pytest.raises(NotOverdueError, match="already escalated"):
        item.escalate_confirmation(by="hr", today="2025-10-14", to="mgr", channel="email",
                                   message="")

    assert payloads(item)[-1] == ("ItemConfirmationEscalated", {
        "by": "hr", "to": "mgr", "receiver": RECEIVER, "submission": 1,
        "confirm_by": "2025-10-11", "overdue_on": "2025-10-13", "channel": "email",
        "message": "三个工作日已过"})


def test_a_resubmission_has_its_own_deadline_and_may_be_escalated_again() -> None:
    item = wipe_item(days=3)
    submit(item, confirm_by="2025-10-11")
    item.escalate_confirmation(by="hr", today="2025-10-13", to="mgr", channel="email",
                               message="")
    item.reject(by=RECEIVER, acting_for={RECEIVER}, reason="the backup is missing")
    submit(item, confirm_by="2025-10-16")

    with pytest.raises(NotOverdueError):
        item.escalate_confirmation(by="hr", today="2025-10-16", to="mgr", channel="email",
                                   message="")
    item.escalate_confirmation(by="hr", today="2025-10-17", to="mgr", channel="email",
                               message="")

    assert item.escalated_submission == 2


@pytest.mark.parametrize("state", ["open", "rejected", "confirmed", "waived"])
def test_only_a_submitted_item_with_a_deadline_can_be_escalated(state: str) -> None:
    item = wipe_item(days=3)
    if state != "open":
        submit(item, confirm_by="2025-10-11")
    if state == "rejected":
        item.reject(by=RECEIVER, acting_for={RECEIVER}, reason="no")
    if state == "confirmed":
        item.confirm(by=RECEIVER, acting_for={RECEIVER}, note="", signature=None)
    if state == "waived":
        item.waive(by="hr", reason="gone")

    with pytest.raises(NotOverdueError, match="awaits no confirmation"):
        item.escalate_confirmation(by="hr", today="2026-01-01", to="mgr", channel="email",
                                   message="")


# --- questions ---------------------------------------------------------------------------------

def test_a_question_is_answered_by_its_addressee_only_once() -> None:
    item = wipe_item()

    question_id = item.ask(by="hr", to=GIVER, text="备份在哪里?")
    with pytest.raises(ForbiddenError, match=f"addressed to {GIVER}"):
        item.answer(by=RECEIVER, acting_for={RECEIVER}, question_id=question_id, text="?")
    assert item.unanswered_questions() == [
        {"item_id": str(item.id), "question_id": "1", "by": "hr", "to": GIVER}]
    item.answer(by=GIVER, acting_for={GIVER}, question_id=question_id, text="NAS /backup")
    with pytest.raises(QuestionStateError, match="answered already"):
        item.answer(by=GIVER, acting_for={GIVER}, question_id=question_id, text="again")

    assert item.unanswered_questions() == []
    assert item.questions["1"]["answer"] == "NAS /backup"
    assert [t for t, _ in payloads(item)] == ["ItemQuestionAsked", "ItemQuestionAnswered"]


def test_a_question_to_a_department_queue_is_answered_by_whoever_works_it() -> None:
    item = wipe_item()
    item.ask(by=GIVER, to="dept:it", text="wipe or keep the image?")

    item.answer(by="it-qian", acting_for={"it-qian", "dept:it"}, question_id="1", text="wipe")

    assert item.questions["1"]["answered_by"] == "it-qian"


def test_nobody_asks_themself_and_unknown_questions_are_refused() -> None:
    item = wipe_item()

    with pytest.raises(InvalidInputError):
        item.ask(by=GIVER, to=GIVER, text="?")
    with pytest.raises(QuestionStateError, match="no question 7"):
        item.answer(by=GIVER, acting_for={GIVER}, question_id="7", text="!")


def test_questions_may_be_asked_of_an_item_in_any_state() -> None:
    item = wipe_item()
    item.waive(by="hr", reason="no laptop")

    assert item.ask(by="hr", to=GIVER, text="really no laptop?") == "1"
    assert item.ask(by="hr", to=RECEIVER, text="confirm?") == "2"


def test_unanswered_questions_are_recorded_as_warnings_and_never_block_the_close() -> None:
    departure = Departure(leaver={"id": GIVER}, manager_id="mgr", hr_owner_id="hr",
                          notice_date="2025-09-01", last_working_day="2025-09-30",
                          reason="resigned", approval_chain=[])
    departure.submit_for_approval(by="hr")
    departure.add_item(LAPTOP)
    warning = {"item_id": LAPTOP, "question_id": "1", "by": "hr", "to": GIVER}

    departure.close(by="hr", items=[ItemStatus(LAPTOP, "laptop", True, "confirmed")],
                    note="", warnings=[warning])

    assert departure.state == "closed"
    assert departure.close_warnings == [warning]
    assert vars(departure.collect_events()[-1])["warnings"] == [warning]


def test_a_key_no_item_held_is_linked_once_a_later_checklist_holds_it() -> None:
    item = HandoverItem(
        departure_id="d", category="assets", title="Wipe", label="", acceptance_criteria="",
        giver_id=GIVER, receiver="dept:it", mandatory=True, priority="high", due_date=None,
        template_item_key="device-wipe", requires=[BACKUP],
        unresolved_requires=["laptop-review", "phone-review"])
    item.collect_events()

    item.link_requirements({"laptop-review": [LAPTOP], "unrelated": ["x"]})

    assert item.requires == [BACKUP, LAPTOP]
    assert item.unresolved_requires == ["phone-review"]
    assert payloads(item) == [("ItemRequirementsLinked", {
        "keys": ["laptop-review"], "item_ids": [LAPTOP]})]
    with pytest.raises(InvalidTransitionError, match="requires none of"):
        item.link_requirements({"unrelated": ["x"]})


# --- replay --------------------------------------------------------------------------------------

def entry_of(event_type: str, payload: dict[str, object], version: int,
             stream_id: uuid.UUID, stream_type: str = "item",
             recorded_at: dt.datetime | None = None) -> Entry:
    raw, event_hash = encode_entry(
        event_id=uuid.uuid4(), stream_type=stream_type, stream_id=stream_id, version=version,
        event_type=event_type, recorded_at=recorded_at or dt.datetime.now(dt.UTC), actor={},
        context={},
        payload=payload, prev=None if version == 1 else bytes(32))
    return decode_entry(raw, event_hash)


def test_every_new_event_survives_encoding_and_replays_to_the_same_state() -> None:
    item = HandoverItem(
        departure_id="d", category="assets", title="Wipe", label="", acceptance_criteria="",
        giver_id=GIVER, receiver=RECEIVER, mandatory=True, priority="high", due_date=None,
        template_item_key="device-wipe", requires=[BACKUP], unresolved_requires=["review"],
        confirm_within_working_days=3, escalate_to="manager")
    item.link_requirements({"review": [LAPTOP]})
    item.ask(by="hr", to=GIVER, text="where?")
    item.answer(by=GIVER, acting_for={GIVER}, question_id="1", text="here")
    submit(item, {BACKUP: "confirmed", LAPTOP: "waived"}, confirm_by="2025-10-11")
    item.escalate_confirmation(by="hr", today="2025-10-12", to="mgr", channel="email",
                               message="")
    entries = [entry_of(*encode_event(e), version=e.originator_version, stream_id=item.id,
                        recorded_at=e.timestamp) for e in item.collect_events()]

    rebuilt = cast(HandoverItem, replay(entries))

    assert {k: v for k, v in vars(rebuilt).items() if k != "_pending_events"} == {
        k: v for k, v in vars(item).items() if k != "_pending_events"}


def test_entries_stored_before_issue_9_still_replay() -> None:
    stream_id = uuid.uuid4()
    created = {"departure_id": "d", "category": "assets", "title": "t", "label": "",
               "acceptance_criteria": "", "giver_id": GIVER, "receiver": RECEIVER,
               "mandatory": True, "priority": "normal", "due_date": None,
               "template_item_key": None}
    item = cast(HandoverItem, replay([
        entry_of("ItemCreated", created, 1, stream_id),
        entry_of("ItemSubmitted", {"by": GIVER, "on_behalf": False, "note": "",
                                   "evidence": [], "submission": 1}, 2, stream_id)]))
    assert (item.state, item.requires, item.confirm_by, item.questions) == (
        "submitted", [], None, {})
    departure_id = uuid.uuid4()
    departure = cast(Departure, replay([
        entry_of("DepartureStarted", {
            "leaver": {"id": GIVER}, "manager_id": "m", "hr_owner_id": "hr",
            "notice_date": "2025-09-01", "last_working_day": "2025-09-30", "reason": "r",
            "approval_chain": []}, 1, departure_id, "departure"),
        entry_of("DepartureClosed", {
            "by": "hr", "note": "", "items_total": 0, "confirmed": 0, "waived": 0,
            "optional_open": 0, "severance_releasable": True}, 2, departure_id,
            "departure")]))
    assert (departure.state, departure.close_warnings) == ("closed", [])


def test_a_required_checklist_line_not_yet_applied_counts_as_pending() -> None:
    item = HandoverItem(
        departure_id="d", category="assets", title="wipe", label="", acceptance_criteria="",
        giver_id=GIVER, receiver="dept:it", mandatory=True, priority="high", due_date=None,
        template_item_key="device-wipe", unresolved_requires=["laptop-review"])

    with pytest.raises(PrerequisitesNotDoneError,
                       match="requires checklist line laptop-review, not yet applied"):
        item.submit(by=GIVER, on_behalf=False, note="", evidence=[], prerequisites={})
    assert not item.prerequisites_done({})
