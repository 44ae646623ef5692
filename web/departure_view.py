"""What the departure page shows, read through the API's own reads: the case's board
(``GET /v1/boards/departures/{id}``), its timeline (``GET /v1/departures/{id}/timeline``), the
handover confirmation (``GET /v1/departures/{id}/confirmation``), the approval decisions
(the case's own entries, ``GET /v1/streams/{id}/events``) and the checklists HR may apply
(``GET /v1/templates``). Whoever those reads refuse gets the same refusal."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from api.runtime_key import Services
from ledger.aggregates.departure import FINAL_STATES
from ledger.errors import NotFoundError
from ledger.projections import board_queries as bq
from ledger.service import dispute_queries as dq
from ledger.service import queries as q
from ledger.service.context import Actor
from ledger.service.export_cases import may_export
from ledger.service.timeline import timeline
from web.labels import DECISION_LABELS, RISK_LABELS
from web.risks import risk_reasons

DECIDED = {"DepartureStepApproved": "approved", "DepartureStepRejected": "rejected"}
HR_CLOSED = ("closed", "withdrawn", "declined")


async def departure_view(runtime: Services, actor: Actor, departure_id: UUID,
                         moments: bq.Moments, wait: bq.Wait | None,
                         lang: str) -> dict[str, Any]:
    """Everything the page renders for ``actor`` (NotFoundError where the API's reads
    refuse: a case they may not read is absent)."""
    departure = await q.get_departure(runtime.ledger, actor, departure_id)
    board = await bq.departure_board(runtime.ledger, runtime.projections, actor, departure_id,
                                     moments, wait, runtime.principals)
    summary = board["departure"]
    lines = await timeline(runtime.ledger, actor, departure_id)
    hr = actor.role == "hr" and summary["state"] not in HR_CLOSED
    return {
        "case": summary, "position": board["position"],
        "days_left": (dt.date.fromisoformat(summary["last_working_day"]) - moments.today).days,
        "categories": board["categories"], "blocking": board["blocking"],
        "overdue_ids": {i["id"] for i in board["overdue"]}, "disputes": board["disputes"],
        "risk_label": RISK_LABELS[summary["risk"]], "alerts": risk_reasons(summary, lang),
        "steps": _steps(summary["approval"], await _decisions(runtime, actor, departure_id)),
        "timeline": [{"at": line["at"], "text": line[lang if lang in ("zh", "en") else "en"]}
                     for line in lines],
        "confirmation": await _confirmation(runtime, actor, departure_id),
        "may_export": may_export(actor, departure),
        "bundle_final": summary["state"] in FINAL_STATES,
        "hr_actions": hr, "templates": await _templates(runtime) if hr else [],
        "applied": set(summary["templates"]),
        "decision_labels": DECISION_LABELS,
        "may_approve": summary["state"] == "pending_approval"
        and summary["approval"]["waiting_for"] == actor.id,
    }


async def _decisions(runtime: Services, actor: Actor,
                     departure_id: UUID) -> list[dict[str, Any]]:
    """Every approval and rejection of a step, oldest first (none for a reader who may
    not read the case's own stream)."""
    try:
        entries = await q.stream_entries(runtime.ledger, actor, departure_id, "departure")
    except NotFoundError:
        return []
    return [{"step": e.payload.get("step"), "kind": DECIDED[e.event_type],
             "by": e.actor.get("id"), "at": e.recorded_at,
             "note": e.payload.get("comment") or e.payload.get("reason") or ""}
            for e in entries if e.event_type in DECIDED]


def _steps(approval: dict[str, Any], decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chain's steps with where each stands and every decision taken on it."""
    steps = []
    for n, step in enumerate(approval["steps"]):
        if n < approval["approved"]:
            status = "approved"
        elif approval["waiting_for"] is not None and n == approval["approved"]:
            status = "waiting"
        else:
            status = "pending"
        steps.append({"n": n, "name": step.get("name", ""), "approver": step["approver_id"],
                      "status": status,
                      "decisions": [d for d in decisions if d["step"] == n]})
    return steps


async def _confirmation(runtime: Services, actor: Actor,
                        departure_id: UUID) -> dq.ConfirmationView | None:
    """The handover confirmation as it stands (None to a reader it is not shown to)."""
    try:
        return await dq.handover_confirmation(runtime.ledger, actor, departure_id)
    except NotFoundError:
        return None


async def _templates(runtime: Services) -> list[dict[str, str]]:
    """The checklists at their current revision (key, name), as ``GET /v1/templates``."""
    found = []
    for template_id in await runtime.ledger.store.stream_ids("template"):
        template = await q.get_template(runtime.ledger, template_id)
        found.append({"key": template.key, "name": template.name,
                      "revision": str(template.revision)})
    return sorted(found, key=lambda t: t["key"])
