"""A checklist line's giver, receiver and signers, resolved on one case (issue 9)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ledger.aggregates.departure import Departure
from ledger.errors import InvalidInputError
from ledger.service.checklist_apply import due_date, resolve_parties

LINE: dict[str, Any] = {"key": "risks", "receiver": "successor"}


def case(manager: str = "li.qiang") -> Departure:
    return Departure(
        leaver={"id": "wang.lei", "name": "王磊", "department": "Sales", "position": "COO",
                "role_family": "management"},
        manager_id=manager, hr_owner_id="hr.sun", notice_date="2026-11-01",
        last_working_day="2026-11-30", reason="resigned", approval_chain=[])


def test_the_leaver_gives_and_the_receiver_alone_signs_by_default() -> None:
    assert resolve_parties(LINE, case(), "zhao.min") == ("wang.lei", "zhao.min", [])


def test_roles_resolve_to_the_cases_people_in_the_lines_order() -> None:
    line = {**LINE, "signers": ["manager", "hr", "receiver"]}

    assert resolve_parties(line, case(), "zhao.min") == (
        "wang.lei", "zhao.min", ["li.qiang", "hr.sun", "zhao.min"])


def test_finance_gives_the_final_settlement_to_the_leaver() -> None:
    line = {"key": "final-settlement", "giver": "dept:finance", "receiver": "leaver"}

    assert resolve_parties(line, case(), None) == ("dept:finance", "wang.lei", [])


def test_two_roles_held_by_one_person_are_refused_naming_the_line() -> None:
    line = {**LINE, "signers": ["manager", "successor"]}

    with pytest.raises(InvalidInputError, match=r"risks: li.qiang would sign it both as "
                                                r"manager and as successor"):
        resolve_parties(line, case(), "li.qiang")


def test_one_role_named_twice_is_one_slot() -> None:
    line = {**LINE, "signers": ["receiver", "successor"]}

    assert resolve_parties(line, case(), "zhao.min") == ("wang.lei", "zhao.min", [])


def test_a_giver_who_would_receive_on_this_case_is_refused() -> None:
    line = {"key": "notice", "giver": "manager", "receiver": "successor"}

    with pytest.raises(InvalidInputError, match=r"notice: its giver \(li.qiang\) would receive"):
        resolve_parties(line, case(), "li.qiang")


def test_a_giver_who_would_sign_on_this_case_is_refused() -> None:
    line = {"key": "notice", "giver": "hr", "receiver": "leaver", "signers": ["receiver", "hr"]}

    with pytest.raises(InvalidInputError, match=r"notice: the giver \(hr.sun\) cannot sign"):
        resolve_parties(line, case(), None)


def test_a_due_date_the_calendar_cannot_hold_is_refused() -> None:
    line = {"key": "late", "due_offset_days": 365}

    with pytest.raises(InvalidInputError, match="late: its due date"):
        due_date(line, dt.date(9999, 6, 30))


def test_hr_applying_by_hand_may_merge_two_roles_and_is_told_so() -> None:
    line = {**LINE, "signers": ["manager", "successor"]}
    merged: list[Any] = []

    assert resolve_parties(line, case(), "li.qiang", merged) == ("wang.lei", "li.qiang", [])
    assert merged == [{"key": "risks", "principal_id": "li.qiang",
                       "roles": ["manager", "successor"]}]
