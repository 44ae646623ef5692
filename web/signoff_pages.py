"""The handover confirmation (交接确认书: read it, sign it, by session or with one's own key
in the browser) and disputes (raise one, state a side, see HR's finding; HR records it): the
same use cases and reads as api/dispute_routes.py."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from api.query_routes import moments
from api.runtime_key import RUNTIME
from ledger.errors import LedgerError, NotFoundError
from ledger.projections import board_queries as bq
from ledger.service import commands as c
from ledger.service import dispute_queries as dq
from ledger.service import queries as q
from web.i18n import N_
from web.keys import context_of
from web.labels import PARTY_LABELS, RESPONSIBILITY_LABELS
from web.render import flash, problem_text, render, status_of
from web.session import see_other, signed_in
from web.signature_form import signature_fields

routes = web.RouteTableDef()


def _uuid(request: web.Request, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise NotFoundError("not found") from None


async def _execute(request: web.Request, model: type[c.Model],
                   body: dict[str, Any]) -> tuple[Any, Mapping[str, object] | None]:
    """Run the use case ``model`` names with ``body`` as the signed-in reader: its outcome,
    or the refusal's problem (the API's title, translated, and detail) to re-render with."""
    try:
        outcome = await request.app[RUNTIME].ledger.execute(
            model.model_validate(body), signed_in(request), context_of(request))
    except (LedgerError, ValidationError) as error:
        return None, problem_text(request, error)
    return outcome, None


def _done(request: web.Request, path: str, message: str) -> web.Response:
    """Back to ``path`` (POST-redirect-GET) with ``message`` flashed."""
    response = see_other(path)
    flash(request, response, message)
    return response


async def _confirmation_page(request: web.Request, status: int = 200,
                             **context: Any) -> web.Response:
    actor = signed_in(request)
    departure_id = _uuid(request, "departure_id")
    view = await dq.handover_confirmation(request.app[RUNTIME].ledger, actor, departure_id)
    context.setdefault("error", None)
    return render(request, "tasks/confirmation.html", status=status, view=view,
                  may_sign=actor.id in view.unsigned, **context)


@routes.get("/departures/{departure_id}/confirmation")
async def confirmation(request: web.Request) -> web.Response:
    """The statement as it stands, its signatories and who has not signed."""
    return await _confirmation_page(request)


@routes.get("/departures/{departure_id}/confirmation/statement")
async def confirmation_statement(request: web.Request) -> web.Response:
    """The statement's exact text, for the browser's signing script."""
    actor = signed_in(request)
    view = await dq.handover_confirmation(request.app[RUNTIME].ledger, actor,
                                          _uuid(request, "departure_id"))
    return web.json_response({"statement": view.statement, "sha256": view.sha256})


@routes.post("/departures/{departure_id}/confirmation")
async def sign_confirmation(request: web.Request) -> web.Response:
    """Sign the statement whose digest the form names (signed with the person's key when
    the browser sent a signature)."""
    signed_in(request)
    departure_id = _uuid(request, "departure_id")
    form = await request.post()
    body: dict[str, Any] = {"departure_id": str(departure_id),
                            "statement_sha256": str(form.get("statement_sha256", ""))}
    if form.get("signature"):
        body["signature"] = signature_fields(form)
    _, problem = await _execute(request, c.SignHandoverConfirmation, body)
    if problem:
        return await _confirmation_page(request, status_of(problem), error=problem)
    return _done(request, f"/console/departures/{departure_id}/confirmation",
                 N_("Signed with your key.") if "signature" in body else N_("Signed."))


async def _raise_page(request: web.Request, status: int = 200, **context: Any) -> web.Response:
    actor = signed_in(request)
    runtime = request.app[RUNTIME]
    board = await bq.departure_board(runtime.ledger, runtime.projections, actor,
                                     _uuid(request, "departure_id"), moments(request))
    items = [i for group in board["categories"].values() for i in group]
    context.setdefault("values", {})
    context.setdefault("error", None)
    return render(request, "tasks/raise_dispute.html", status=status, board=board,
                  items=items, **context)


@routes.get("/departures/{departure_id}/disputes")
async def disputes(request: web.Request) -> web.Response:
    """The case's disputes its reader may see, and the form to raise one."""
    return await _raise_page(request)


@routes.post("/departures/{departure_id}/disputes")
async def raise_dispute(request: web.Request) -> web.Response:
    """Raise a dispute with a claim about some of the case's items."""
    signed_in(request)
    form = await request.post()
    outcome, problem = await _execute(request, c.RaiseDispute, {
        "departure_id": request.match_info["departure_id"],
        "item_ids": [str(v) for v in form.getall("item", [])],
        "claim": str(form.get("claim", ""))})
    if problem:
        return await _raise_page(request, status_of(problem), error=problem,
                                 values={k: str(v) for k, v in form.items()})
    return _done(request, f"/console/disputes/{outcome.result['dispute_id']}",
                 N_("Dispute raised: the case is under a legal hold."))


async def _dispute_page(request: web.Request, status: int = 200,
                        **context: Any) -> web.Response:
    actor = signed_in(request)
    dispute = await dq.get_dispute(request.app[RUNTIME].ledger, actor,
                                   _uuid(request, "dispute_id"))
    context.setdefault("values", {})
    context.setdefault("files", await _citable(request, dispute.item_ids))
    context.setdefault("statement_error", None)
    context.setdefault("finding_error", None)
    return render(request, "tasks/dispute.html", status=status, dispute=dispute,
                  parties=PARTY_LABELS, responsibilities=RESPONSIBILITY_LABELS, **context)


async def _citable(request: web.Request, item_ids: list[str]) -> list[dict[str, str]]:
    """The files of the dispute's items its reader may read, to cite in a statement."""
    actor = signed_in(request)
    found = []
    for item_id in item_ids:
        try:
            item = await q.get_item(request.app[RUNTIME].ledger, actor, uuid.UUID(item_id))
        except NotFoundError:
            continue
        found += [{"value": f"{item.id}:{sha}", "name": str(up["name"]), "item": item.title}
                  for sha, up in item.uploads.items()]
    return found


@routes.get("/disputes/{dispute_id}")
async def dispute(request: web.Request) -> web.Response:
    """A dispute: its claim, the statements, HR's finding (its parties and legal)."""
    return await _dispute_page(request)


async def _dispute_command(request: web.Request, model: type[c.Model], fields: dict[str, Any],
                           done: str, error_key: str) -> web.Response:
    actor = signed_in(request)
    dispute_id = _uuid(request, "dispute_id")
    await dq.get_dispute(request.app[RUNTIME].ledger, actor, dispute_id)
    _, problem = await _execute(request, model, {"dispute_id": str(dispute_id), **fields})
    if problem:
        form = await request.post()
        return await _dispute_page(request, status_of(problem), **{error_key: problem},
                                   values={k: str(v) for k, v in form.items()})
    return _done(request, f"/console/disputes/{dispute_id}", done)


@routes.post("/disputes/{dispute_id}/statements")
async def add_statement(request: web.Request) -> web.Response:
    """A party states their side."""
    form = await request.post()
    cited = [str(v).partition(":") for v in form.getall("cite", [])]
    return await _dispute_command(request, c.AddDisputeStatement,
                                  {"text": str(form.get("text", "")), "evidence": [
                                      {"item_id": item, "sha256": sha}
                                      for item, _, sha in cited]},
                                  N_("Your statement is recorded."), "statement_error")


@routes.post("/disputes/{dispute_id}/finding")
async def record_finding(request: web.Request) -> web.Response:
    """HR records its finding on responsibility, with reasons (the use case decides who)."""
    form = await request.post()
    return await _dispute_command(request, c.RecordDisputeFinding, {
        "responsibility": str(form.get("responsibility", "")),
        "reasons": str(form.get("reasons", ""))}, N_("The finding is recorded."), "finding_error")
