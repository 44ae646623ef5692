"""Files over HTTP, one way for every route that takes or serves one (item and dispute
evidence, a resignation letter, a termination document): a multipart part streamed into the
blob store, and a stored file streamed back checked against its name."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import unquote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from api.evidence_headers import download_headers
from ledger.aggregates.evidence import (
    DEFAULT_MEDIA_TYPE,
    DEFAULT_NAME,
    check_file_name,
    check_media_type,
)
from ledger.canonical import JSONObject, JSONValue
from ledger.errors import InvalidInputError, NotFoundError
from ledger.store.blob_port import CHUNK_BYTES, BlobMissingError, BlobStore

log = logging.getLogger("ledger.api")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# What a multipart body may throw at us while it is parsed: all of it is the client's error.
MULTIPART_ERRORS = (ValueError, LookupError, UnicodeError, AssertionError, HttpProcessingError)


async def chunks_of(part: BodyPartReader) -> AsyncIterator[bytes]:
    """A multipart part's bytes, in blob-store-sized chunks."""
    while chunk := await part.read_chunk(CHUNK_BYTES):
        yield chunk


async def file_part(request: web.Request) -> BodyPartReader:
    """The multipart body's first part, which must be the ``file`` field."""
    try:
        content_type = request.content_type  # the stdlib email parser reads its parameters
    except MULTIPART_ERRORS as e:
        raise InvalidInputError(f"malformed Content-Type: {type(e).__name__}",
                                field="file") from e
    if not content_type.startswith("multipart/"):
        raise InvalidInputError("send multipart/form-data with a 'file' field", field="file")
    try:
        reader = await request.multipart()
        part = await reader.next()
        if isinstance(part, BodyPartReader) and part.name == "file":
            _ = part.filename  # parse Content-Disposition here, where its errors are mapped
            return part
    except MULTIPART_ERRORS as e:
        raise InvalidInputError(f"malformed multipart body: {type(e).__name__}",
                                field="file") from e
    raise InvalidInputError("the first part must be the 'file' field", field="file")


def sent_name(filename: str | None) -> str:
    """The file name as its sender meant it: browsers (WHATWG HTML) and aiohttp percent-encode
    quotes, line breaks or, for aiohttp, every non-ASCII character of ``filename``."""
    if not filename:
        return DEFAULT_NAME
    try:
        return unquote(filename, errors="strict")
    except UnicodeDecodeError:
        raise InvalidInputError("filename is not UTF-8 once percent-decoded",
                                field="filename") from None


@dataclass(frozen=True)
class StoredFile:
    """A file just streamed into the blob store, as an event cites it."""

    sha256: str
    size: int
    name: str
    media_type: str

    def cited(self) -> dict[str, JSONValue]:
        """The four fields an event records."""
        return {"sha256": self.sha256, "size": self.size, "name": self.name,
                "media_type": self.media_type}


async def store_part(part: BodyPartReader, blobs: BlobStore,
                     name_field: str = "filename") -> StoredFile:
    """Check the part's name and media type and stream it into the blob store."""
    name = check_file_name(sent_name(part.filename), field=name_field)
    media_type = check_media_type(part.headers.get("Content-Type", DEFAULT_MEDIA_TYPE))
    try:
        sha256, size = await blobs.put(chunks_of(part))
    except MULTIPART_ERRORS as e:
        raise InvalidInputError(f"malformed upload: {type(e).__name__}", field="file") from e
    return StoredFile(sha256, size, name, media_type)


def checked_digest(request: web.Request) -> str:
    """The ``{sha256}`` of a download path, which must be 64 lowercase hex digits."""
    sha256 = request.match_info["sha256"]
    if not SHA256_HEX.fullmatch(sha256):
        raise InvalidInputError("sha256 must be 64 lowercase hex digits", field="sha256")
    return sha256


async def send_file(request: web.Request, blobs: BlobStore, cited: JSONObject,
                    where: str) -> web.StreamResponse:
    """Stream the file ``cited`` (sha256, size, name, media_type, as an event recorded it)
    with the download headers; ``where`` names what recorded it, for the server log. The
    bytes are hashed on the way and the last chunk is held back until they match their name,
    so a changed file never arrives whole (the connection is cut instead)."""
    sha256 = str(cited["sha256"])
    headers = download_headers(sha256, str(cited["name"]), str(cited["media_type"]))
    if f'"{sha256}"' in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers={"ETag": headers["ETag"]})
    chunks = blobs.read(sha256)
    try:
        first = await anext(chunks, b"")
    except BlobMissingError:
        log.error("file %s of %s is recorded but missing from the blob store", sha256, where)
        raise NotFoundError(f"the file {sha256} is missing from the blob store (an operator "
                            "should run `ledger verify`)") from None
    response = web.StreamResponse(status=200, headers=headers)
    response.content_length = int(str(cited["size"]))
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
        log.error("file %s is stored changed (%d bytes read); download cut", sha256, total)
        return False
    if held:
        await response.write(held)
    return True
