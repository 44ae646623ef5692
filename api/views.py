"""Response models: what the API returns, documented in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from ledger.aggregates.template import Template
from ledger.entry import Entry


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
    result: dict[str, Any]
    events: list[EventRef]


class DepartureView(View):
    """A departure's current state."""

    id: str
    version: int
    state: str
    leaver: dict[str, Any]
    manager_id: str
    hr_owner_id: str
    notice_date: str
    last_working_day: str
    reason: str
    approval_chain: list[dict[str, Any]]
    approved_steps: int
    templates: list[dict[str, Any]]
    item_ids: list[str]
    reminders: int
    closure: dict[str, Any] | None
    request: dict[str, Any] | None = None  # the leaver's own request, with the letter's digest
    decline: dict[str, Any] | None = None
    successor_id: str | None = None
    last_working_day_changes: list[dict[str, Any]] = []
    left_on: str | None = None
    contract_termination: dict[str, Any] | None = None
    access_frozen: dict[str, Any] | None = None

    @classmethod
    def of(cls, d: Departure) -> DepartureView:
        """From the aggregate."""
        return cls(id=str(d.id), version=d.version, state=d.state, leaver=dict(d.leaver),
                   manager_id=d.manager_id, hr_owner_id=d.hr_owner_id,
                   notice_date=d.notice_date, last_working_day=d.last_working_day,
                   reason=d.reason, approval_chain=[dict(s) for s in d.approval_chain],
                   approved_steps=d.approved_steps, templates=[dict(t) for t in d.templates],
                   item_ids=list(d.item_ids), reminders=d.reminders,
                   closure=dict(d.closure) if d.closure else None,
                   request=dict(d.request) if d.request else None,
                   decline=dict(d.decline) if d.decline else None,
                   successor_id=d.successor_id,
                   last_working_day_changes=[dict(x) for x in d.last_working_day_changes],
                   left_on=d.left_on,
                   contract_termination=(dict(d.contract_termination)
                                         if d.contract_termination else None),
                   access_frozen=dict(d.access_frozen) if d.access_frozen else None)


class DeparturePage(View):
    """A page of departures."""

    total: int
    limit: int
    offset: int
    items: list[DepartureView]


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
    evidence: list[dict[str, Any]]
    confirmed_by: str | None
    template_item_key: str | None = None
    submitted_by: str | None = None
    satisfied_by: list[dict[str, Any]] = []
    department_may_confirm_directly: bool = False
    urgent: bool = False  # may be worked while the departure's approval is pending

    @classmethod
    def of(cls, i: HandoverItem) -> ItemView:
        """From the aggregate."""
        return cls(id=str(i.id), version=i.version, departure_id=i.departure_id,
                   category=i.category, title=i.title, label=i.label,
                   acceptance_criteria=i.acceptance_criteria, giver_id=i.giver_id,
                   receiver=i.receiver, mandatory=i.mandatory, priority=i.priority,
                   due_date=i.due_date, state=i.state, submissions=i.submissions,
                   evidence=[dict(e) for e in i.evidence], confirmed_by=i.confirmed_by,
                   template_item_key=i.template_item_key, submitted_by=i.submitted_by,
                   satisfied_by=[dict(r) for r in i.satisfied_by],
                   department_may_confirm_directly=i.department_may_confirm_directly,
                   urgent=i.urgent)


class TemplateView(View):
    """A checklist at its current revision."""

    id: str
    key: str
    role_family: str
    name: str
    label: str
    revision: int
    content_hash: str
    items: list[dict[str, Any]]
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


class Statement(View):
    """Text to sign, byte for byte."""

    statement: str
