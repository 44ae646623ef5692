"""Evidence files: multipart upload streamed into the blob store and recorded as an event on
the item; download streamed back, to those who may read the item, checked against its name."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import AsyncIterator
from urllib.parse import unquote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BaseModel, ConfigDict

from api.auth import actor_of, context_of
from api.body import path_uuid
from api.endpoint import EndpointTable
from api.evidence_headers import download_headers
from api.idempotent import IDEMPOTENCY_HEADER
from api.runtime_key import RUNTIME
from ledger.aggregates.evidence import (
    DEFAULT_MEDIA_TYPE,
    DEFAULT_NAME,
    check_file_name,
    check_media_type,
)
from ledger.errors import InvalidInputError, NotFoundError
from ledger.service import commands as c
from ledger.service import queries as q
from ledger.store.blob_port import CHUNK_BYTES, BlobMissingError

log = logging.getLogger("ledger.api")
table = EndpointTable()
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class EvidenceView(BaseModel):
    """What to cite in a submission's ``evidence`` (exactly these four fields)."""

    model_config = ConfigDict(frozen=True)
    sha256: str
    size: int
    name: str
    media_type: str


async def _chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(CHUNK_BYTES):
        yield chunk


async def _file_part(request: web.Request) -> BodyPartReader:
    if not request.content_type.startswith("multipart/"):
        raise InvalidInputError("send multipart/form-data with a 'file' field", field="file")
    try:
        reader = await request.multipart()
        part = await reader.next()
        if isinstance(part, BodyPartReader) and part.name == "file":
            _ = part.filename  # parse Content-Disposition here, where its errors are mapped
            return part
    except (ValueError, LookupError, UnicodeError, AssertionError,
            HttpProcessingError) as e:
        raise InvalidInputError(f"malformed multipart body: {type(e).__name__}",
                                field="file") from e
    raise InvalidInputError("the first part must be the 'file' field", field="file")


def _sent_name(filename: str | None) -> str:
    """The file name as its sender meant it: browsers (WHATWG HTML) and aiohttp percent-encode
    quotes, line breaks or, for aiohttp, every non-ASCII character of ``filename``."""
    if not filename:
        return DEFAULT_NAME
    try:
        return unquote(filename, errors="strict")
    except UnicodeDecodeError:
        raise InvalidInputError("filename is not UTF-8 once percent-decoded",
                                field="filename") from None


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
    part = await _file_part(request)
    name = check_file_name(_sent_name(part.filename))
    media_type = check_media_type(part.headers.get("Content-Type", DEFAULT_MEDIA_TYPE))
    try:
        sha256, size = await runtime.blobs.put(_chunks(part))
    except (ValueError, HttpProcessingError) as e:
        raise InvalidInputError(f"malformed upload: {type(e).__name__}", field="file") from e
    outcome = await runtime.ledger.execute(
        c.RecordUpload(item_id=item_id, sha256=sha256, size=size, name=name,
                       media_type=media_type),
        actor, context_of(request), idempotency_key=request.headers.get(IDEMPOTENCY_HEADER))
    view = EvidenceView.model_validate(
        {k: outcome.result[k] for k in ("sha256", "size", "name", "media_type")})
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return web.json_response(view.model_dump(), status=201, headers=headers)


@table.route("GET", "/v1/items/{item_id}/evidence/{sha256}",
             "Download a file uploaded to the item (those who may read the item)")
async def download_evidence(request: web.Request) -> web.StreamResponse:
    """The file as uploaded, streamed; anything the reader may not see is one and the same
    404. The bytes are hashed on the way and the last chunk is held back until they match
    their name, so a changed file never arrives whole (the connection is cut instead)."""
    item_id = path_uuid(request, "item_id")
    sha256 = request.match_info["sha256"]
    if not SHA256_HEX.fullmatch(sha256):
        raise InvalidInputError("sha256 must be 64 lowercase hex digits", field="sha256")
    runtime = request.app[RUNTIME]
    upload = await q.uploaded_evidence(runtime.ledger, actor_of(request), item_id, sha256)
    headers = download_headers(sha256, str(upload["name"]), str(upload["media_type"]))
    if f'"{sha256}"' in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers={"ETag": headers["ETag"]})
    chunks = runtime.blobs.read(sha256)
    try:
        first = await anext(chunks, b"")
    except BlobMissingError:
        log.error("evidence %s of item %s is recorded but missing from the blob store",
                  sha256, item_id)
        raise NotFoundError(f"the file of evidence {sha256} is missing from the blob store "
                            "(an operator should run `ledger verify`)") from None
    response = web.StreamResponse(status=200, headers=headers)
    response.content_length = int(str(upload["size"]))
    await response.prepare(request)
    if await _stream_checked(response, first, chunks, sha256, response.content_length):
        await response.write_eof()
    elif request.transport is not None:
        request.transport.close()  # short of its Content-Length: the client sees it broken
    return response


async def _stream_checked(response: web.StreamResponse, first: bytes,
                          chunks: AsyncIterator[bytes], sha256: str, size: int) -> bool:
    """Write the blob, holding its last chunk back until it hashes to ``sha256`` with
    ``size`` bytes; False (the last chunk unsent) when it does not."""
    digest, total, held = hashlib.sha256(first), len(first), first
    async for chunk in chunks:
        if total > size:
            break
        await response.write(held)
        digest.update(chunk)
        total += len(chunk)
        held = chunk
    if total != size or digest.hexdigest() != sha256:
        log.error("evidence %s is stored changed (%d bytes read); download cut", sha256, total)
        return False
    if held:
        await response.write(held)
    return True

