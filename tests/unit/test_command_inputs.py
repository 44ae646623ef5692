"""Command fields accept one spelling: canonical hyphenated UUIDs, JSON integers and booleans."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from ledger.service import commands as c

ID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"


@pytest.mark.parametrize("text", [
    f"{{{ID}}}", f"urn:uuid:{ID}", ID.replace("-", ""), f" {ID}", f"{ID} ", f"{ID}\n",
    ID[:-1], ID + "0", "3f2504e0-4f8941d3-9a0c-0305e82c3301",
    "3f2504e04-f89-41d3-9a0c-0305e82c3301",
    "３f2504e0-4f89-41d3-9a0c-0305e82c3301", 12345, None,
])
def test_refuses_a_uuid_in_any_but_the_hyphenated_form(text: object) -> None:
    with pytest.raises(ValidationError, match="departure_id"):
        c.SubmitForApproval.model_validate({"departure_id": text})
    with pytest.raises(ValueError, match="8-4-4-4-12"):
        c.canonical_uuid(text)


def test_accepts_the_hyphenated_form_in_either_case_as_one_uuid() -> None:
    lower = c.SubmitForApproval.model_validate({"departure_id": ID})
    upper = c.SubmitForApproval.model_validate({"departure_id": ID.upper()})
    assert lower.departure_id == upper.departure_id == uuid.UUID(ID)
    assert lower.model_dump(mode="json") == upper.model_dump(mode="json")


def test_every_uuid_field_of_every_command_is_checked() -> None:
    with pytest.raises(ValidationError, match=r"item_ids\.0"):
        c.SendReminder.model_validate({"departure_id": ID, "to": "wang.lei",
                                       "item_ids": [ID.replace("-", "")], "channel": "email"})
    with pytest.raises(ValidationError, match="item_id"):
        c.ConfirmItem.model_validate({"item_id": f"{{{ID}}}"})


@pytest.mark.parametrize("value", ["2", True, 2.0, "0x2", b"2"])
def test_refuses_an_integer_that_is_not_a_json_integer(value: object) -> None:
    with pytest.raises(ValidationError, match="expected_version"):
        c.SubmitForApproval.model_validate({"departure_id": ID, "expected_version": value})
    with pytest.raises(ValidationError, match="step"):
        c.ApproveStep.model_validate({"departure_id": ID, "step": value})


def test_integers_and_booleans_as_json_has_them_are_accepted() -> None:
    assert c.ApproveStep.model_validate({"departure_id": ID, "step": 2,
                                         "expected_version": 3}).step == 2
    assert c.SubmitItem.model_validate({"item_id": ID, "on_behalf": True}).on_behalf


@pytest.mark.parametrize("value", ["true", 1, "yes"])
def test_refuses_a_flag_that_is_not_a_json_boolean(value: object) -> None:
    with pytest.raises(ValidationError, match="on_behalf"):
        c.SubmitItem.model_validate({"item_id": ID, "on_behalf": value})


def test_every_command_but_those_carrying_a_file_may_be_posted_in_bulk() -> None:
    from typing import get_args

    from ledger.service.ledger import HANDLERS

    in_bulk = set(get_args(c.Command))
    assert in_bulk.isdisjoint(c.UPLOAD_COMMANDS)
    from ledger.service.export_cases import RecordEvidenceExport

    # an export is recorded by the exporter that built the bundle, never posted
    assert RecordEvidenceExport not in in_bulk
    assert in_bulk | set(c.UPLOAD_COMMANDS) | {RecordEvidenceExport} == set(HANDLERS)
