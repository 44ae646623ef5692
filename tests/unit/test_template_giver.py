"""Checklist lines name their giver (the leaver by default) and their signers (issue 9)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ledger.service import commands as c

LINE: dict[str, Any] = {
    "key": "final-settlement", "category": "finance", "title": "Final settlement",
    "label": "离职结算单", "acceptance_criteria": "leaver acknowledges the amounts",
    "receiver": "successor", "mandatory": True, "priority": "high", "due_offset_days": 0,
}


def test_the_giver_is_the_leaver_unless_the_line_says_otherwise() -> None:
    line = c.TemplateItem(**LINE)

    assert line.giver == "leaver"
    assert line.model_dump(exclude_defaults=True) == LINE  # old checklists keep their hash


def test_finance_gives_the_final_settlement_that_the_leaver_acknowledges() -> None:
    line = c.TemplateItem(**{**LINE, "giver": "dept:finance", "receiver": "leaver"})

    assert (line.giver, line.receiver) == ("dept:finance", "leaver")


@pytest.mark.parametrize(("change", "message"), [
    ({"receiver": "leaver"}, "cannot receive their own handover"),
    ({"giver": "hr", "receiver": "hr"}, "cannot receive or sign"),
    ({"giver": "manager", "signers": ["manager", "receiver"]}, "cannot receive or sign"),
    ({"signers": ["leaver"]}, r"giver \(leaver\) cannot receive or sign"),
    ({"signers": ["hr", "hr"]}, "signers must be distinct"),
    ({"giver": "successor"}, "giver"),
    ({"signers": ["ceo"]}, "signers"),
])
def test_refuses_a_line_whose_giver_would_receive_or_sign_it(change: dict[str, Any],
                                                             message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        c.TemplateItem(**{**LINE, **change})


def test_a_line_lists_signers_in_order() -> None:
    line = c.TemplateItem(**{**LINE, "signers": ["manager", "hr", "receiver"],
                             "signers_in_order": True})

    assert line.model_dump(exclude_defaults=True)["signers"] == ["manager", "hr", "receiver"]


def test_submission_lines_are_bounded_and_unique() -> None:
    item = "0b6e0c4e-5d2a-4f5e-9a51-7f0e6c2d1a3b"
    with pytest.raises(ValidationError, match="line ids must be unique"):
        c.SubmitItem(item_id=item, lines=[{"id": "a", "text": "x"}, {"id": "a", "text": "y"}])
    with pytest.raises(ValidationError):
        c.SubmitItem(item_id=item, lines=[{"id": f"l{i}", "text": "x"} for i in range(201)])
    with pytest.raises(ValidationError):
        c.SubmitItem(item_id=item, lines=[{"id": "a", "text": "x\u0000"}])
    with pytest.raises(ValidationError):
        c.SubmitItem(item_id=item, mode="by_pigeon")
    with pytest.raises(ValidationError):
        c.ConfirmItem(item_id=item, attendees=["x"] * 21)


def test_how_records_only_what_was_given() -> None:
    item = "0b6e0c4e-5d2a-4f5e-9a51-7f0e6c2d1a3b"

    assert c.how_of(c.ConfirmItem(item_id=item)) is None
    assert c.how_of(c.ConfirmItem(item_id=item, mode="remote", attendees=["王磊"])) == {
        "mode": "remote", "attendees": ["王磊"]}
