"""My tasks: the inbox (the read model ``GET /v1/inbox`` serves) and an item's action page:
submit or resubmit it with files (streamed into the blob store as the API's upload does),
a note and lines; confirm it (optionally signed in the browser with the person's own Ed25519
key over the statement ``GET /v1/items/{id}/confirmation-statement`` serves) or reject it
with a reason. The same use cases and rules as the API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError

from api.file_transfer import checked_digest, send_file
from api.runtime_key import RUNTIME
from ledger.aggregates.item import HandoverItem
from ledger.errors import LedgerError, NotFoundError
from ledger.projections import inbox_queries as iq
from ledger.service import commands as c
from ledger.service import principal_cases as p
from ledger.service import queries as q
from ledger.service.context import Actor
from ledger.service.timeline import describe
from web.i18n import N_
from web.keys import LOCALE, context_of
from web.labels import ACTION_LABELS, ITEM_STATE_LABELS
from web.render import flash, problem_text, render, status_of
from web.security import CSRF_HEADER, streamed_form
from web.session import see_other, signed_in
from web.signature_form import signature_fields
from web.streamed_form import StreamedForm, read_streamed_form

routes = web.RouteTableDef()
MODELS: dict[str, type[c.Model]] = {"confirm_item": c.ConfirmItem, "reject_item": c.RejectItem,
                                    "answer_question": c.AnswerQuestion}


def _item_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["item_id"])
    except ValueError:
        raise NotFoundError("no such item") from None


def action_link(entry: dict[str, Any]) -> str:
    """The console page on which an inbox entry is done."""
    if entry.get("dispute_id"):
        return f"/console/disputes/{entry['dispute_id']}"
    if entry["action"] == "sign_confirmation":
        return f"/console/departures/{entry['departure_id']}/confirmation"
    if entry["action"] == "apply_checklist":  # the case page's form, that checklist chosen
        return (f"/console/departures/{entry['departure_id']}?"
                f"{urlencode({'apply': entry['template_key']})}#template-key")
    if entry.get("item_id"):
        return f"/console/items/{entry['item_id']}"
    return f"/console/departures/{entry['departure_id']}"


@routes.get("/tasks")
async def tasks(request: web.Request) -> web.Response:
    """What the reader must do now, oldest first, each with the page to do it on."""
    actor = signed_in(request)
    runtime = request.app[RUNTIME]
    found = await iq.inbox(runtime.projections, runtime.principals, actor)
    entries = [{**e, "href": action_link(e)} for e in found["items"]]
    return render(request, "tasks/inbox.html", entries=entries, actions=ACTION_LABELS)


async def _item_page(request: web.Request, item: HandoverItem, status: int = 200,
                     **context: Any) -> web.Response:
    actor = signed_in(request)
    acting = set(actor.acting_for())
    submitting = item.state in ("open", "rejected") and (
        item.giver_id in acting or actor.role == "hr")
    confirming = item.state == "submitted" and bool(acting & set(item.pending_signers()))
    for name in ("submit_error", "confirm_error", "reject_error", "answer_error"):
        context.setdefault(name, None)
    context.setdefault("values", {})
    # after a rejection nothing is ticked: the person ticks what still applies, so the new
    # submission never cites the rejected file again unnoticed
    context.setdefault("kept", set() if item.state == "rejected"
                       else {str(e["sha256"]) for e in item.evidence})
    return render(request, "tasks/item.html", status=status, item=item,
                  submitting=submitting, confirming=confirming,
                  states=ITEM_STATE_LABELS,
                  timeline=await _timeline(request, item, actor), **context)


async def _timeline(request: web.Request, item: HandoverItem,
                    actor: Actor) -> list[dict[str, str]]:
    """The item's own lines of its case's timeline (its one stream, read as ``GET
    /v1/streams/{id}/events`` reads it, to the same readers), oldest first."""
    entries = await q.stream_entries(request.app[RUNTIME].ledger, actor, item.id, "item")
    lang = "zh" if request[LOCALE] == "zh" else "en"
    return [{"at": line["at"], "text": line[lang]}
            for line in (describe(entry, item.title) for entry in entries)]


@routes.get("/items/{item_id}")
async def item_page(request: web.Request) -> web.Response:
    """The item with the actions its reader may take now (404 to whoever may not read it)."""
    actor = signed_in(request)
    item = await q.get_item(request.app[RUNTIME].ledger, actor, _item_id(request))
    return await _item_page(request, item)


def _lines(text: str) -> list[dict[str, str]]:
    rows = [row.strip() for row in text.splitlines() if row.strip()]
    return [{"id": str(n), "text": row} for n, row in enumerate(rows, 1)]


@routes.post("/items/{item_id}/submit")
@streamed_form
async def submit(request: web.Request) -> web.Response:
    """Store the chosen files (each recorded on the item as the API's upload records it),
    then submit the item citing them and the files kept from before."""
    actor = signed_in(request)
    item_id = _item_id(request)
    ledger = request.app[RUNTIME].ledger
    await q.get_item(ledger, actor, item_id)  # 404 before anything is read

    async def authorize() -> None:
        await q.authorize_upload(ledger, actor, item_id)

    form = StreamedForm()
    try:
        form = await read_streamed_form(request, authorize)
        for stored in form.files:
            await ledger.execute(c.RecordUpload(item_id=item_id, **stored.cited()), actor,
                                 context_of(request))
        item = await q.get_item(ledger, actor, item_id)
        kept = set(form.fields.get("keep", [])) | {f.sha256 for f in form.files}
        evidence = [{"sha256": sha, **{k: v for k, v in item.uploads[sha].items()
                                       if k in ("size", "name", "media_type")}}
                    for sha in item.uploads if sha in kept]
        command = c.SubmitItem.model_validate({
            "item_id": str(item_id), "note": form.get("note"), "evidence": evidence,
            "lines": _lines(form.get("lines")),
            "on_behalf": actor.role == "hr" and form.get("on_behalf") == "yes"})
        await ledger.execute(command, actor, context_of(request))
    except (LedgerError, ValidationError) as error:
        problem = problem_text(request, error)
        item = await q.get_item(ledger, actor, item_id)
        return await _item_page(request, item, status_of(problem), submit_error=problem,
                                values={k: v[0] for k, v in form.fields.items()},
                                kept=set(form.fields.get("keep", [])) | {
                                    f.sha256 for f in form.files})
    target = f"/console/items/{item_id}"
    # the page's script (it sent the token as a header) goes there itself: a redirect it
    # followed would show (and spend) the flash inside the request
    response = (web.json_response({"location": target}) if CSRF_HEADER in request.headers
                else see_other(target))
    flash(request, response, N_("Submitted: the receiver has been asked to confirm."))
    return response


async def _decide(request: web.Request, command: dict[str, Any], done: str,
                  error_key: str) -> web.Response:
    actor = signed_in(request)
    item_id = _item_id(request)
    ledger = request.app[RUNTIME].ledger
    await q.get_item(ledger, actor, item_id)
    form = await request.post()
    if command["type"] != "answer_question" and str(form.get("version", "")).isdigit():
        # what the person saw: a submission replaced meanwhile is not decided unseen
        command["expected_version"] = int(str(form["version"]))
    try:
        model = MODELS[command["type"]]
        await ledger.execute(model.model_validate({**command, "item_id": str(item_id)}),
                             actor, context_of(request))
    except (LedgerError, ValidationError) as error:
        problem = problem_text(request, error)
        item = await q.get_item(ledger, actor, item_id)
        return await _item_page(request, item, status_of(problem), **{error_key: problem},
                                values={k: str(v) for k, v in form.items()})
    response = see_other("/console/tasks")
    flash(request, response, done)
    return response


@routes.post("/items/{item_id}/confirm")
async def confirm(request: web.Request) -> web.Response:
    """Confirm the submission (acknowledging the lines ticked), signed when the browser sent
    a signature made with the person's registered key."""
    form = await request.post()
    command: dict[str, Any] = {"type": "confirm_item", "note": str(form.get("note", "")),
                               "acknowledged": [str(v) for v in form.getall("ack", [])]}
    if form.get("signature"):
        command["signature"] = signature_fields(form)
    signed = "signature" in command
    return await _decide(request, command, N_("Confirmed with your signature.") if signed
                         else N_("Confirmed."), "confirm_error")


@routes.post("/items/{item_id}/reject")
async def reject(request: web.Request) -> web.Response:
    """Reject with a reason (required), naming the lines rejected and why."""
    form = await request.post()
    rejected = [{"id": str(k)[len("line_reason:"):], "reason": str(v).strip()}
                for k, v in form.items() if str(k).startswith("line_reason:") and str(v).strip()]
    command = {"type": "reject_item", "reason": str(form.get("reason", "")),
               "rejected_lines": rejected,
               "acknowledged": [str(v) for v in form.getall("ack", [])]}
    return await _decide(request, command, N_("Rejected: the giver sees your reason."),
                         "reject_error")


@routes.get("/items/{item_id}/evidence/{sha256}")
async def download(request: web.Request) -> web.StreamResponse:
    """A file uploaded to the item, to those who may read it, checked against its name on
    the way as the API's download is (one and the same 404 for anything else)."""
    actor = signed_in(request)
    item_id, sha256 = _item_id(request), checked_digest(request)
    runtime = request.app[RUNTIME]
    upload = await q.uploaded_evidence(runtime.ledger, actor, item_id, sha256)
    return await send_file(request, runtime.blobs, {**upload, "sha256": sha256},
                           f"item {item_id}")


@routes.post("/items/{item_id}/questions/{question_id}/answer")
async def answer(request: web.Request) -> web.Response:
    """The addressee answers a question asked on the item."""
    form = await request.post()
    return await _decide(request, {"type": "answer_question",
                                   "question_id": request.match_info["question_id"],
                                   "text": str(form.get("text", ""))},
                         N_("Your answer is recorded."), "answer_error")


@routes.get("/items/{item_id}/statement")
async def statement(request: web.Request) -> web.Response:
    """The statement to sign now (the source ``GET /v1/items/{id}/confirmation-statement``
    uses), for the browser's signing script."""
    actor = signed_in(request)
    text = await q.statement_to_sign(request.app[RUNTIME].ledger, actor, _item_id(request),
                                     dt.datetime.now(dt.UTC))
    return web.json_response({"statement": text})


@routes.get("/keys")
async def my_keys(request: web.Request) -> web.Response:
    """The reader's own signing keys that still verify (the script drops a kept key that
    was revoked and makes a new one)."""
    actor = signed_in(request)
    keys = await p.list_keys(request.app[RUNTIME].principals, actor, actor.id)
    return web.json_response({"keys": [k.key_id for k in keys if not k.revoked]})


@routes.post("/keys")
async def register_key(request: web.Request) -> web.Response:
    """Register the browser's public key for the signed-in principal (their own only, as
    ``POST /v1/principals/{id}/keys`` allows); JSON for the signing script."""
    actor = signed_in(request)
    form = await request.post()
    # a session a one-time link opened ("link") is refused: keys need a token sign-in
    key_id = await p.register_key(request.app[RUNTIME].principals, actor, actor.id,
                                  str(form.get("public_key", "")),
                                  method=context_of(request).auth or "link")
    return web.json_response({"key_id": key_id}, status=201)
