"""Commands: imperative, validated, frozen. The same models serve the CLI, tests and HTTP.

Every string and list has a limit, unknown fields are refused, and ``type`` discriminates
commands posted in bulk. The shared types are in ``command_types``, the commands of the
handover as the seeds tell it (requests, dates, confirmations, disputes) in ``case_commands``;
this module holds the rest and the bulk ``Command`` union, and re-exports all of them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from ledger.aggregates.dependency import find_cycle
from ledger.aggregates.item import MODULES
from ledger.aggregates.reminder_rules import SCHEDULER_RULES
from ledger.aggregates.signoff import MAX_SIGNERS
from ledger.aggregates.template import ITEM_GIVERS, ITEM_SIGNERS, TEMPLATE_FAMILIES
from ledger.service.case_commands import (
    AcceptDepartureRequest,
    AddDisputeStatement,
    AnswerQuestion,
    ChangeLastWorkingDay,
    CitedEvidence,
    DeclineDepartureRequest,
    EscalateConfirmation,
    ExcuseConfirmationSignature,
    FreezeAccess,
    RaiseDispute,
    RecordContractTerminated,
    RecordDisputeFinding,
    RecordDisputeUpload,
    RecordLeft,
    ReplaceItemSigner,
    RequestDeparture,
    Responsibility,
    SignHandoverConfirmation,
    WithdrawDepartureRequest,
)
from ledger.service.command_types import (
    _CANONICAL_UUID,
    MAX_LINES,
    ApprovalStep,
    Bool,
    Category,
    Channel,
    Date,
    EscalationTarget,
    Evidence,
    HandedOverHow,
    Id,
    Int,
    Label,
    Leaver,
    Line,
    LineId,
    LineRejection,
    LineText,
    Model,
    Name,
    Priority,
    Reason,
    Receiver,
    Sha256,
    Signature,
    TemplateKey,
    Text,
    Uuid,
    WorkingDays,
    _bounded_date,
    _iso_date_only,
    _no_control_characters,
    _unique_line_ids,
    canonical_uuid,
    how_of,
)

__all__ = [
    "MAX_LINES",
    "UPLOAD_COMMANDS",
    "_CANONICAL_UUID",
    "AcceptDepartureRequest",
    "AddDisputeStatement",
    "AddItem",
    "AnswerQuestion",
    "ApplyTemplate",
    "ApprovalStep",
    "ApproveStep",
    "Bool",
    "Category",
    "ChangeLastWorkingDay",
    "Channel",
    "CitedEvidence",
    "CloseDeparture",
    "Command",
    "CommentItem",
    "ConfirmItem",
    "Date",
    "DeclineDepartureRequest",
    "DefineTemplate",
    "EscalateConfirmation",
    "EscalationTarget",
    "Evidence",
    "EvidenceRule",
    "ExcuseConfirmationSignature",
    "FreezeAccess",
    "HandOverDeparture",
    "HandedOverHow",
    "Id",
    "Int",
    "Label",
    "Leaver",
    "Line",
    "LineId",
    "LineRejection",
    "LineText",
    "Model",
    "Name",
    "Priority",
    "RaiseDispute",
    "Reason",
    "ReassignItem",
    "Receiver",
    "RecordContractTerminated",
    "RecordDisputeFinding",
    "RecordDisputeUpload",
    "RecordExternalEvidence",
    "RecordLeft",
    "RecordUpload",
    "RejectItem",
    "RejectStep",
    "ReplaceItemSigner",
    "RequestDeparture",
    "Responsibility",
    "SendReminder",
    "Sha256",
    "SignHandoverConfirmation",
    "Signature",
    "StartDeparture",
    "SubmitForApproval",
    "SubmitItem",
    "TemplateItem",
    "TemplateKey",
    "Text",
    "Uuid",
    "WaiveItem",
    "WithdrawDeparture",
    "WithdrawDepartureRequest",
    "WorkingDays",
    "_bounded_date",
    "_iso_date_only",
    "_no_control_characters",
    "_unique_line_ids",
    "canonical_uuid",
    "how_of",
]


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
    # who takes over the work: the checklists' successor lines go to them (applied on approval)
    successor_id: Id | None = None


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
    # every required sign-off (principals or department queues), in order
    # or not; none means the receiver alone
    signers: list[Receiver] = Field(default_factory=list, max_length=MAX_SIGNERS)
    signers_in_order: Bool = False
    # --- items of the same departure required first; the receiver's deadline ---
    requires: list[Uuid] = Field(default_factory=list, max_length=50)
    confirm_within_working_days: WorkingDays | None = None
    escalate_to: EscalationTarget | None = None
    module: Literal[MODULES] | None = None  # type: ignore[valid-type]  # 002's modules


class SendReminder(Model):
    """HR records a reminder or escalation sent about open items."""

    type: Literal["send_reminder"] = "send_reminder"
    departure_id: Uuid
    to: Id
    item_ids: list[Uuid] = Field(max_length=500)
    channel: Literal["email", "sms", "dingtalk", "wecom", "feishu", "webhook", "phone",
                     "in_person", "letter"]
    escalation: Bool = False
    message: Text = ""
    # Which of the scheduler's rules sent it (ledger.scheduler); only the ledger's own worker
    # names one.
    rule: Literal[SCHEDULER_RULES] | None = None  # type: ignore[valid-type]


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
    lines: list[Line] = Field(default_factory=list, max_length=MAX_LINES)
    urgent: Bool = False

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
    acknowledged: list[LineId] = Field(default_factory=list, max_length=MAX_LINES)


class RejectItem(Model):
    """A signer rejects the current submission, with a reason, naming rejected lines (with
    their reasons) and acknowledging others if it wishes; the item returns to its giver."""

    type: Literal["reject_item"] = "reject_item"
    item_id: Uuid
    reason: Reason
    expected_version: Int | None = None
    rejected_lines: list[LineRejection] = Field(default_factory=list,
                                                max_length=MAX_LINES)
    acknowledged: list[LineId] = Field(default_factory=list, max_length=MAX_LINES)


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
    # a comment addressed to someone is a question that awaits their answer
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
    # the criteria in English, for the console's en pages (the recorded text is the above)
    criteria_label: Annotated[str, StringConstraints(max_length=1000)] = ""
    receiver: Literal["successor", "manager", "hr", "dept:it", "dept:finance", "dept:admin",
                      "leaver"]
    mandatory: Bool
    priority: Priority
    due_offset_days: Int = Field(ge=-365, le=365)
    satisfied_by: list[EvidenceRule] = Field(default_factory=list, max_length=10)
    department_may_confirm_directly: Bool = False
    # --- who gives the item (the leaver unless finance, HR ... gives it to
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
    # --- required items (by key, resolved to item ids when applied), deadline ---
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


Command = (
    StartDeparture | SubmitForApproval | ApproveStep | RejectStep | WithdrawDeparture
    | ApplyTemplate | AddItem | SendReminder | CloseDeparture | SubmitItem | ConfirmItem
    | RejectItem | WaiveItem | ReassignItem | CommentItem | RecordExternalEvidence
    | DefineTemplate | HandOverDeparture | AnswerQuestion | EscalateConfirmation
    | SignHandoverConfirmation | RaiseDispute | AddDisputeStatement | RecordDisputeFinding
    | AcceptDepartureRequest | DeclineDepartureRequest | WithdrawDepartureRequest
    | ChangeLastWorkingDay | RecordLeft | FreezeAccess | ExcuseConfirmationSignature
    | ReplaceItemSigner
)
# Commands that carry a file: only their upload routes run them, after streaming the file into
# the blob store, so the digest they record is of a file that exists.
UPLOAD_COMMANDS = (RecordUpload, RequestDeparture, RecordContractTerminated, RecordDisputeUpload)
