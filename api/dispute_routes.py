"""The handover confirmation (交接确认书) and disputes after close: parse → use case → render.

Commands go through ``command_routes.command_endpoint`` (so they are documented and idempotent
like every other); the reads and the dispute's evidence upload are declared here.
"""

from __future__ import annotations

from aiohttp import web

from api.auth import actor_of
from api.body import path_uuid
from api.command_routes import command_endpoint
from api.endpoint import FILE, EndpointTable
from api.facts import ConfirmationExemption, DisputeStatement, DisputeUpload, Finding
from api.file_transfer import checked_digest, file_part, send_file, store_part
from api.idempotent import IDEMPOTENCY_HEADER
from api.runtime_key import RUNTIME
from api.upload_routes import EvidenceView, record_upload
from api.views import View, ok
from ledger.aggregates.dispute import Dispute
from ledger.entry import format_time
from ledger.service import commands as c
from ledger.service import dispute_queries as dq

table = EndpointTable()
D = "/v1/departures/{departure_id}"
DISPUTE = "/v1/disputes/{dispute_id}"

command_endpoint(D + "/confirmation/signatures",
                 "Sign the handover confirmation (the leaver, each receiver, the HR owner)",
                 c.SignHandoverConfirmation, 201, False)
command_endpoint("/v1/disputes", "Raise a dispute about a case (a receiver, the manager, HR); "
                 "places a legal hold on the case", c.RaiseDispute, 201, False)
command_endpoint(DISPUTE + "/statements", "Add a party's statement citing evidence",
                 c.AddDisputeStatement, 201, False)
command_endpoint(DISPUTE + "/finding", "Record HR's finding on responsibility (closes it)",
                 c.RecordDisputeFinding, 200, False)


class ConfirmationStatement(View):
    """The handover confirmation to sign: ``statement`` byte for byte (UTF-8), its SHA-256,
    every signatory with the parties they sign as, who has not signed it as it stands, and
    which of those HR excused (``reason``, ``by``: POST .../confirmation/exemptions)."""

    departure_id: str
    statement: str
    sha256: str
    signatories: dict[str, list[str]]
    unsigned: list[str]
    excused: dict[str, ConfirmationExemption]


class DisputeView(View):
    """A dispute: its claim, the statements, the files uploaded to it, HR's finding."""

    id: str
    version: int
    departure_id: str
    item_ids: list[str]
    raised_by: str
    raised_as: str
    claim: str
    raised_at: str  # when it was raised (its first entry's recorded_at)
    state: str
    statements: list[DisputeStatement]
    uploads: dict[str, DisputeUpload]
    finding: Finding | None

    @classmethod
    def of(cls, d: Dispute) -> DisputeView:
        """From the aggregate."""
        return cls(id=str(d.id), version=d.version, departure_id=d.departure_id,
                   item_ids=list(d.item_ids), raised_by=d.raised_by, raised_as=d.raised_as,
                   claim=d.claim, raised_at=format_time(d.created_on), state=d.state,
                   statements=[dict(s) for s in d.statements],
                   uploads={k: dict(v) for k, v in d.uploads.items()},
                   finding=dict(d.finding) if d.finding else None)


@table.route("GET", D + "/confirmation",
             "The handover confirmation to sign (those who read the case, and its signatories)",
             response=ConfirmationStatement)
async def get_handover_confirmation(request: web.Request) -> web.Response:
    """Sign ``statement`` (or just name its ``sha256``) with POST .../confirmation/signatures."""
    view = await dq.handover_confirmation(request.app[RUNTIME].ledger, actor_of(request),
                                          path_uuid(request, "departure_id"))
    return ok(ConfirmationStatement(
        departure_id=view.departure_id, statement=view.statement, sha256=view.sha256,
        signatories={k: list(v) for k, v in view.signatories.items()},
        unsigned=view.unsigned, excused={k: dict(v) for k, v in view.excused.items()}))


@table.route("GET", DISPUTE, "Get a dispute (its parties and legal)", response=DisputeView)
async def get_dispute(request: web.Request) -> web.Response:
    """One dispute, with an ETag of its version."""
    dispute = await dq.get_dispute(request.app[RUNTIME].ledger, actor_of(request),
                                   path_uuid(request, "dispute_id"))
    response = ok(DisputeView.of(dispute))
    response.headers["ETag"] = f'"{dispute.version}"'
    return response


@table.route("POST", DISPUTE + "/evidence",
             "Upload a file to a dispute (multipart field 'file'); cite it by its sha256",
             response=EvidenceView, status=201, upload=True, headers=(IDEMPOTENCY_HEADER,))
async def upload_dispute_evidence(request: web.Request) -> web.Response:
    """Authorize, stream the file into the blob store, then record it on the dispute."""
    dispute_id = path_uuid(request, "dispute_id")
    runtime = request.app[RUNTIME]
    actor = actor_of(request)
    await dq.authorize_dispute_upload(runtime.ledger, actor, dispute_id)
    stored = await store_part(await file_part(request), runtime.blobs)
    return await record_upload(request, actor, c.RecordDisputeUpload(
        dispute_id=dispute_id, sha256=stored.sha256, size=stored.size, name=stored.name,
        media_type=stored.media_type))


@table.route("GET", DISPUTE + "/evidence/{sha256}",
             "Download a file uploaded to the dispute (its parties and legal)", produces=FILE)
async def download_dispute_evidence(request: web.Request) -> web.StreamResponse:
    """The file as uploaded, streamed and checked against its name as item evidence is;
    anything the reader may not see is one and the same 404."""
    dispute_id = path_uuid(request, "dispute_id")
    sha256 = checked_digest(request)
    runtime = request.app[RUNTIME]
    upload = await dq.uploaded_dispute_evidence(runtime.ledger, actor_of(request), dispute_id,
                                                sha256)
    return await send_file(request, runtime.blobs, {**upload, "sha256": sha256},
                           f"dispute {dispute_id}")
