"""Verify: the log's current checkpoint (size, root hash, when it was signed) and its verifier
keys with their fingerprints, and "check a bundle": an uploaded evidence bundle checked by
``web.verify_view.check_bundle`` (the code and the lines of ``ledger verify-bundle``), in a
thread, shown part by part with pass or fail at the top.

Who: the page itself is public, like ``/log/checkpoint`` and ``/log/key`` (hashes and keys
only; an auditor must be able to read them without an account with the operator). Checking a
bundle needs a signed-in principal: it is up to ``console_verify_max_bytes`` of CPU-bound
work per request, which an anonymous visitor should not be able to make us do; anyone without
an account checks a bundle offline with the ``verify.py`` it carries (or ``/log/verify.py``).
A process runs at most MAX_CHECKS checks at once (counted from the upload's first byte); one
more is answered 503 with Retry-After (PushbackError) before its upload is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from aiohttp import BodyPartReader, MultipartReader, web

from api.file_transfer import MULTIPART_ERRORS
from api.runtime_key import RUNTIME
from ledger.bundle.report_verify import checkpoint_view, key_views
from ledger.errors import (
    InvalidInputError,
    LedgerError,
    NotFoundError,
    PushbackError,
    TooLargeError,
)
from ledger.store.blob_port import CHUNK_BYTES
from web.keys import ACTOR, CATALOGUES, LOCALE
from web.render import problem_text, render
from web.security import form_stream, streamed_form
from web.session import signed_in
from web.verify_lines import STATUS_LABELS, translate_line
from web.verify_view import BundleCheck, check_bundle

routes = web.RouteTableDef()
MAX_CHECKS = 2
RETRY_AFTER = 10


class _Checks:
    """The checks under way in this process (the event loop's thread alone changes it)."""

    running = 0


@contextlib.contextmanager
def _slot() -> Iterator[None]:
    """One of the process's MAX_CHECKS check slots; PushbackError when all are taken."""
    if _Checks.running >= MAX_CHECKS:
        raise PushbackError("the server is checking other bundles; try again shortly",
                            retry_after=RETRY_AFTER)
    _Checks.running += 1
    try:
        yield
    finally:
        _Checks.running -= 1


async def _page(request: web.Request, status: int = 200, result: BundleCheck | None = None,
                error: object = None, name: str = "") -> web.Response:
    try:
        stored = await request.app[RUNTIME].reader.latest()
        checkpoint = checkpoint_view(stored.note)
        signed_at = stored.signed_at
    except NotFoundError:
        checkpoint, signed_at = None, None
    return render(request, "verify/verify.html", status=status, checkpoint=checkpoint,
                  signed_at=signed_at, keys=key_views(_keys(request)),
                  result=result, said=_said(request, result), error=error, name=name,
                  may_check=ACTOR in request,
                  max_mb=request.app[RUNTIME].settings.console_verify_max_bytes >> 20)


def _said(request: web.Request, result: BundleCheck | None) -> dict[str, object]:
    """The result's lines in the reader's language (web.verify_lines): each part's status
    and finding, the failed parts' findings, and the last line."""
    if result is None:
        return {}
    gettext = request.app[CATALOGUES].translations[request[LOCALE]].gettext
    return {"parts": [{"status": p.status, "label": gettext(STATUS_LABELS[p.status])
                       if p.status in STATUS_LABELS else p.status,
                       "text": translate_line(p.message, gettext)} for p in result.parts],
            "failed": [translate_line(p.message, gettext) for p in result.failed],
            "summary": translate_line(result.summary, gettext)}


def _keys(request: web.Request) -> list[str]:
    """The log's verifier keys, as ``GET /log/key`` serves them."""
    return [v.vkey for v in request.app[RUNTIME].verifiers]


@routes.get("/verify")
async def verify_page(request: web.Request) -> web.Response:
    """The checkpoint, the keys and (signed in) the form to check a bundle."""
    return await _page(request)


@contextlib.contextmanager
def _spool() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hl-console-verify-") as folder:
        yield Path(folder, "bundle.zip")


async def _receive(reader: MultipartReader, path: Path, limit: int) -> str:
    """Stream the ``bundle`` part into ``path`` and return its file name; InvalidInputError
    for a missing, empty or malformed one, TooLargeError once it passes ``limit`` bytes."""
    try:
        part = await reader.next()
        if not isinstance(part, BodyPartReader) or part.name != "bundle":
            raise InvalidInputError("choose a bundle (.zip) to check", field="bundle")
        size = 0
        with path.open("wb") as out:
            while chunk := await part.read_chunk(CHUNK_BYTES):
                size += len(chunk)
                if size > limit:
                    raise TooLargeError(f"the bundle is larger than {limit} bytes",
                                        field="bundle")
                await asyncio.to_thread(out.write, chunk)
    except MULTIPART_ERRORS as e:
        raise InvalidInputError(f"malformed multipart body: {type(e).__name__}",
                                field="bundle") from e
    if size == 0:
        raise InvalidInputError("the file is empty", field="bundle")
    return (part.filename or "")[:200]


@routes.post("/verify")
@streamed_form
async def check_upload(request: web.Request) -> web.Response:
    """Check an uploaded bundle (multipart: ``csrf`` first, then ``bundle``) against the
    log's verifier keys; the result, or the reason it could not be checked, on the page."""
    signed_in(request)
    reader = await form_stream(request)
    limit = request.app[RUNTIME].settings.console_verify_max_bytes
    with _slot():  # a busy process answers 503 (the middleware's page, with Retry-After)
        return await _checked(request, reader, limit)


async def _checked(request: web.Request, reader: MultipartReader,
                   limit: int) -> web.Response:
    try:
        with _spool() as path:
            name = await _receive(reader, path, limit)
            result = await asyncio.to_thread(
                check_bundle, path, _keys(request), max_bytes=limit)
    except LedgerError as e:
        problem = problem_text(request, e)
        status = problem["status"]
        return await _page(request, status if isinstance(status, int) else 500,
                           error=problem)
    return await _page(request, result=result, name=name)
