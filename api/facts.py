"""Typed views of the records the ledger keeps as JSON objects (a leaver, an approval step, a
closure, evidence, a question, a dispute's statement, a command's result, ...).

Each is a pydantic model, so the OpenAPI document (and a client generated from it) knows its
fields; but what the API writes is the record *as given*: the same keys in the same order,
extra keys kept. Typing a field of a view therefore never changes the bytes it produces.
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidatorFunctionWrapHandler,
    model_serializer,
    model_validator,
)


class Fact(BaseModel):
    """A recorded JSON object: typed and checked on the way in, written out as given."""

    model_config = ConfigDict(frozen=True, extra="allow")
    _given: dict[str, Any] | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_given(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        fact = handler(data)
        if isinstance(data, dict) and isinstance(fact, Fact):
            fact._given = dict(data)
        return fact

    @model_serializer(mode="wrap")
    def _as_given(self, handler: SerializerFunctionWrapHandler) -> Any:
        return self._given if self._given is not None else handler(self)


class LeaverRecord(Fact):
    """The person leaving (``role_family`` once HR has accepted a leaver's own request)."""

    id: str
    name: str
    department: str
    position: str
    role_family: str | None = None


class ApprovalStepRecord(Fact):
    """One step of the approval chain and its approver."""

    name: str
    approver_id: str


class AppliedTemplate(Fact):
    """A checklist revision applied to the case."""

    id: str
    key: str
    revision: int
    content_hash: str


class CitedFile(Fact):
    """A stored file as an event cites it (resignation letter, termination document,
    evidence): its SHA-256, size, name and media type."""

    sha256: str
    size: int
    name: str
    media_type: str | None = None


class NotSigned(Fact):
    """A signatory the close excused from signing the handover confirmation."""

    confirmation_not_signed_by: str
    parties: list[str] = []
    statement_sha256: str | None = None
    reason: str | None = None
    excused_by: str | None = None


class Closure(Fact):
    """What the close recorded."""

    by: str
    confirmed: int
    waived: int
    severance_releasable: bool
    recorded_at: str
    confirmation_not_signed_by: list[NotSigned] | None = None


class CloseWarning(Fact):
    """Something recorded with the close without blocking it: a question left unanswered
    (``item_id``, ``question_id``, ...) or a signatory excused (``confirmation_not_signed_by``)."""

    item_id: str | None = None
    question_id: str | None = None
    confirmation_not_signed_by: str | None = None


class ConfirmationSignature(Fact):
    """A signatory's signature of the handover confirmation."""

    statement_sha256: str
    parties: list[str]
    signed: bool
    recorded_at: str


class ConfirmationExemption(Fact):
    """HR's record that a signatory cannot or will not sign the handover confirmation."""

    statement_sha256: str
    parties: list[str]
    reason: str
    by: str
    recorded_at: str | None = None


class CaseRequest(Fact):
    """The leaver's own request (``letter`` only to those who may download it)."""

    reason: str
    intended_last_working_day: str
    requested_on: str
    letter: CitedFile | None = None


class Decision(Fact):
    """Who decided, why, and when (a declined request)."""

    by: str
    reason: str
    recorded_at: str


class Rejection(Fact):
    """An item's latest rejection: who rejected it, why, when, and which submission."""

    by: str
    reason: str
    at: str
    submission: int


class LastWorkingDayChange(Fact):
    """A move of the last working day."""

    by: str
    previous: str
    last_working_day: str
    reason: str
    recorded_at: str


class ContractTermination(Fact):
    """The contract's termination (``document`` only to those who may download it)."""

    by: str
    terminated_on: str
    recorded_at: str
    document: CitedFile | None = None


class AccessFrozen(Fact):
    """HR froze the leaver's access."""

    by: str
    principal_id: str
    frozen_at: str
    reason: str


class EvidenceRuleRecord(Fact):
    """External evidence that satisfies an item: a ``kind`` of report from a system."""

    source_role: str
    kind: str
    principal_id: str | None = None


class HowHandedOver(Fact):
    """How, where and with whom an item was handed over or signed."""

    mode: str | None = None
    location: str | None = None
    attendees: list[str] = []


class Question(Fact):
    """A question asked about an item, and its answer once given."""

    question_id: str
    by: str
    to: str
    text: str
    answer: str | None = None
    answered_by: str | None = None


class LineRejected(Fact):
    """A line of the submission a signer rejected, and why."""

    id: str
    reason: str
    by: str | None = None


class TemplateLine(Fact):
    """One line of a checklist."""

    key: str
    category: str
    title: str
    label: str
    acceptance_criteria: str
    receiver: str
    mandatory: bool
    priority: str
    due_offset_days: int
    satisfied_by: list[EvidenceRuleRecord] | None = None
    giver: str | None = None
    signers: list[str] | None = None


class StatementEvidence(Fact):
    """A file a dispute statement cites: an item's upload (``item_id``) or the dispute's."""

    sha256: str
    item_id: str | None = None


class DisputeStatement(Fact):
    """A party's statement in a dispute, citing evidence."""

    by: str
    party: str
    text: str
    evidence: list[StatementEvidence]
    recorded_at: str


class DisputeUpload(Fact):
    """A file uploaded to a dispute."""

    by: str
    size: int
    name: str
    media_type: str


class Finding(Fact):
    """HR's finding on responsibility."""

    by: str
    responsibility: str
    reasons: str
    recorded_at: str


class CommandOutput(Fact):
    """What a command reports: the ids it touched and the new state; which fields appear
    depends on the command (others may too)."""

    departure_id: str | None = None
    item_id: str | None = None
    dispute_id: str | None = None
    state: str | None = None
    item_ids: list[str] | None = None
    question_id: str | None = None
