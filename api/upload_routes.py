"""Evidence files: multipart upload streamed into the blob store and recorded as an event on
the item; download streamed back, to those who may read the item, checked against its name."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from api.auth import actor_of, context_of
from api.body import path_uuid
from api.endpoint import FILE, EndpointTable
from api.file_transfer import checked_digest, file_part, send_file, store_part
from api.idempotent import IDEMPOTENCY_HEADER
from api.runtime_key import RUNTIME
from ledger.service import commands as c
from ledger.service import queries as q
from ledger.service.context import Actor

table = EndpointTable()


class EvidenceView(BaseModel):
    """What to cite in a submission's ``evidence`` (exactly these four fields)."""

    model_config = ConfigDict(frozen=True)
    sha256: str
    size: int
    name: str
    media_type: str


@table.route("POST", "/v1/items/{item_id}/evidence",
             "Upload an attachment (multipart field 'file'); recorded on the item, returns "
             "what to cite", response=EvidenceView, status=201, upload=True,
             headers=(IDEMPOTENCY_HEADER,))
async def upload_evidence(request: web.Request) -> web.Response:
    """Authorize, check the name and type, stream the file into the blob store, then record
    the upload (giver or HR; refused once the departure is closed or withdrawn)."""
    item_id = path_uuid(request, "item_id")
    runtime = request.app[RUNTIME]
    actor = actor_of(request)
    await q.authorize_upload(runtime.ledger, actor, item_id)
    stored = await store_part(await file_part(request), runtime.blobs)
    return await record_upload(request, actor, c.RecordUpload(
        item_id=item_id, sha256=stored.sha256, size=stored.size, name=stored.name,
        media_type=stored.media_type))


async def record_upload(request: web.Request, actor: Actor, command: c.Model) -> web.Response:
    """Record a stored file with ``command`` (idempotently) and answer what to cite."""
    outcome = await request.app[RUNTIME].ledger.execute(
        command, actor, context_of(request),
        idempotency_key=request.headers.get(IDEMPOTENCY_HEADER))
    view = EvidenceView.model_validate(
        {k: outcome.result[k] for k in ("sha256", "size", "name", "media_type")})
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return web.json_response(view.model_dump(), status=201, headers=headers)


@table.route("GET", "/v1/items/{item_id}/evidence/{sha256}",
             "Download a file uploaded to the item (those who may read the item)",
             produces=FILE)
async def download_evidence(request: web.Request) -> web.StreamResponse:
    """The file as uploaded, streamed; anything the reader may not see is one and the same
    404. The bytes are hashed on the way and the last chunk is held back until they match
    their name, so a changed file never arrives whole (the connection is cut instead)."""
    item_id = path_uuid(request, "item_id")
    sha256 = checked_digest(request)
    runtime = request.app[RUNTIME]
    upload = await q.uploaded_evidence(runtime.ledger, actor_of(request), item_id, sha256)
    return await send_file(request, runtime.blobs, {**upload, "sha256": sha256},
                           f"item {item_id}")
