"""Replacing one signer of an item: a slot fixed when the checklist was applied ("hr" → the
case's HR owner, "manager" → the manager) goes to someone else after a hand-over or when its
holder left, instead of the item being waived."""

from typing import cast

import pytest

from ledger.aggregates.codec import encode_event, replay
from ledger.aggregates.item import HandoverItem, ItemAlreadyDoneError, NotReceiverError
from ledger.entry import decode_entry
from ledger.errors import InvalidInputError, InvalidTransitionError
from ledger.service.context import Actor, RequestContext
from ledger.service.unit_of_work import UnitOfWork
from ledger.store.port import EventStore
from tests.unit.test_item_signoff import (
    GIVER,
    HR,
    MANAGER,
    SUCCESSOR,
    item_with,
    sign,
    submitted,
    topics,
)

NEW_HR = "hr-zhou"


def test_a_signer_slot_is_given_to_someone_else_in_place_and_they_then_sign() -> None:
    item = submitted([MANAGER, HR, SUCCESSOR], in_order=True)

    item.replace_signer(by=HR, previous=MANAGER, signer="mgr-wu", reason="李经理已离职")

    assert item.signers == ["mgr-wu", HR, SUCCESSOR]
    assert item.pending_signers() == ["mgr-wu", HR, SUCCESSOR]
    [(topic, payload)] = [encode_event(e) for e in item.collect_events()]
    assert (topic, payload) == ("ItemSignerReplaced", {
        "by": HR, "previous": MANAGER, "signer": "mgr-wu", "reason": "李经理已离职"})
    with pytest.raises(NotReceiverError, match="only its signers"):
        sign(item, MANAGER)  # the old holder no longer signs
    sign(item, "mgr-wu")
    assert item.pending_signers() == [HR, SUCCESSOR]


def test_a_done_item_keeps_its_signers() -> None:
    item = submitted([MANAGER, SUCCESSOR])
    sign(item, SUCCESSOR)
    sign(item, MANAGER)
    waived = item_with([MANAGER, SUCCESSOR])
    waived.waive(by=HR, reason="not needed")

    for done in (item, waived):
        with pytest.raises(ItemAlreadyDoneError):
            done.replace_signer(by=HR, previous=MANAGER, signer="mgr-wu", reason="left")


def test_only_a_declared_signer_is_replaced() -> None:
    item = submitted([MANAGER, SUCCESSOR])
    no_signers = item_with(None)

    with pytest.raises(InvalidTransitionError, match="is not a signer"):
        item.replace_signer(by=HR, previous="emp-nobody", signer="mgr-wu", reason="?")
    with pytest.raises(InvalidTransitionError, match="is not a signer"):
        no_signers.replace_signer(by=HR, previous=SUCCESSOR, signer="mgr-wu", reason="?")


def test_a_sign_off_already_given_on_the_current_submission_stands() -> None:
    item = submitted([MANAGER, HR, SUCCESSOR])
    sign(item, MANAGER)

    with pytest.raises(InvalidTransitionError, match="their sign-off stands"):
        item.replace_signer(by=NEW_HR, previous=MANAGER, signer="mgr-wu", reason="left")
    assert item.signers == [MANAGER, HR, SUCCESSOR]


def test_after_a_rejection_the_slot_of_an_earlier_signer_may_be_replaced() -> None:
    item = submitted([MANAGER, SUCCESSOR])
    sign(item, MANAGER)
    item.reject(by=SUCCESSOR, acting_for={SUCCESSOR}, reason="incomplete")

    item.replace_signer(by=HR, previous=MANAGER, signer="mgr-wu", reason="left")

    assert item.signers == ["mgr-wu", SUCCESSOR]


def test_the_new_signer_is_neither_the_giver_nor_a_signer_already() -> None:
    item = submitted([MANAGER, HR, SUCCESSOR])

    with pytest.raises(InvalidTransitionError, match=f"{GIVER} already gives or signs"):
        item.replace_signer(by=NEW_HR, previous=MANAGER, signer=GIVER, reason="?")
    with pytest.raises(InvalidTransitionError, match=f"{HR} already gives or signs"):
        item.replace_signer(by=NEW_HR, previous=MANAGER, signer=HR, reason="?")
    assert topics(item) == []


def test_the_hr_a_case_was_handed_over_to_takes_the_former_owners_slot_and_signs() -> None:
    item = submitted([MANAGER, HR, SUCCESSOR], in_order=True)
    sign(item, MANAGER)

    item.replace_signer(by=NEW_HR, previous=HR, signer=NEW_HR, reason="case handed over")
    sign(item, NEW_HR)

    assert item.signers == [MANAGER, NEW_HR, SUCCESSOR]
    assert item.pending_signers() == [SUCCESSOR]


def test_the_new_signer_has_not_signed_the_current_submission_in_another_slot() -> None:
    item = submitted([MANAGER, "dept:finance", SUCCESSOR])
    sign(item, "fin-zhou", {"fin-zhou", "dept:finance"})

    with pytest.raises(InvalidTransitionError, match="in another slot"):
        item.replace_signer(by=HR, previous=MANAGER, signer="fin-zhou", reason="left")


def test_the_receivers_slot_moves_with_reassign_not_here() -> None:
    item = submitted([MANAGER, SUCCESSOR])

    with pytest.raises(InvalidTransitionError, match="reassign"):
        item.replace_signer(by=HR, previous=SUCCESSOR, signer="emp-other", reason="left")


def test_a_replacement_needs_a_reason() -> None:
    item = submitted([MANAGER, SUCCESSOR])

    with pytest.raises(InvalidInputError):
        item.replace_signer(by=HR, previous=MANAGER, signer="mgr-wu", reason="  ")


def test_a_replaced_signer_replays_from_its_entries_to_the_same_state() -> None:
    item = HandoverItem(
        departure_id="7f1d9c2e-0000-4000-8000-000000000001", category="clients",
        title="Risks", label="风险清单", acceptance_criteria="", giver_id=GIVER,
        receiver=SUCCESSOR, mandatory=True, priority="high", due_date=None,
        template_item_key=None, signers=[HR, SUCCESSOR])
    item.replace_signer(by=HR, previous=HR, signer=NEW_HR, reason="case handed over")
    uow = UnitOfWork(cast(EventStore, object()))
    uow.add(item)
    stored = uow.collect(Actor(HR, "hr"), RequestContext())

    entries = [decode_entry(e.entry, e.event_hash) for e in stored]
    rebuilt = cast(HandoverItem, replay(entries))

    assert [e.event_type for e in entries] == ["ItemCreated", "ItemSignerReplaced"]
    assert rebuilt.signers == [NEW_HR, SUCCESSOR]
