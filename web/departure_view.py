"""What the departure page shows, read as the board serves it (``GET
/v1/boards/departures/{id}``: the case's summary, its approval chain, items, blocking and
overdue items, disputes, who signed the confirmation), plus the checklists HR may apply
(``GET /v1/templates``). The case's timeline and its approval decisions are on their own page
(``GET /v1/departures/{id}/timeline`` and the case's own entries, ``GET
/v1/streams/{id}/events``): every stream of the case read and verified, too dear for a page
the board serves. Whoever those reads refuse gets the same refusal."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from uuid import UUID

from api.runtime_key import Services
from ledger.aggregates.departure import ENDED_STATES, FINAL_STATES, OPEN_FOR_CHECKLISTS
from ledger.errors import NotFoundError
from ledger.projections import board_queries as bq
from ledger.service import queries as q
from ledger.service import sign_in_link_cases as links
from ledger.service.context import Actor
from ledger.service.export_cases import may_export
from ledger.service.timeline import timeline
from web.labels import DECISION_LABELS, RISK_LABELS
from web.people import QUEUE, case_ids
from web.risks import risk_reasons

DECIDED = {"DepartureStepApproved": "approved", "DepartureStepRejected": "rejected"}
HR_CLOSED = ("closed", "withdrawn", "declined")


async def departure_view(runtime: Services, actor: Actor, departure_id: UUID,
                         moments: bq.Moments, wait: bq.Wait | None,
                         lang: str) -> dict[str, Any]:
    """Everything the page renders for ``actor`` (NotFoundError where the board refuses:
    a case they may not read is absent)."""
    # independent reads, at once (the checklists read for HR only, before the board has
    # said the case is theirs to see: nothing of them is shown to anyone else)
    found = await asyncio.gather(
        bq.departure_board(runtime.ledger, runtime.projections, actor, departure_id,
                           moments, wait, runtime.principals),
        q.get_departure(runtime.ledger, actor, departure_id),
        _templates(runtime) if actor.role == "hr" else _nothing(), return_exceptions=True)
    for outcome in found:
        if isinstance(outcome, BaseException):
            raise outcome
    board, departure, templates = found
    summary = board["departure"]
    hr = actor.role == "hr" and summary["state"] not in HR_CLOSED
    categories = board["categories"]
    return {
        "case": summary, "position": board["position"],
        "days_left": (dt.date.fromisoformat(summary["last_working_day"]) - moments.today).days,
        "categories": categories, "blocking": board["blocking"],
        "overdue_ids": {i["id"] for i in board["overdue"]}, "disputes": board["disputes"],
        "risk_label": RISK_LABELS[summary["risk"]], "alerts": risk_reasons(summary, lang),
        "steps": _steps(summary["approval"]),
        "may_export": may_export(actor, departure),
        "bundle_final": summary["state"] in FINAL_STATES,
        "hr_actions": hr, "templates": templates if hr else [],
        "open_items": [i for items in categories.values() for i in items
                       if i["state"] not in ("confirmed", "waived")] if hr else [],
        "applied": set(summary["templates"]),
        "may_approve": summary["state"] == "pending_approval"
        and summary["approval"]["waiting_for"] == actor.id,
        # what the aggregate accepts: CloseDeparture while handing over, ApplyTemplate
        # while approval is pending or once approved (ledger.aggregates.departure)
        "may_close": summary["state"] == "handing_over",
        "may_apply": summary["state"] in OPEN_FOR_CHECKLISTS,
        # the approval leaves the role family's checklist to HR when it cannot apply it (one
        # with lines for a successor, on a case that names none): said where HR applies it
        "family_not_applied": _family_not_applied(summary) if hr else None,
        "countdown": summary["state"] not in ENDED_STATES,
        # the form only where the use case would accept it (approved or handing over, HR who
        # runs the case); before that, HR who runs it is told when it comes
        **await _names(runtime, summary, categories, board["disputes"]),
        "parties": _parties(summary, categories)
        if hr and links.may_send_for(runtime.ledger, actor, departure) else [],
        "links_later": hr and departure.state not in links.LINKED_STATES
        and links.runs_case(runtime.ledger, actor, departure),
    }


async def _names(runtime: Services, summary: dict[str, Any],
                 categories: dict[str, list[dict[str, Any]]],
                 disputes: list[dict[str, Any]]) -> dict[str, Any]:
    """The names of everyone the page prints (web.people), read in one look-up, the leaver's
    as the case records it (as its heading shows it); and the department queues it names."""
    named = case_ids(summary, categories, disputes)
    names = await runtime.principals.names_of(sorted(w for w in named if not w.startswith(QUEUE)))
    leaver = summary["leaver"]
    if isinstance(leaver.get("id"), str) and isinstance(leaver.get("name"), str):
        names[leaver["id"]] = leaver["name"]
    return {"names": names, "queues": sorted(w for w in named if w.startswith(QUEUE))}


def _family_not_applied(summary: dict[str, Any]) -> str | None:
    """The leaver's role family, when the case is approved and its checklist not applied."""
    family = summary["leaver"].get("role_family")
    if summary["state"] not in ("approved", "handing_over") or not isinstance(family, str):
        return None
    return None if family in summary["templates"] else family


def _parties(summary: dict[str, Any], categories: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Who takes part in the case (a sign-in link may be sent them; the use case decides):
    its leaver first, its manager, successor and approvers, its items' givers and receivers."""
    named = [summary["leaver"].get("id"), summary["manager_id"], summary["successor_id"],
             *(s.get("approver_id") for s in summary["approval"]["steps"]),
             *(who for items in categories.values() for i in items
               for who in (i["giver_id"], i["receiver"]))]
    found: list[str] = []
    for who in named:
        if isinstance(who, str) and who and not who.startswith("dept:") and who not in found \
                and who != summary["hr_owner_id"]:
            found.append(who)
    return found


async def timeline_view(runtime: Services, actor: Actor, departure_id: UUID,
                        lang: str) -> dict[str, Any]:
    """The case's timeline page: its header, every line the reader may read (as ``GET
    /v1/departures/{id}/timeline`` serves them) and the approval chain's decisions with
    their comments (to a reader of the case's own entries)."""
    departure = await q.get_departure(runtime.ledger, actor, departure_id)
    lines = await timeline(runtime.ledger, actor, departure_id)
    names = [str(step.get("name", "")) for step in departure.approval_chain]
    decisions = [{**d, "step_name": names[d["step"]] if isinstance(d["step"], int)
                  and 0 <= d["step"] < len(names) else ""}
                 for d in await _decisions(runtime, actor, departure_id)]
    deciders = {d["by"] for d in decisions if isinstance(d["by"], str)}
    return {
        "departure": departure, "decisions": decisions,
        "names": await runtime.principals.names_of(deciders) if deciders else {},
        "timeline": [{"at": line["at"], "text": line[lang if lang in ("zh", "en") else "en"]}
                     for line in lines],
        "decision_labels": DECISION_LABELS,
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


def _steps(approval: dict[str, Any]) -> list[dict[str, Any]]:
    """The chain's steps with where each stands (its decisions are on the timeline page)."""
    steps = []
    for n, step in enumerate(approval["steps"]):
        if n < approval["approved"]:
            status = "approved"
        elif approval["waiting_for"] is not None and n == approval["approved"]:
            status = "waiting"
        else:
            status = "pending"
        steps.append({"n": n, "name": step.get("name", ""), "approver": step["approver_id"],
                      "status": status})
    return steps


async def _templates(runtime: Services) -> list[dict[str, str]]:
    """The checklists at their current revision (key, name), as ``GET /v1/templates``."""
    ids = await runtime.ledger.store.stream_ids("template")
    found = [{"key": t.key, "name": t.name, "revision": str(t.revision)}
             for t in await asyncio.gather(*(q.get_template(runtime.ledger, i) for i in ids))]
    return sorted(found, key=lambda t: t["key"])


async def _nothing() -> list[dict[str, str]]:
    return []
