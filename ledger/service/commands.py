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
    model_validator,
)

from ledger.aggregates.departure import ROLE_FAMILIES
from ledger.aggregates.dependency import find_cycle
from ledger.aggregates.item import CATEGORIES, MODULES, PRIORITIES
from ledger.aggregates.signoff import MAX_SIGNERS, MODES
from ledger.aggregates.template import ITEM_GIVERS, ITEM_SIGNERS, TEMPLATE_FAMILIES
from ledger.canonical import JSONObject, JSONValue
from ledger.workday import MAX_WORKING_DAYS

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


def _bounded_date(value: dt.date) -> dt.date:
    # Every case date falls in years the due-date arithmetic and the working calendar hold
    # (0001-01-01 or 9999-06-30 plus a checklist's offset overflowed into a 500).
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"a date must fall in the years {MIN_YEAR} to {MAX_YEAR}")
    return value


MIN_YEAR, MAX_YEAR = 1900, 2199
Date = Annotated[dt.date, BeforeValidator(_iso_date_only), AfterValidator(_bounded_date)]

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
# issue 9: checklist keys, receivers' confirmation periods and whom an overdue one goes to
TemplateKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
                                               max_length=64)]
WorkingDays = Annotated[int, Strict(), Field(ge=1, le=MAX_WORKING_DAYS)]
EscalationTarget = Literal["manager", "hr"]
Channel = Literal["email", "sms", "dingtalk", "wecom", "phone", "in_person", "letter"]


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


# --- issue 9 (signers): lines of a submission, and how, where and with whom it was handed over
LineId = Annotated[str, StringConstraints(min_length=1, max_length=64,
                                          pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
LineText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                            max_length=1000),
                     AfterValidator(_no_control_characters)]
MAX_LINES = 200


class Line(Model):
    """One line of a submission (a client, a contract, a risk), acknowledged one by one."""

    id: LineId
    text: LineText


class LineRejection(Model):
    """A line of the submission a signer rejects, and why."""

    id: LineId
    reason: LineText


class HandedOverHow(Model):
    """How, where and with whom (000: "时间、地点、参与人"; 004: "现场或线上签署"); optional."""

    mode: Literal[MODES] | None = None  # type: ignore[valid-type]
    location: Name | None = None
    attendees: list[Name] = Field(default_factory=list, max_length=20)


def how_of(model: HandedOverHow) -> JSONObject | None:
    """The ``how`` an event records: only what was given, or None."""
    how: dict[str, JSONValue] = {}
    if model.mode is not None:
        how["mode"] = str(model.mode)
    if model.location is not None:
        how["location"] = model.location
    if model.attendees:
        how["attendees"] = list(model.attendees)
    return how or None


def _unique_line_ids(ids: list[str]) -> None:
    if len(set(ids)) != len(ids):
        raise ValueError("line ids must be unique")
# --- end issue 9 (signers)


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
    # issue 9 (signers): every required sign-off (principals or department queues), in order
    # or not; none means the receiver alone
    signers: list[Receiver] = Field(default_factory=list, max_length=MAX_SIGNERS)
    signers_in_order: Bool = False
    # --- issue 9: items of the same departure required first; the receiver's deadline ---
    requires: list[Uuid] = Field(default_factory=list, max_length=50)
    confirm_within_working_days: WorkingDays | None = None
    escalate_to: EscalationTarget | None = None
    module: Literal[MODULES] | None = None  # type: ignore[valid-type]  # issue 9: 002's modules


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


class SubmitItem(HandedOverHow):
    """The giver (or HR on their behalf) submits an item with evidence, optionally in lines
    (one per client, contract or risk), saying how it was handed over, flagged urgent."""

    type: Literal["submit_item"] = "submit_item"
    item_id: Uuid
    note: Text = ""
    evidence: list[Evidence] = Field(default_factory=list, max_length=100)
    on_behalf: Bool = False
    expected_version: Int | None = None
    lines: list[Line] = Field(default_factory=list, max_length=MAX_LINES)  # issue 9
    urgent: Bool = False  # issue 9

    @model_validator(mode="after")
    def _lines_unique(self) -> SubmitItem:
        _unique_line_ids([line.id for line in self.lines])
        return self


class ConfirmItem(HandedOverHow):
    """A signer (the receiver, or each required signer) signs the current submission,
    acknowledging every one of its lines; the last sign-off confirms the item."""

    type: Literal["confirm_item"] = "confirm_item"
    item_id: Uuid
    note: Text = ""
    signature: Signature | None = None
    expected_version: Int | None = None
    acknowledged: list[LineId] = Field(default_factory=list, max_length=MAX_LINES)  # issue 9


class RejectItem(Model):
    """A signer rejects the current submission, with a reason, naming rejected lines (with
    their reasons) and acknowledging others if it wishes; the item returns to its giver."""

    type: Literal["reject_item"] = "reject_item"
    item_id: Uuid
    reason: Reason
    expected_version: Int | None = None
    rejected_lines: list[LineRejection] = Field(default_factory=list,  # issue 9
                                                max_length=MAX_LINES)
    acknowledged: list[LineId] = Field(default_factory=list, max_length=MAX_LINES)  # issue 9


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
    # issue 9: a comment addressed to someone is a question that awaits their answer
    question_to: Id | None = None


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
    receiver: Literal["successor", "manager", "hr", "dept:it", "dept:finance", "dept:admin",
                      "leaver"]
    mandatory: Bool
    priority: Priority
    due_offset_days: Int = Field(ge=-365, le=365)
    satisfied_by: list[EvidenceRule] = Field(default_factory=list, max_length=10)
    department_may_confirm_directly: Bool = False
    # --- issue 9 (signers): who gives the item (the leaver unless finance, HR ... gives it to
    # the leaver), and every sign-off it needs, resolved when the checklist is applied
    giver: Literal[ITEM_GIVERS] = "leaver"  # type: ignore[valid-type]
    signers: list[Literal[ITEM_SIGNERS]] = Field(  # type: ignore[valid-type]
        default_factory=list, max_length=MAX_SIGNERS)
    signers_in_order: Bool = False

    @model_validator(mode="after")
    def _giver_is_not_a_receiver(self) -> TemplateItem:
        if self.receiver == "leaver" and self.giver == "leaver":
            raise ValueError("the leaver cannot receive their own handover")
        if self.giver in self.signers or self.giver in (self.receiver,):
            raise ValueError(f"the giver ({self.giver}) cannot receive or sign the item")
        if len(set(self.signers)) != len(self.signers):
            raise ValueError("signers must be distinct")
        return self
    # --- end issue 9 (signers)
    # --- issue 9: required items (by key, resolved to item ids when applied), deadline ---
    requires: list[TemplateKey] = Field(default_factory=list, max_length=20)
    confirm_within_working_days: WorkingDays | None = None
    escalate_to: EscalationTarget | None = None
    urgent: Bool = False  # worked while approval is pending (001: "标注'紧急'…需立即交接")
    module: Literal[MODULES] | None = None  # type: ignore[valid-type]  # 002's five modules


class DefineTemplate(Model):
    """HR defines a new checklist, or revises the one with this key."""

    type: Literal["define_template"] = "define_template"
    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)]
    role_family: Literal[TEMPLATE_FAMILIES]  # type: ignore[valid-type]
    name: Name
    label: Annotated[str, StringConstraints(max_length=200)]
    items: list[TemplateItem] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _requirements_form_no_cycle(self) -> DefineTemplate:
        # A key the checklist does not hold names an item of another checklist applied to the
        # same departure (the laptop review before the clearance's wipe); keys held here must
        # not go round in a circle, and a key is not given twice (it would be ambiguous).
        keys = [i.key for i in self.items]
        if len(set(keys)) != len(keys):
            raise ValueError("item keys must be unique within a checklist")
        cycle = find_cycle({i.key: i.requires for i in self.items})
        if cycle is not None:
            raise ValueError(f"requirements go round in a circle: {' → '.join(cycle)}")
        return self


# --- issue 9: questions and escalated confirmations ------------------------------------------


class AnswerQuestion(Model):
    """The addressee answers a question asked on an item."""

    type: Literal["answer_question"] = "answer_question"
    item_id: Uuid
    question_id: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,5}$")]
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class EscalateConfirmation(Model):
    """HR (or a system, later the scheduler) records that a receiver's confirmation is past
    its deadline and escalates it."""

    type: Literal["escalate_confirmation"] = "escalate_confirmation"
    item_id: Uuid
    channel: Channel = "email"
    message: Text = ""


# --- The handover confirmation (交接确认书) and disputes after close (issue 9) ---


class SignHandoverConfirmation(Model):
    """A signatory (the leaver, a receiver, the HR owner) signs the case's handover
    confirmation: with their token, naming the statement's digest, or also with their own
    registered Ed25519 key over the statement's exact bytes (``signature``)."""

    type: Literal["sign_handover_confirmation"] = "sign_handover_confirmation"
    departure_id: Uuid
    statement_sha256: Sha256
    signature: Signature | None = None


Responsibility = Literal["giver", "receiver", "shared", "none"]


class RaiseDispute(Model):
    """A receiver, the leaver's manager or HR raises a dispute about a case and its items."""

    type: Literal["raise_dispute"] = "raise_dispute"
    departure_id: Uuid
    item_ids: list[Uuid] = Field(default_factory=list, max_length=200)
    claim: Reason


class CitedEvidence(Model):
    """A file a dispute statement cites: one uploaded to an item of the case (``item_id``),
    or, without ``item_id``, one uploaded to the dispute itself."""

    sha256: Sha256
    item_id: Uuid | None = None


class AddDisputeStatement(Model):
    """A party states their side, citing evidence."""

    type: Literal["add_dispute_statement"] = "add_dispute_statement"
    dispute_id: Uuid
    text: Reason
    evidence: list[CitedEvidence] = Field(default_factory=list, max_length=50)


class RecordDisputeFinding(Model):
    """HR records its finding on responsibility, with reasons; the dispute is then closed."""

    type: Literal["record_dispute_finding"] = "record_dispute_finding"
    dispute_id: Uuid
    responsibility: Responsibility
    reasons: Reason


class RecordDisputeUpload(Model):
    """Record a file uploaded to a dispute (the upload route only, like ``RecordUpload``)."""

    type: Literal["record_dispute_upload"] = "record_dispute_upload"
    dispute_id: Uuid
    sha256: Sha256
    size: Int = Field(ge=0, le=2**40)
    name: Annotated[str, StringConstraints(max_length=1000)]
    media_type: Annotated[str, StringConstraints(max_length=1000)]


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
    | AnswerQuestion | EscalateConfirmation  # issue 9
    | SignHandoverConfirmation | RaiseDispute | AddDisputeStatement | RecordDisputeFinding
    | AcceptDepartureRequest | DeclineDepartureRequest | ChangeLastWorkingDay | RecordLeft
    | FreezeAccess
)


class ExcuseConfirmationSignature(Model):
    """The case's HR owner records, with a reason, that a signatory cannot or will not sign
    the handover confirmation whose digest is ``statement_sha256`` (an account disabled once
    its owner left, or a refusal); the close then passes without that signature and records
    who did not sign and why (seed 000: "没有双方的签字确认" must be plain on the record)."""

    type: Literal["excuse_confirmation_signature"] = "excuse_confirmation_signature"
    departure_id: Uuid
    signatory: Id
    statement_sha256: Sha256
    reason: Reason


class WithdrawDepartureRequest(Model):
    """The leaver withdraws their own request, with a reason, while HR has not yet accepted
    or declined it."""

    type: Literal["withdraw_departure_request"] = "withdraw_departure_request"
    departure_id: Uuid
    reason: Reason
    expected_version: Int | None = None
