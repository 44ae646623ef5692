"""A multipart form read as a stream, for the console's upload forms (handlers marked
``web.security.streamed_form``): the CSRF token checked by ``web.security.form_stream`` from
the first part when no ``X-CSRF-Token`` header carried it (before any file is read),
text fields kept (bounded), each ``file`` part streamed into the blob store as the API's
upload does (api.file_transfer: the same name and type checks, the same size limit), so the
console sub-app's 1 MiB body limit never applies to files."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import BodyPartReader, web

from api.file_transfer import MULTIPART_ERRORS, StoredFile, store_part
from api.runtime_key import RUNTIME
from ledger.errors import InvalidInputError
from web.security import CSRF_HEADER, form_stream

MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 500  # fields and files (a submission cites at most 100 files)


@dataclass
class StreamedForm:
    """The text fields (each name's values, in order) and the files stored from the form."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[StoredFile] = field(default_factory=list)

    def get(self, name: str, default: str = "") -> str:
        """The first value of ``name``."""
        return self.fields.get(name, [default])[0]


async def read_streamed_form(request: web.Request,
                             before_file: Callable[[], Awaitable[None]]) -> StreamedForm:
    """Read the multipart body part by part; ``before_file`` runs once before the first
    file is stored (the upload's authorization, so a refused upload stores nothing)."""
    if not request.content_type.startswith("multipart/"):
        raise InvalidInputError("send multipart/form-data", field="file")
    form, authorized = StreamedForm(), False
    try:
        reader = await form_stream(request)  # 403 unless the token came first (or as header)
        parts = 0 if CSRF_HEADER in request.headers else 1  # the token's part counts
        while (part := await reader.next()) is not None:
            parts += 1
            if parts > MAX_PARTS:
                raise InvalidInputError("too many form fields", field="file")
            if not isinstance(part, BodyPartReader):
                raise InvalidInputError("nested multipart bodies are not taken", field="file")
            if part.name == "file" and part.filename is not None:
                if not part.filename:  # a file input left empty
                    await part.release()
                    continue
                if not authorized:
                    await before_file()
                    authorized = True
                form.files.append(await store_part(part, request.app[RUNTIME].blobs))
                continue
            form.fields.setdefault(part.name or "", []).append(await _text(part))
    except MULTIPART_ERRORS as e:
        raise InvalidInputError(f"malformed multipart body: {type(e).__name__}",
                                field="file") from e
    return form


async def _text(part: BodyPartReader) -> str:
    """A text field's value, at most MAX_FIELD_BYTES."""
    value = bytearray()
    while chunk := await part.read_chunk(8192):
        value += chunk
        if len(value) > MAX_FIELD_BYTES:
            raise InvalidInputError("a form field is too long", field=part.name or "")
    return value.decode("utf-8")

