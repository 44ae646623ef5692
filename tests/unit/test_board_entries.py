"""Each open item's entries per party (``ledger.projections.board_entries``): who must do
what about it now, with the moment and key queues and inboxes read them by."""

from __future__ import annotations

from ledger.projections.board_entries import (
    CLOSED,
    EntryRow,
    ItemInputs,
    case_gate,
    item_entries,
)

ITEM = ItemInputs(item_id="i1", departure_id="d1", open=1, state="open", giver_id="wang.lei",
                  receiver="dept:it", signers="dept:it zhao.min", pending_signers="",
                  questions_to="", urgent=0, due_date="2026-12-01", rejected_at=None,
                  submitted_at=None)
ACCEPTED = case_gate("handing_over", 1)
PENDING = case_gate("pending_approval", 1)


def _actions(entries: frozenset[EntryRow]) -> set[tuple[str, str, str]]:
    return {(e.party, e.action, e.since) for e in entries}


def test_an_accepted_cases_giver_submits_and_the_queue_sees_it_awaiting() -> None:
    assert _actions(item_entries(ITEM, ACCEPTED)) == {
        ("wang.lei", "submit", "2026-12-01"), ("dept:it", "awaiting_giver", "2026-12-01")}


def test_before_acceptance_only_an_urgent_item_asks_its_giver() -> None:
    assert _actions(item_entries(ITEM, PENDING)) == {
        ("dept:it", "awaiting_giver", "2026-12-01")}
    assert ("wang.lei", "submit", "2026-12-01") in _actions(
        item_entries(ITEM._replace(urgent=1), PENDING))


def test_pending_signers_confirm_from_the_submission_and_a_rejection_is_resubmitted() -> None:
    submitted = ITEM._replace(state="submitted", pending_signers="dept:it zhao.min",
                              submitted_at="2026-11-28T09:00:00.000000Z")
    assert _actions(item_entries(submitted, ACCEPTED)) == {
        ("dept:it", "confirm", "2026-11-28T09:00:00.000000Z"),
        ("zhao.min", "confirm", "2026-11-28T09:00:00.000000Z")}
    rejected = ITEM._replace(state="rejected", rejected_at="2026-11-29T10:00:00.000000Z")
    assert _actions(item_entries(rejected, ACCEPTED)) == {
        ("wang.lei", "resubmit", "2026-11-29T10:00:00.000000Z"),
        ("dept:it", "awaiting_giver", "2026-12-01")}


def test_a_question_is_undated_after_the_main_action_and_the_queue_is_not_awaiting() -> None:
    asked = ITEM._replace(questions_to="dept:it li.qiang", due_date=None)
    entries = item_entries(asked, ACCEPTED)
    assert {(e.party, e.action, e.undated, e.since, e.phase, e.step) for e in entries} == {
        ("wang.lei", "submit", 1, "", 0, 0),
        ("dept:it", "answer_question", 1, "", 0, 1),
        ("li.qiang", "answer_question", 1, "", 0, 1)}


def test_a_closed_item_or_a_case_no_longer_open_has_no_entries() -> None:
    assert item_entries(ITEM._replace(open=0, state="confirmed"), ACCEPTED) == frozenset()
    assert item_entries(ITEM, case_gate("closed", 0)) == frozenset()
    assert item_entries(ITEM, CLOSED) == frozenset()
