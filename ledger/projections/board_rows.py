"""What the departure board keeps of each item, case and dispute: pure functions of the
aggregates as of a log position, and of the event being applied (for moments and counts that
the aggregates do not keep)."""

from __future__ import annotations

from typing import Any

import orjson

from ledger.aggregates.departure import OPEN_FOR_ITEMS, Departure
from ledger.aggregates.dispute import Dispute
from ledger.aggregates.item import DONE_STATES, HandoverItem
from ledger.aggregates.snapshot import snapshot
from ledger.entry import Entry, format_time

OPEN_CASE_EXCLUDED = ("closed", "withdrawn", "declined")
ACCOUNTS = "accounts_permissions"
# What an event does to an item's running figures (a decision, a comment, a report).
DECISIONS = {"ItemConfirmed": "confirmed", "ItemRejected": "rejected", "ItemWaived": "waived",
             "ItemSignedOff": "signed_off", "ItemReassigned": "reassigned"}


TIMED = frozenset({"ItemSubmitted", "ItemRejected", *DECISIONS})  # the events whose time shows


def new_extras() -> dict[str, Any]:
    """An item's running figures before its first event."""
    return {"comments": 0, "rejections": 0, "external_reports": 0, "escalations": 0,
            "last_decision": None, "submitted_at": None, "rejected_at": None}


def update_extras(extras: dict[str, Any], entry: Entry) -> dict[str, Any]:
    """The running figures after ``entry`` (an item's event)."""
    out = dict(extras)
    kind = entry.event_type
    at = format_time(entry.recorded_at) if kind in TIMED else ""
    if kind in ("ItemCommented", "ItemQuestionAsked", "ItemQuestionAnswered"):
        out["comments"] += 1
    elif kind == "ItemSubmitted":
        out["submitted_at"], out["rejected_at"] = at, None
    elif kind == "ItemExternalEvidenceRecorded":
        out["external_reports"] += 1
    elif kind == "ItemConfirmationEscalated":
        out["escalations"] += 1
    if kind in DECISIONS:
        out["last_decision"] = {"kind": DECISIONS[kind], "by": entry.payload.get("by"),
                                "reason": entry.payload.get("reason"), "at": at}
    if kind == "ItemRejected":
        out["rejections"] += 1
        out["rejected_at"] = at
    return out


def item_columns(item: HandoverItem, extras: dict[str, Any]) -> dict[str, Any]:
    """The item's row: indexed columns, and ``doc`` (what the board shows of it)."""
    open_item = item.state not in DONE_STATES
    doc = {
        "id": str(item.id), "category": item.category, "title": item.title,
        "label": item.label, "module": item.module, "state": item.state,
        "giver_id": item.giver_id, "receiver": item.receiver, "mandatory": item.mandatory,
        "priority": item.priority, "due_date": item.due_date, "urgent": item.urgent,
        "submissions": item.submissions, "evidence_files": len(item.evidence),
        "signed": any(s.get("signed") for s in item.signoffs.values()),
        "signers": list(item.required_signers()), "pending_signers": (
            item.pending_signers() if item.state == "submitted" else []),
        "lines": len(item.lines),
        "lines_acknowledged": _acknowledged(item),
        "lines_rejected": [str(r.get("id")) for r in item.line_rejections],
        "open_questions": sum(1 for q in item.questions.values() if q.get("answer") is None),
        "confirm_by": item.confirm_by if item.state == "submitted" else None,
        "confirm_within_working_days": item.confirm_within_working_days,
        "escalated": item.state == "submitted"
        and item.escalated_submission == item.submissions,
        "requires": list(item.requires), **extras,
    }
    return {"item_id": str(item.id), "departure_id": item.departure_id,
            "category": item.category, "title": item.title, "state": item.state,
            "giver_id": item.giver_id, "receiver": item.receiver,
            "mandatory": int(item.mandatory), "open": int(open_item),
            "due_date": item.due_date if open_item else None,
            "confirm_by": doc["confirm_by"], "rejected_at": extras["rejected_at"]
            if item.state == "rejected" else None,
            "signers": " ".join(doc["signers"]),
            "pending_signers": " ".join(doc["pending_signers"]),
            "urgent": int(item.urgent), "submitted_at": extras["submitted_at"]
            if item.state == "submitted" else None,
            "questions_to": " ".join(sorted({str(q.get("to")) for q in item.questions.values()
                                             if q.get("answer") is None})),
            "label": item.label or "", "doc": doc}


def _acknowledged(item: HandoverItem) -> list[str]:
    """The line ids some signer of the current submission acknowledged."""
    found: set[str] = set()
    for signoff in item.signoffs.values():
        lines = signoff.get("acknowledged")
        if isinstance(lines, list):
            found.update(str(line) for line in lines)
    return sorted(found)


def current_approver(d: Departure) -> str | None:
    """Whose approval the case waits for, if it waits."""
    if d.state != "pending_approval" or d.approved_steps >= len(d.approval_chain):
        return None
    return str(d.approval_chain[d.approved_steps]["approver_id"])


def departure_columns(d: Departure) -> dict[str, Any]:
    """The case's own row (its items' figures are added by the projector), with the whole
    aggregate (``whole``: ``GET /v1/departures`` answers with it)."""
    doc = {
        "id": str(d.id), "state": d.state, "leaver": dict(d.leaver),
        "manager_id": d.manager_id, "hr_owner_id": d.hr_owner_id,
        "notice_date": d.notice_date, "last_working_day": d.last_working_day,
        "started_at": format_time(d.created_on),
        "approval": {"steps": [dict(s) for s in d.approval_chain],
                     "approved": d.approved_steps, "waiting_for": current_approver(d)},
        "templates": [str(t.get("key")) for t in d.templates], "reminders": d.reminders,
        "successor_id": d.successor_id, "left_on": d.left_on,
        "access_frozen": d.access_frozen is not None, "legal_hold": d.legal_hold,
        "confirmation_signed_by": sorted(d.confirmation_signatures),
        "closure": dict(d.closure) if d.closure else None,
        "close_warnings": len(d.close_warnings),
    }
    return {"departure_id": str(d.id), "state": d.state,
            "leaver_id": d.leaver_id, "leaver_name": str(d.leaver.get("name", "")),
            "department": str(d.leaver.get("department", "")),
            "hr_owner_id": d.hr_owner_id, "manager_id": d.manager_id,
            "last_working_day": d.last_working_day, "waiting_for": current_approver(d),
            "open": int(d.state not in OPEN_CASE_EXCLUDED), "started_at": doc["started_at"],
            "closed_at": str(d.closure["recorded_at"]) if d.closure else None,
            "skipped": _skipped(d), "whole": snapshot(d), "doc": doc}


def _skipped(d: Departure) -> str | None:
    """The checklists the approval left to HR and not applied since, while the case's items
    are worked (JSON: key and reason each, by key), for its HR owner's inbox; None when
    there are none."""
    if d.state not in OPEN_FOR_ITEMS or not d.checklists_skipped:
        return None
    return orjson.dumps([{"key": k, "reason": d.checklists_skipped[k]}
                         for k in sorted(d.checklists_skipped)]).decode()


def dispute_columns(d: Dispute) -> dict[str, Any]:
    """A dispute's row: its case, state, who raised it and HR's finding."""
    doc = {"id": str(d.id), "state": d.state, "raised_by": d.raised_by,
           "raised_as": d.raised_as, "raised_at": format_time(d.created_on),
           "item_ids": list(d.item_ids), "statements": len(d.statements),
           "stated_by": sorted({str(s.get("by")) for s in d.statements}),
           "finding": d.finding.get("responsibility") if d.finding else None}
    return {"dispute_id": str(d.id), "departure_id": d.departure_id, "state": d.state,
            "doc": doc}
