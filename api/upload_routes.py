"""Evidence upload: multipart, streamed into the content-addressed blob store."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BaseModel, ConfigDict

from api.auth import actor_of
from api.body import path_uuid
from api.endpoint import EndpointTable
from api.runtime_key import RUNTIME
from api.views import ok
from ledger.errors import InvalidInputError, NotFoundError
from ledger.service import queries as q

table = EndpointTable()
CHUNK = 64 * 1024
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class EvidenceView(BaseModel):
    """What to cite in a submission's ``evidence``."""

    model_config = ConfigDict(frozen=True)
    sha256: str
    size: int
    name: str
    media_type: str


async def _chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(CHUNK):
        yield chunk


@table.route("POST", "/v1/items/{item_id}/evidence",
             "Upload an attachment (multipart field 'file'); returns its SHA-256",
             response=EvidenceView, status=201, upload=True)
async def upload_evidence(request: web.Request) -> web.Response:
    """Stream one file into the blob store (giver or HR)."""
    item_id = path_uuid(request, "item_id")
    runtime = request.app[RUNTIME]
    await q.authorize_upload(runtime.ledger, actor_of(request), item_id)
    if not request.content_type.startswith("multipart/"):
        raise InvalidInputError("send multipart/form-data with a 'file' field", field="file")
    try:
        reader = await request.multipart()
        part = await reader.next()
        is_file = isinstance(part, BodyPartReader) and part.name == "file"
        filename = part.filename if is_file and isinstance(part, BodyPartReader) else None
    except (ValueError, LookupError, UnicodeError, AssertionError,
            HttpProcessingError) as e:
        raise InvalidInputError(f"malformed multipart body: {type(e).__name__}",
                                field="file") from e
    if not is_file or not isinstance(part, BodyPartReader):
        raise InvalidInputError("the first part must be the 'file' field", field="file")
    try:
        sha256, size = await runtime.blobs.put(_chunks(part))
    except (ValueError, HttpProcessingError) as e:
        raise InvalidInputError(f"malformed upload: {type(e).__name__}", field="file") from e
    name = (filename or "attachment")[:200]
    media_type = part.headers.get("Content-Type", "application/octet-stream")[:200]
    return ok(EvidenceView(sha256=sha256, size=size, name=name, media_type=media_type),
              status=201)


@table.route("GET", "/v1/items/{item_id}/evidence/{sha256}",
             "Download an attachment the item's submissions cite (those who may read the item)")
async def download_evidence(request: web.Request) -> web.StreamResponse:
    """The blob, named and typed as it was cited; its SHA-256 is the ETag."""
    item_id = path_uuid(request, "item_id")
    sha256 = request.match_info["sha256"]
    if not SHA256_HEX.fullmatch(sha256):
        raise InvalidInputError("sha256 must be 64 lowercase hex digits", field="sha256")
    runtime = request.app[RUNTIME]
    cited = await q.cited_evidence(runtime.ledger, actor_of(request), item_id, sha256)
    path = runtime.blobs.path_for(sha256)
    if not await asyncio.to_thread(path.exists):
        raise NotFoundError(f"evidence {sha256} is cited but was never uploaded here")
    name = str(cited.get("name", "attachment")).replace('"', "'")
    return web.FileResponse(path, headers={
        "Content-Type": str(cited.get("media_type", "application/octet-stream")),
        "Content-Disposition": f'attachment; filename="{name}"', "ETag": f'"{sha256}"',
        "Cache-Control": "private, max-age=3600"})
