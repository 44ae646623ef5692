"""HR's actions on the departure page, each a POST form running the API's own command
(ledger.service.commands, through ``Ledger.execute`` as the actor of the session): apply a
checklist, add an item, reassign an item's receiver, remind, waive one with a reason (one
form each for the case, the item chosen from its open items), submit for approval, approve a
step, close. The use cases decide who may; a refusal re-renders the page
with the API's problem beside the form, kept filled in."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from aiohttp import web
from pydantic import ValidationError

from api.body import path_uuid
from api.runtime_key import RUNTIME
from ledger.aggregates.item import HandoverItem
from ledger.errors import LedgerError, NotFoundError
from ledger.service import commands as c
from ledger.service import queries as q
from ledger.service.commands import canonical_uuid
from web.departure_pages import kept, show
from web.i18n import N_
from web.keys import context_of
from web.render import flash, problem_text
from web.session import see_other, signed_in

routes = web.RouteTableDef()
CASE = "/departures/{departure_id}"
Build = Callable[[dict[str, str]], c.Model | Awaitable[c.Model]]


async def _run(request: web.Request, failed: str, fields: tuple[str, ...], build: Build,
               done: str) -> web.StreamResponse:
    """Parse the form, run the command, and go back to the case (waiting there for the
    board to show the command's last event); on a refusal show the page with the problem."""
    actor = signed_in(request)
    departure_id = path_uuid(request, "departure_id")
    values = kept(await request.post(), *fields)
    try:
        command = build(values)
        if inspect.isawaitable(command):
            command = await command
        outcome = await request.app[RUNTIME].ledger.execute(command, actor,
                                                           context_of(request))
    except (LedgerError, ValidationError) as error:
        problem = problem_text(request, error)
        status = problem["status"]
        return await show(request, departure_id, problem=problem, failed=failed, form=values,
                          status=status if isinstance(status, int) else 500)
    events: Any = outcome.body.get("events") or []
    after = f"?after={events[-1]['id']}" if events else ""
    response = see_other(f"/console/departures/{departure_id}{after}")
    flash(request, response, done)
    return response


def _departure(request: web.Request) -> UUID:
    return path_uuid(request, "departure_id")


@routes.post(CASE + "/apply")
async def apply_checklist(request: web.Request) -> web.StreamResponse:
    """Apply a checklist (``ApplyTemplate``), with the successor its successor lines go to
    when the case names none (as the API's ``successor_id``; blank: the case's own)."""
    return await _run(request, "apply", ("template_key", "successor_id"),
                      lambda v: c.ApplyTemplate(
                          departure_id=_departure(request), template_key=v["template_key"],
                          successor_id=v.get("successor_id", "").strip() or None),
                      N_("The checklist was applied."))


def _add_item(request: web.Request, v: dict[str, str]) -> c.Model:
    return c.AddItem.model_validate({
        "departure_id": _departure(request), "category": v["category"], "title": v["title"],
        "receiver": v["receiver"].strip(), "acceptance_criteria": v["acceptance_criteria"],
        "mandatory": v.get("mandatory") == "yes", "due_date": v["due_date"] or None})


@routes.post(CASE + "/items")
async def add_item(request: web.Request) -> web.StreamResponse:
    """Add an item (``AddItem``)."""
    return await _run(request, "add-item", ("category", "title", "receiver",
                                            "acceptance_criteria", "mandatory", "due_date"),
                      lambda v: _add_item(request, v), N_("The item was added."))


@routes.post(CASE + "/submit")
async def submit_for_approval(request: web.Request) -> web.StreamResponse:
    """Send a draft into its approval chain (``SubmitForApproval``)."""
    return await _run(request, "submit", (), lambda v: c.SubmitForApproval(
        departure_id=_departure(request)), N_("The case was submitted for approval."))


def _step(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 3 else -1


@routes.post(CASE + "/approve")
async def approve_step(request: web.Request) -> web.StreamResponse:
    """Approve the current step (``ApproveStep``: its approver only)."""
    return await _run(request, "approve", ("step", "comment"), lambda v: c.ApproveStep(
        departure_id=_departure(request), step=_step(v["step"]), comment=v["comment"]),
        N_("You approved this step."))


@routes.post(CASE + "/reject")
async def reject_step(request: web.Request) -> web.StreamResponse:
    """Reject the current step with a required reason (``RejectStep``: its approver only;
    the case returns to draft)."""
    return await _run(request, "reject", ("step", "reason"), lambda v: c.RejectStep(
        departure_id=_departure(request), step=_step(v["step"]), reason=v["reason"]),
        N_("You rejected this step; the case is back in draft."))


@routes.post(CASE + "/close")
async def close(request: web.Request) -> web.StreamResponse:
    """Close the case (``CloseDeparture``: the gate decides)."""
    return await _run(request, "close", ("note",), lambda v: c.CloseDeparture(
        departure_id=_departure(request), note=v["note"]), N_("The case is closed."))


def _chosen(values: dict[str, str]) -> UUID:
    """The item chosen in the form's item list (an id that is none: absent, as the API's
    404 for an item that is not there)."""
    try:
        return canonical_uuid(values["item"])
    except ValueError:
        raise NotFoundError("no such item") from None


@routes.post(CASE + "/reassign")
async def reassign(request: web.Request) -> web.StreamResponse:
    """Give the chosen item a new receiver (``ReassignItem``), with a reason."""
    return await _run(request, "reassign", ("item", "receiver", "reason"),
                      lambda v: c.ReassignItem(item_id=_chosen(v), receiver=v["receiver"].strip(),
                                               reason=v["reason"]),
                      N_("The item has a new receiver."))


@routes.post(CASE + "/waive")
async def waive(request: web.Request) -> web.StreamResponse:
    """Waive the chosen item (``WaiveItem``), with a required reason."""
    return await _run(request, "waive", ("item", "reason"), lambda v: c.WaiveItem(
        item_id=_chosen(v), reason=v["reason"]), N_("The item was waived."))


@routes.post(CASE + "/remind")
async def remind(request: web.Request) -> web.StreamResponse:
    """Record a reminder about the chosen item (``SendReminder``) to the person named, or
    (none named) to whoever must act on it now: its signer while it waits for a signature,
    else its giver."""
    actor = signed_in(request)
    ledger = request.app[RUNTIME].ledger

    async def build(v: dict[str, str]) -> c.Model:
        item_id = _chosen(v)
        to = v["to"].strip() or _must_act(await q.get_item(ledger, actor, item_id))
        return c.SendReminder.model_validate({
            "departure_id": _departure(request), "to": to, "item_ids": [item_id],
            "channel": v["channel"], "message": v["message"]})

    return await _run(request, "remind", ("item", "to", "channel", "message"), build,
                      N_("The reminder was recorded."))


def _must_act(item: HandoverItem) -> str:
    if item.state == "submitted":
        return next(iter(item.pending_signers()), item.receiver)
    return item.giver_id
