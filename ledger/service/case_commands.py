"""Commands of the handover as the seeds tell it: questions and escalations, the handover
confirmation (交接确认书) and disputes, and starting and changing a case (a leaver's own
request, moved dates, frozen access)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    StringConstraints,
)

from ledger.aggregates.departure import ROLE_FAMILIES
from ledger.service.command_types import (
    ApprovalStep,
    Channel,
    Date,
    Evidence,
    Id,
    Int,
    Model,
    Name,
    Reason,
    Receiver,
    Sha256,
    Signature,
    Text,
    Uuid,
)

# --- questions and escalated confirmations ------------------------------------------


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


# --- The handover confirmation (交接确认书) and disputes after close ---


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


# --- starting and changing a case ----------------------------------------------


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


# --- replacing one signer of an item -------------------------------------


class ReplaceItemSigner(Model):
    """The case's HR owner gives one signer slot of an item to someone else (the slot's holder
    left, or the case was handed over to another HR); the receiver's slot moves with
    ``ReassignItem`` instead."""

    type: Literal["replace_item_signer"] = "replace_item_signer"
    item_id: Uuid
    previous: Receiver
    signer: Receiver
    reason: Reason
    expected_version: Int | None = None
