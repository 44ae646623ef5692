"""Response models: what the API returns, documented in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from api.facts import (
    AccessFrozen,
    AppliedTemplate,
    ApprovalStepRecord,
    CaseRequest,
    CitedFile,
    CloseWarning,
    Closure,
    CommandOutput,
    ConfirmationExemption,
    ConfirmationSignature,
    ContractTermination,
    Decision,
    EvidenceRuleRecord,
    HowHandedOver,
    LastWorkingDayChange,
    LeaverRecord,
    Question,
    Rejection,
    TemplateLine,
)
from api.signoff_views import LineView, SignOffView, signoff_fields
from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from ledger.aggregates.template import Template
from ledger.canonical import JSONObject
from ledger.entry import Entry, format_time
from ledger.service.case_files import may_read_case_files
from ledger.service.context import Actor


def ok(model: BaseModel, status: int = 200) -> web.Response:
    """A JSON response from a view model."""
    return web.Response(text=model.model_dump_json(), status=status,
                        content_type="application/json")


class View(BaseModel):
    """Frozen response model."""

    model_config = ConfigDict(frozen=True)


class EventRef(View):
    """One appended event."""

    id: str
    stream_type: str
    stream_id: str
    version: int
    type: str
    hash: str


class CommandResult(View):
    """What a command did."""

    command: str
    result: CommandOutput
    events: list[EventRef]


class DepartureView(View):
    """A departure's current state."""

    id: str
    version: int
    started_at: str  # when the case (or the leaver's request) was recorded
    state: str
    leaver: LeaverRecord
    manager_id: str
    hr_owner_id: str
    notice_date: str
    last_working_day: str
    reason: str
    approval_chain: list[ApprovalStepRecord]
    approved_steps: int
    templates: list[AppliedTemplate]
    item_ids: list[str]
    reminders: int
    closure: Closure | None
    close_warnings: list[CloseWarning] = []  # questions unanswered at the close
    # signer → the digest they signed, as which parties
    confirmation_signatures: dict[str, ConfirmationSignature] = {}
    dispute_ids: list[str] = []  # disputes raised about the case (GET /v1/disputes/{id})
    legal_hold: bool = False
    request: CaseRequest | None = None  # the leaver's own request, with the letter's digest
    decline: Decision | None = None
    successor_id: str | None = None
    last_working_day_changes: list[LastWorkingDayChange] = []
    left_on: str | None = None
    contract_termination: ContractTermination | None = None
    access_frozen: AccessFrozen | None = None
    # signatory → HR's record that they cannot or will not sign the confirmation (digest, why)
    confirmation_exemptions: dict[str, ConfirmationExemption] = {}

    @classmethod
    def of(cls, d: Departure, reader: Actor | None = None) -> DepartureView:
        """From the aggregate, as ``reader`` may see it: the resignation letter's and the
        termination document's name and digest only to those who may download them (the
        leaver, HR, legal, auditors: personal papers, not the manager's or approvers'); with
        no reader, to nobody."""
        papers = reader is not None and may_read_case_files(reader, d)
        return cls(id=str(d.id), version=d.version, started_at=format_time(d.created_on),
                   state=d.state, leaver=dict(d.leaver),
                   manager_id=d.manager_id, hr_owner_id=d.hr_owner_id,
                   notice_date=d.notice_date, last_working_day=d.last_working_day,
                   reason=d.reason, approval_chain=[dict(s) for s in d.approval_chain],
                   approved_steps=d.approved_steps, templates=[dict(t) for t in d.templates],
                   item_ids=list(d.item_ids), reminders=d.reminders,
                   closure=dict(d.closure) if d.closure else None,
                   close_warnings=[dict(w) for w in d.close_warnings],
                   confirmation_signatures={k: dict(v) for k, v in
                                            d.confirmation_signatures.items()},
                   dispute_ids=list(d.dispute_ids), legal_hold=d.legal_hold,
                   request=_papers(d.request, "letter", papers),
                   decline=dict(d.decline) if d.decline else None,
                   successor_id=d.successor_id,
                   last_working_day_changes=[dict(x) for x in d.last_working_day_changes],
                   left_on=d.left_on,
                   contract_termination=_papers(d.contract_termination, "document", papers),
                   access_frozen=dict(d.access_frozen) if d.access_frozen else None,
                   confirmation_exemptions={k: dict(v) for k, v in
                                            d.confirmation_exemptions.items()})


def _papers(fact: JSONObject | None, file_key: str, shown: bool) -> dict[str, Any] | None:
    """A case fact, without the file it cites (``file_key``) unless ``shown``."""
    if fact is None:
        return None
    return {k: v for k, v in fact.items() if shown or k != file_key}


class DeparturePage(View):
    """A page of departures."""

    total: int
    limit: int
    offset: int
    items: list[DepartureView]
    position: int = 0  # the board's log position the page reflects


class ItemView(View):
    """A handover item's current state."""

    id: str
    version: int
    departure_id: str
    category: str
    title: str
    label: str
    acceptance_criteria: str
    giver_id: str
    receiver: str
    mandatory: bool
    priority: str
    due_date: str | None
    state: str
    submissions: int
    evidence: list[CitedFile]
    confirmed_by: str | None
    template_item_key: str | None = None
    submitted_by: str | None = None
    submission_note: str = ""  # the giver's note on the current (or rejected) submission
    criteria_label: str | None = None  # a built-in line's acceptance criteria in English
    satisfied_by: list[EvidenceRuleRecord] = []
    department_may_confirm_directly: bool = False
    # --- see api/signoff_views.py
    signers: list[str] = []
    signers_in_order: bool = False
    pending_signers: list[str] = []
    signoffs: list[SignOffView] = []
    lines: list[LineView] = []
    submission_how: HowHandedOver | None = None
    submission_urgent: bool = False  # the giver flagged the current submission urgent
    # --- required items, the receiver's deadline, questions ---
    requires: list[str] = []  # item ids that must be confirmed or waived first
    unresolved_requires: list[str] = []  # checklist keys no item of the case had when applied
    confirm_within_working_days: int | None = None
    escalate_to: str | None = None  # "hr" (the case's HR owner) or "manager"
    confirm_by: str | None = None  # the current submission's deadline (working days)
    overdue_confirmation: bool = False  # submitted, and the deadline has passed
    escalated: bool = False  # the current submission's overdue confirmation was escalated
    questions: list[Question] = []  # question_id, by, to, text, answer, answered_by
    urgent: bool = False  # may be worked while the departure's approval is pending
    module: str | None = None  # a management item's module (strategy, projects, team, ...)
    # the latest rejection (kept after a resubmission: what the giver was asked to put right)
    last_rejection: Rejection | None = None

    @classmethod
    def of(cls, i: HandoverItem, today: str | None = None) -> ItemView:
        """From the aggregate; ``today`` (the organisation's date) decides whether the
        receiver's confirmation is overdue."""
        return cls(id=str(i.id), version=i.version, departure_id=i.departure_id,
                   category=i.category, title=i.title, label=i.label,
                   acceptance_criteria=i.acceptance_criteria, giver_id=i.giver_id,
                   receiver=i.receiver, mandatory=i.mandatory, priority=i.priority,
                   due_date=i.due_date, state=i.state, submissions=i.submissions,
                   evidence=[dict(e) for e in i.evidence], confirmed_by=i.confirmed_by,
                   template_item_key=i.template_item_key, submitted_by=i.submitted_by,
                   submission_note=i.submission_note, criteria_label=i.criteria_label,
                   satisfied_by=[dict(r) for r in i.satisfied_by],
                   department_may_confirm_directly=i.department_may_confirm_directly,
                   **_flow(i, today), **signoff_fields(i), urgent=i.urgent,
                   module=i.module, last_rejection=dict(i.last_rejection)
                   if i.last_rejection else None)


def _flow(i: HandoverItem, today: str | None) -> dict[str, Any]:
    """The issue-9 fields of an item's view."""
    submitted = i.state == "submitted"
    return {"requires": list(i.requires), "unresolved_requires": list(i.unresolved_requires),
            "confirm_within_working_days": i.confirm_within_working_days,
            "escalate_to": i.escalate_to, "confirm_by": i.confirm_by if submitted else None,
            "overdue_confirmation": bool(submitted and i.confirm_by and today
                                         and today > i.confirm_by),
            "escalated": submitted and i.escalated_submission == i.submissions,
            "questions": [dict(q) for q in i.questions.values()]}


class TemplateView(View):
    """A checklist at its current revision."""

    id: str
    key: str
    role_family: str
    name: str
    label: str
    revision: int
    content_hash: str
    items: list[TemplateLine]
    author: str | None = None  # who wrote this revision (None: before authors were recorded)

    @classmethod
    def of(cls, t: Template) -> TemplateView:
        """From the aggregate."""
        return cls(id=str(t.id), key=t.key, role_family=t.role_family, name=t.name,
                   label=t.label, revision=t.revision, content_hash=t.content_hash,
                   items=[dict(i) for i in t.items], author=t.author)


class TemplateList(View):
    """Every checklist."""

    items: list[TemplateView]


class EventView(EventRef):
    """A stored entry: its exact canonical text, hash and log index (once sequenced)."""

    log_index: int | None
    entry: str

    @classmethod
    def of(cls, e: Entry, log_index: int | None) -> EventView:
        """From a verified entry."""
        return cls(id=str(e.event_id), stream_type=e.stream_type, stream_id=str(e.stream_id),
                   version=e.version, type=e.event_type, hash=e.event_hash.hex(),
                   log_index=log_index, entry=e.raw.decode("utf-8"))


class EventList(View):
    """A stream's entries, oldest first."""

    items: list[EventView]


class Health(View):
    """Liveness / readiness."""

    status: str
    log_size: int | None = None


class WorkerState(View):
    """One background worker of the process, as readiness reports it."""

    name: str
    ok: bool
    detail: str


class ProjectionReadiness(View):
    """One projection, as readiness reports it: its log position and how far behind."""

    name: str
    position: int
    lag: int
    ok: bool


class Ready(Health):
    """Readiness: the database answers, every worker is ok, the sequencer and each
    projection keep up with the log (503 with ``problems`` naming what is wrong)."""

    workers: list[WorkerState] = []
    sequencer_lag: int = 0
    projections: list[ProjectionReadiness] = []
    webhook_backlog: int = 0
    webhook_dead_letters: int = 0
    # with LEDGER_TSA_URLS: seconds since the newest timestamped checkpoint's token, and
    # how long the newest checkpoint has waited for one (ledger.timestamp.freshness)
    timestamp_age_seconds: float | None = None
    timestamp_pending_seconds: float | None = None


class Statement(View):
    """Text to sign, byte for byte."""

    statement: str
