"""Every handover action as a POST: parse → Ledger.execute → render. No logic here: roles and
relations are decided by the use cases."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, create_model

from api.auth import actor_of, context_of
from api.body import build, expected_version, natural, read_object
from api.endpoint import EndpointTable
from api.idempotent import IDEMPOTENCY_HEADER
from api.runtime_key import RUNTIME
from api.views import CommandResult
from ledger.errors import InvalidInputError
from ledger.service import commands as c
from ledger.service.ledger import CommandOutcome

table = EndpointTable()


def render(outcome: CommandOutcome, status: int) -> web.Response:
    """The command's outcome; a replay says so in a header."""
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return web.Response(body=outcome.encoded(), status=status, content_type="application/json",
                        headers=headers)


async def execute(request: web.Request, command: c.Model, status: int) -> web.Response:
    """Run a command as the request's actor, exactly once per Idempotency-Key."""
    outcome = await request.app[RUNTIME].ledger.execute(
        command, actor_of(request), context_of(request),
        idempotency_key=request.headers.get(IDEMPOTENCY_HEADER))
    return render(outcome, status)


SUCCESS_STATUS: dict[str, int] = {}


def command_endpoint(path: str, summary: str, model: type[c.Model], status: int = 200,
                     versioned: bool = True) -> None:
    """Declare ``POST path`` running ``model``, path parameters filled from the URL."""
    SUCCESS_STATUS[str(model.model_fields["type"].default)] = status
    async def handler(request: web.Request) -> web.Response:
        data = await read_object(request)
        extra: dict[str, Any] = dict(request.match_info)
        if "step" in extra:
            extra["step"] = natural(extra["step"], "step", 9999,
                                    "step must be a small non-negative integer")
        version = expected_version(request)
        if version is not None:
            if not versioned:
                raise InvalidInputError("If-Match is not supported here", field="If-Match")
            extra["expected_version"] = version
        return await execute(request, build(model, data, **extra), status)

    headers = (IDEMPOTENCY_HEADER, "If-Match") if versioned else (IDEMPOTENCY_HEADER,)
    handler.__name__ = model.__name__
    table.route("POST", path, summary, body=_documented_body(model, path),
                response=CommandResult, status=status, headers=headers,
                operation_id=snake_case(model.__name__))(handler)


def snake_case(name: str) -> str:
    """``SubmitForApproval`` → ``submit_for_approval``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _documented_body(model: type[c.Model], path: str) -> type[BaseModel]:
    """The body as clients send it: the command without the fields the path supplies."""
    in_path = set(re.findall(r"{(\w+)}", path)) | {"type", "expected_version"}
    fields: dict[str, Any] = {n: (f.annotation, f) for n, f in model.model_fields.items()
                              if n not in in_path}
    return create_model(f"{model.__name__}Body", __config__=ConfigDict(extra="forbid"),
                        __doc__=model.__doc__, **fields)


D = "/v1/departures/{departure_id}"
I = "/v1/items/{item_id}"  # noqa: E741
command_endpoint("/v1/departures", "Start a departure (HR)", c.StartDeparture, 201, False)
command_endpoint(D + "/submit", "Submit for approval (HR)", c.SubmitForApproval)
command_endpoint(D + "/approvals/{step}/approve", "Approve a step", c.ApproveStep)
command_endpoint(D + "/approvals/{step}/reject", "Reject a step", c.RejectStep)
command_endpoint(D + "/withdraw", "Withdraw (HR)", c.WithdrawDeparture)
command_endpoint(D + "/templates", "Apply a checklist (HR)", c.ApplyTemplate)
command_endpoint(D + "/items", "Add an item (HR, manager)", c.AddItem, 201)
command_endpoint(D + "/reminders", "Record a reminder (HR)", c.SendReminder, 201, False)
command_endpoint(D + "/close", "Close (HR; the gate decides)", c.CloseDeparture)
command_endpoint(D + "/hand-over", "Hand the case to another HR owner (its HR owner)",
                 c.HandOverDeparture)
command_endpoint(I + "/submit", "Submit with evidence (giver, HR)", c.SubmitItem)
command_endpoint(I + "/confirm", "Confirm (receiver)", c.ConfirmItem)
command_endpoint(I + "/reject", "Reject with a reason (receiver)", c.RejectItem)
command_endpoint(I + "/waive", "Waive with a reason (HR)", c.WaiveItem)
command_endpoint(I + "/reassign", "Reassign the receiver (HR, manager)", c.ReassignItem)
command_endpoint(I + "/comments", "Comment", c.CommentItem, 201, False)
command_endpoint(I + "/external-evidence", "Record a system's report", c.RecordExternalEvidence,
                 201, False)
command_endpoint("/v1/templates", "Define or revise a checklist (HR)", c.DefineTemplate)
# questions (asked as comments with "question_to") and overdue confirmations
command_endpoint(I + "/questions/{question_id}/answer", "Answer a question asked of you",
                 c.AnswerQuestion, 200, False)
command_endpoint(I + "/escalations", "Escalate an overdue confirmation (HR, system)",
                 c.EscalateConfirmation, 201, False)
# Starting and changing a case (the request itself and the contract's termination carry a file:
# api/case_routes.py).
R = "/v1/departures/requests/{departure_id}"
command_endpoint(R + "/accept", "Accept a leaver's request into the approval chain (HR)",
                 c.AcceptDepartureRequest)
command_endpoint(R + "/decline", "Decline a leaver's request, with a reason (HR)",
                 c.DeclineDepartureRequest)
command_endpoint(D + "/last-working-day", "Move the last working day (HR; checklist due dates "
                 "follow)", c.ChangeLastWorkingDay)
command_endpoint(D + "/left", "Record the day the person left (HR; never gated)", c.RecordLeft,
                 versioned=False)
command_endpoint(D + "/freeze-access", "Freeze the leaver's access now (HR; IT clearance due "
                 "now)", c.FreezeAccess, versioned=False)
command_endpoint(D + "/confirmation/exemptions", "Record that a signatory cannot or will not "
                 "sign the handover confirmation, with a reason (the case's HR owner)",
                 c.ExcuseConfirmationSignature, 201, False)
command_endpoint(R + "/withdraw", "Withdraw your own request, with a reason, before HR accepts "
                 "or declines it (the leaver)", c.WithdrawDepartureRequest)
command_endpoint(I + "/signers/replace", "Replace one signer of an item, with a reason (the "
                 "case's HR owner; the receiver's slot moves with /reassign)",
                 c.ReplaceItemSigner)
