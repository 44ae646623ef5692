"""Commands: imperative, validated, frozen. The same models serve the CLI, tests and HTTP.

Every string and list has a limit, unknown fields are refused, and ``type`` discriminates
commands posted in bulk.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
)

from ledger.aggregates.departure import ROLE_FAMILIES
from ledger.aggregates.item import CATEGORIES, PRIORITIES
from ledger.aggregates.template import TEMPLATE_FAMILIES

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128,
                                      pattern=r"^[A-Za-z0-9][A-Za-z0-9._@:+-]*$")]
def _no_control_characters(value: str) -> str:
    # Names and labels are shown to people and stored in text columns (PostgreSQL refuses
    # NUL there): no control characters at all.
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("may not contain control characters")
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                 AfterValidator(_no_control_characters)]
Label = Annotated[str, StringConstraints(max_length=100), AfterValidator(_no_control_characters)]
Text = Annotated[str, StringConstraints(max_length=4000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Receiver = Annotated[str, StringConstraints(min_length=1, max_length=128,
                                            pattern=r"^(dept:(it|finance|admin)|[A-Za-z0-9][A-Za-z0-9._@:+-]*)$")]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
def _iso_date_only(value: object) -> object:
    # Lax pydantic would read 0 as 1970-01-01: a date is an ISO string (or a date object).
    if isinstance(value, (str, dt.date)):
        return value
    raise ValueError("a date must be an ISO 8601 string, YYYY-MM-DD")


Date = Annotated[dt.date, BeforeValidator(_iso_date_only)]

# RFC 9562's hyphenated 8-4-4-4-12 form only: no braces, no urn:uuid:, no bare 32 digits, no
# surrounding spaces (lax pydantic takes them all, so one id would have many spellings).
# Upper-case hex is accepted, as RFC 9562 section 4 asks of input, and read as the same UUID;
# the ledger itself always writes lower case.
_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def canonical_uuid(value: object) -> UUID:
    """The UUID a canonical hyphenated string (or a UUID object) names, else ValueError."""
    if isinstance(value, UUID):
        return value
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return UUID(value)
    raise ValueError("a UUID must be 36 characters, hyphenated 8-4-4-4-12 hex digits")


Uuid = Annotated[UUID, BeforeValidator(canonical_uuid)]
# JSON integers only: lax pydantic would read "2", 2.0 and true as 2, so a version or a size
# would have several spellings (and a boolean would count as a number).
Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
Category = Literal[CATEGORIES]  # type: ignore[valid-type]
Priority = Literal[PRIORITIES]  # type: ignore[valid-type]


class Model(BaseModel):
    """Frozen, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Leaver(Model):
    """The person leaving."""

    id: Id
    name: Name
    department: Name
    position: Name
    role_family: Literal[ROLE_FAMILIES]  # type: ignore[valid-type]


class ApprovalStep(Model):
    """One step of the approval chain, decided by a named approver."""

    name: Name
    approver_id: Id


class Evidence(Model):
    """A digest of an attachment (the blob itself lives in the content-addressed store)."""

    sha256: Sha256
    name: Name
    size: Int = Field(ge=0, le=2**40)
    media_type: Annotated[str, StringConstraints(max_length=200)] = "application/octet-stream"


class Signature(Model):
    """An Ed25519 signature by the receiver's registered key over the confirmation statement."""

    key_id: Id
    statement: Annotated[str, StringConstraints(max_length=65536)]
    signature: Annotated[str, StringConstraints(max_length=200)]


class StartDeparture(Model):
    """HR opens a departure case in draft."""

    type: Literal["start_departure"] = "start_departure"
    leaver: Leaver
    manager_id: Id
    hr_owner_id: Id
    notice_date: Date
    last_working_day: Date
    reason: Reason
    approval_chain: list[ApprovalStep] = Field(default_factory=list, max_length=10)


class SubmitForApproval(Model):
    """HR sends a draft into its approval chain."""

    type: Literal["submit_for_approval"] = "submit_for_approval"
    departure_id: Uuid
    expected_version: Int | None = None


class ApproveStep(Model):
    """The current step's approver approves."""

    type: Literal["approve_step"] = "approve_step"
    departure_id: Uuid
    step: Int = Field(ge=0, lt=10)
    comment: Text = ""
    expected_version: Int | None = None


class RejectStep(Model):
    """The current step's approver rejects; the case returns to draft."""

    type: Literal["reject_step"] = "reject_step"
    departure_id: Uuid
    step: Int = Field(ge=0, lt=10)
    reason: Reason
    expected_version: Int | None = None


class WithdrawDeparture(Model):
    """HR withdraws the case."""

    type: Literal["withdraw_departure"] = "withdraw_departure"
    departure_id: Uuid
    reason: Reason
    expected_version: Int | None = None


class ApplyTemplate(Model):
    """HR applies a checklist; its items are created in the same transaction."""

    type: Literal["apply_template"] = "apply_template"
    departure_id: Uuid
    template_key: Id
    successor_id: Id | None = None
    expected_version: Int | None = None


class AddItem(Model):
    """HR or the manager adds an ad-hoc item."""

    type: Literal["add_item"] = "add_item"
    departure_id: Uuid
    category: Category
    title: Name
    label: Annotated[str, StringConstraints(max_length=200)] = ""
    acceptance_criteria: Text = ""
    receiver: Receiver
    mandatory: Bool = True
    priority: Priority = "normal"
    due_date: Date | None = None
    expected_version: Int | None = None


class SendReminder(Model):
    """HR records a reminder or escalation sent about open items."""

    type: Literal["send_reminder"] = "send_reminder"
    departure_id: Uuid
    to: Id
    item_ids: list[Uuid] = Field(max_length=500)
    channel: Literal["email", "sms", "dingtalk", "wecom", "phone", "in_person", "letter"]
    escalation: Bool = False
    message: Text = ""


class CloseDeparture(Model):
    """HR closes the case (the gate decides)."""

    type: Literal["close_departure"] = "close_departure"
    departure_id: Uuid
    note: Text = ""
    expected_version: Int | None = None


class SubmitItem(Model):
    """The giver (or HR on their behalf) submits an item with evidence."""

    type: Literal["submit_item"] = "submit_item"
    item_id: Uuid
    note: Text = ""
    evidence: list[Evidence] = Field(default_factory=list, max_length=100)
    on_behalf: Bool = False
    expected_version: Int | None = None


class ConfirmItem(Model):
    """The receiver confirms the current submission."""

    type: Literal["confirm_item"] = "confirm_item"
    item_id: Uuid
    note: Text = ""
    signature: Signature | None = None
    expected_version: Int | None = None


class RejectItem(Model):
    """The receiver rejects the current submission, with a reason."""

    type: Literal["reject_item"] = "reject_item"
    item_id: Uuid
    reason: Reason
    expected_version: Int | None = None


class WaiveItem(Model):
    """HR waives an item, with a reason."""

    type: Literal["waive_item"] = "waive_item"
    item_id: Uuid
    reason: Reason
    expected_version: Int | None = None


class ReassignItem(Model):
    """HR or the manager gives an item a new receiver."""

    type: Literal["reassign_item"] = "reassign_item"
    item_id: Uuid
    receiver: Receiver
    reason: Reason
    expected_version: Int | None = None


class CommentItem(Model):
    """Anyone involved comments on an item."""

    type: Literal["comment_item"] = "comment_item"
    item_id: Uuid
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class RecordExternalEvidence(Model):
    """A system reports a fact about an item (e.g. IAM: the account is disabled)."""

    type: Literal["record_external_evidence"] = "record_external_evidence"
    item_id: Uuid
    source: Name
    kind: Name
    reference: Annotated[str, StringConstraints(max_length=500)] = ""
    details: dict[str, Annotated[str, StringConstraints(max_length=2000)]] = Field(
        default_factory=dict, max_length=50
    )


class RecordUpload(Model):
    """Record that a file now in the blob store was uploaded to an item.

    Only the upload route runs this, after it has streamed the file into the blob store and
    hashed it: it is deliberately not a ``Command`` (not postable in bulk), for a client that
    could name any digest and size would record an upload that never happened.
    """

    type: Literal["record_upload"] = "record_upload"
    item_id: Uuid
    sha256: Sha256
    size: Int = Field(ge=0, le=2**40)
    name: Annotated[str, StringConstraints(max_length=1000)]
    media_type: Annotated[str, StringConstraints(max_length=1000)]
class HandOverDeparture(Model):
    """The case's HR owner hands it to another HR principal (who then waives and closes)."""

    type: Literal["hand_over_departure"] = "hand_over_departure"
    departure_id: Uuid
    hr_owner_id: Id
    reason: Reason
    expected_version: Int | None = None


class EvidenceRule(Model):
    """External evidence that satisfies a checklist item: a report of ``kind`` from a system
    principal (any, or only ``principal_id``), e.g. IAM's ``account_disabled``."""

    source_role: Literal["system"]
    kind: Name
    principal_id: Id | None = None


class TemplateItem(Model):
    """One checklist line (the built-in JSON files use the same shape). ``satisfied_by`` and
    ``department_may_confirm_directly`` are left out of the stored line when unset, so a
    checklist that uses neither keeps its content hash."""

    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)]
    category: Category
    title: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    label: Annotated[str, StringConstraints(max_length=80)]
    acceptance_criteria: Annotated[str, StringConstraints(max_length=300)]
    receiver: Literal["successor", "manager", "hr", "dept:it", "dept:finance", "dept:admin"]
    mandatory: Bool
    priority: Priority
    due_offset_days: Int = Field(ge=-365, le=365)
    satisfied_by: list[EvidenceRule] = Field(default_factory=list, max_length=10)
    department_may_confirm_directly: Bool = False
    urgent: Bool = False  # worked while approval is pending (001: "标注'紧急'…需立即交接")


class DefineTemplate(Model):
    """HR defines a new checklist, or revises the one with this key."""

    type: Literal["define_template"] = "define_template"
    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)]
    role_family: Literal[TEMPLATE_FAMILIES]  # type: ignore[valid-type]
    name: Name
    label: Annotated[str, StringConstraints(max_length=200)]
    items: list[TemplateItem] = Field(min_length=1, max_length=200)


# --- starting and changing a case (issue 9) ----------------------------------------------


class RequestDeparture(Model):
    """The leaver asks to leave (seed 001: "员工只需通过手机端提交离职申请").

    Only the request route runs this, after it has streamed the resignation letter into the
    blob store and hashed it: like ``RecordUpload`` it is not a ``Command``, for a client that
    could name any digest would cite a letter that was never uploaded.
    """

    type: Literal["request_departure"] = "request_departure"
    department: Name
    position: Name
    reason: Reason
    intended_last_working_day: Date
    letter: Evidence


class AcceptDepartureRequest(Model):
    """HR accepts a leaver's request into the approval chain, supplying what a case needs
    (the notice date defaults to the day of the request, the last day to the one asked for)."""

    type: Literal["accept_departure_request"] = "accept_departure_request"
    departure_id: Uuid
    role_family: Literal[ROLE_FAMILIES]  # type: ignore[valid-type]
    manager_id: Id
    hr_owner_id: Id
    approval_chain: list[ApprovalStep] = Field(default_factory=list, max_length=10)
    notice_date: Date | None = None
    last_working_day: Date | None = None
    successor_id: Id | None = None
    expected_version: Int | None = None


class DeclineDepartureRequest(Model):
    """HR declines a leaver's request, with a reason."""

    type: Literal["decline_departure_request"] = "decline_departure_request"
    departure_id: Uuid
    reason: Reason
    expected_version: Int | None = None


class ChangeLastWorkingDay(Model):
    """HR moves the last working day; the open checklist items' due dates follow."""

    type: Literal["change_last_working_day"] = "change_last_working_day"
    departure_id: Uuid
    last_working_day: Date
    reason: Reason
    expected_version: Int | None = None


class RecordLeft(Model):
    """HR records the day the person actually left (never gated by the handover)."""

    type: Literal["record_left"] = "record_left"
    departure_id: Uuid
    left_on: Date
    note: Text = ""


class RecordContractTerminated(Model):
    """HR records the contract's termination with its document's digest (never gated).

    Only the route that streams the document into the blob store runs this (not a
    ``Command``), so the digest it records is of a file that was uploaded.
    """

    type: Literal["record_contract_terminated"] = "record_contract_terminated"
    departure_id: Uuid
    terminated_on: Date
    document: Evidence
    note: Text = ""


class FreezeAccess(Model):
    """HR freezes the leaver's access at once; the IT clearance items fall due now."""

    type: Literal["freeze_access"] = "freeze_access"
    departure_id: Uuid
    reason: Reason


Command = (
    StartDeparture | SubmitForApproval | ApproveStep | RejectStep | WithdrawDeparture
    | ApplyTemplate | AddItem | SendReminder | CloseDeparture | SubmitItem | ConfirmItem
    | RejectItem | WaiveItem | ReassignItem | CommentItem | RecordExternalEvidence
    | DefineTemplate | HandOverDeparture
    | AcceptDepartureRequest | DeclineDepartureRequest | ChangeLastWorkingDay | RecordLeft
    | FreezeAccess
)
