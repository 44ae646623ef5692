"""The two case events that cite a file: the leaver's request (its resignation letter) and the
contract's termination (its document). Each is one multipart/form-data POST: text fields, then
the file, last. The fields are validated as the command before the file is streamed into the
blob store and hashed (a refused form stores nothing), and the command records what was stored
(name, size, media type, SHA-256) through ``Ledger.execute``, so no client can cite a digest
that was never uploaded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import BodyPartReader, web
from pydantic import BaseModel, ConfigDict, Field

from api.auth import actor_of, context_of
from api.body import build, path_uuid
from api.command_routes import render
from api.endpoint import FILE, EndpointTable
from api.file_transfer import MULTIPART_ERRORS, checked_digest, log, send_file, store_part
from api.idempotent import IDEMPOTENCY_HEADER
from api.runtime_key import RUNTIME
from api.views import CommandResult, DepartureView, View, ok
from ledger.errors import InvalidInputError
from ledger.service import case_files
from ledger.service import commands as c
from ledger.store.blob_port import BlobStore

table = EndpointTable()
MAX_FIELD_BYTES = 8192
MAX_FIELDS = 10


class RequestForm(BaseModel):
    """The leaver's request: the fields first, then the resignation letter as ``letter``."""

    model_config = ConfigDict(extra="forbid")
    department: str = Field(min_length=1, max_length=200)
    position: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=2000)
    intended_last_working_day: str = Field(description="YYYY-MM-DD", min_length=10,
                                           max_length=10)
    letter: bytes = Field(description="the resignation letter (its name and Content-Type "
                                      "are recorded with its SHA-256)")


class ContractTerminatedForm(BaseModel):
    """The contract's termination: the date (and a note), then the document as ``document``."""

    model_config = ConfigDict(extra="forbid")
    terminated_on: str = Field(description="YYYY-MM-DD", min_length=10, max_length=10)
    note: str = Field(default="", max_length=4000)
    document: bytes = Field(description="the termination document")


class RequestList(View):
    """The departure requests awaiting HR that the reader may see."""

    items: list[DepartureView]


@table.route("GET", "/v1/departures/requests",
             "The requests awaiting HR (HR: all; a leaver: their own)", response=RequestList)
async def list_departure_requests(request: web.Request) -> web.Response:
    """What HR accepts or declines next; a leaver sees their own pending request."""
    actor = actor_of(request)
    found = await case_files.list_requests(request.app[RUNTIME].ledger, actor)
    return ok(RequestList(items=[DepartureView.of(d, actor) for d in found]))


# What a form's command cites before its file is stored: the command is built (validated) with
# this in the file's place, so that a form with bad fields is refused before anything is stored.
NOT_YET_STORED = {"sha256": "0" * 64, "name": "not-yet-stored", "size": 1,
                  "media_type": "application/octet-stream"}
FieldCheck = Callable[[dict[str, Any]], Awaitable[object]]


async def read_form(request: web.Request, file_field: str, blobs: BlobStore,
                    check: FieldCheck) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form's text fields and the stored file's citation (sha256, size, name, type).

    The file must be the last part: when it arrives, ``check`` validates the fields sent so
    far (the whole command, with ``NOT_YET_STORED`` in the file's place) and only then is the
    file streamed into the blob store, so a form the command would refuse stores nothing. A
    part after the file is refused too (422), but by then the file is stored (the server
    log names who sent it): clients send the file last, as the README says.
    """
    if not request.content_type.startswith("multipart/"):
        raise InvalidInputError(f"send multipart/form-data with a {file_field!r} file",
                                field=file_field)
    fields: dict[str, Any] = {}
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or not part.name or len(fields) >= MAX_FIELDS:
                raise InvalidInputError("unexpected part in the form", field=file_field)
            if part.name == file_field:
                await check(fields)
                cited = (await store_part(part, blobs, f"{file_field}.name")).cited()
                if await reader.next() is not None:
                    # The file is stored and no event will cite it: say who sent it.
                    log.warning("form of %s refused after its file %s sha256:%s was stored",
                                actor_of(request).id, file_field, cited["sha256"])
                    raise InvalidInputError(f"the file {file_field!r} must be the form's last "
                                            "part", field=file_field)
                return fields, cited
            if part.name in fields:
                raise InvalidInputError(f"{part.name} is sent twice", field=part.name)
            raw = await part.read(decode=False)
            if len(raw) > MAX_FIELD_BYTES:
                raise InvalidInputError(f"{part.name} is too long", field=part.name)
            fields[part.name] = raw.decode("utf-8")
    except MULTIPART_ERRORS as e:
        raise InvalidInputError(f"malformed multipart body: {type(e).__name__}",
                                field=file_field) from e
    raise InvalidInputError(f"the form needs the file {file_field!r}", field=file_field)


async def _execute(request: web.Request, command: c.Model, status: int) -> web.Response:
    outcome = await request.app[RUNTIME].ledger.execute(
        command, actor_of(request), context_of(request),
        idempotency_key=request.headers.get(IDEMPOTENCY_HEADER))
    return render(outcome, status)


@table.route("POST", "/v1/departures/requests",
             "Request your own departure, with the resignation letter (the leaver)",
             response=CommandResult, status=201, form=RequestForm,
             headers=(IDEMPOTENCY_HEADER,))
async def request_departure(request: web.Request) -> web.Response:
    """Seed 001: "员工只需通过手机端提交离职申请(填写离职原因、预计离职时间)"."""
    case_files.authorize_request(actor_of(request))
    runtime = request.app[RUNTIME]

    async def check(fields: dict[str, Any]) -> None:
        case_files.precheck_request(runtime.ledger, build(c.RequestDeparture, fields,
                                                          letter=NOT_YET_STORED))

    fields, letter = await read_form(request, "letter", runtime.blobs, check)
    return await _execute(request, build(c.RequestDeparture, fields, letter=letter), 201)


@table.route("POST", "/v1/departures/{departure_id}/contract-terminated",
             "Record the contract's termination with its document (HR; never gated)",
             response=CommandResult, status=201, form=ContractTerminatedForm,
             headers=(IDEMPOTENCY_HEADER,))
async def record_contract_terminated(request: web.Request) -> web.Response:
    """Seed 001: "未及时解除劳动合同" — recorded even with items open, even after close."""
    departure_id = path_uuid(request, "departure_id")
    runtime = request.app[RUNTIME]
    await case_files.authorize_contract_document(runtime.ledger, actor_of(request),
                                                 departure_id)

    async def check(fields: dict[str, Any]) -> None:
        build(c.RecordContractTerminated, fields, departure_id=str(departure_id),
              document=NOT_YET_STORED)

    fields, document = await read_form(request, "document", runtime.blobs, check)
    command = build(c.RecordContractTerminated, fields, departure_id=str(departure_id),
                    document=document)
    return await _execute(request, command, 201)


@table.route("GET", "/v1/departures/{departure_id}/files/{sha256}",
             "Download the resignation letter or termination document a case cites (its "
             "leaver, HR, legal, auditors)", produces=FILE)
async def download_case_file(request: web.Request) -> web.StreamResponse:
    """Streamed and checked against its digest as evidence downloads are."""
    departure_id = path_uuid(request, "departure_id")
    sha256 = checked_digest(request)
    runtime = request.app[RUNTIME]
    cited = await case_files.case_file(runtime.ledger, actor_of(request), departure_id, sha256)
    return await send_file(request, runtime.blobs, {**cited, "sha256": sha256},
                           f"departure {departure_id}")
