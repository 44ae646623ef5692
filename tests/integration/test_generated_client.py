"""A client generated from the served /openapi.json with ``openapi-python-client`` drives a
handover over a real server on 127.0.0.1: typed requests, typed answers, typed problems.

The generator runs offline on the document fetched from the server (its post-hooks, which
would format the code with ruff, are turned off); the generated package is imported from a
temporary directory. The whole test stays well under 30 s (generation takes ~2 s).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import importlib
import io
import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ledger.bundle.layout import MEDIA_TYPE
from tests.conftest import TEST_ORIGIN
from tests.integration.http_fixtures import Api, serve

GENERATOR = shutil.which("openapi-python-client",
                         path=str(Path(sys.executable).parent)) or "openapi-python-client"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with serve(f"sqlite:///{tmp_path}/ledger.db", tmp_path) as served:
        yield served


@pytest.fixture
def generated(tmp_path: Path) -> Iterator[Path]:
    """A folder for the generated package, which is forgotten afterwards."""
    folder = tmp_path / "generated"
    folder.mkdir()
    yield folder
    for name in [m for m in sys.modules if m == "ledger_client" or
                 m.startswith("ledger_client.")]:
        del sys.modules[name]
    if str(folder) in sys.path:
        sys.path.remove(str(folder))


def generate_client(document: bytes, folder: Path) -> ModuleType:
    """Write ``document``, generate the ``ledger_client`` package from it, import it."""
    (folder / "openapi.json").write_bytes(document)
    # The evidence bundle's own media type is a ZIP: the generator reads it as bytes.
    (folder / "config.json").write_text(json.dumps({"post_hooks": [], "content_type_overrides": {
        MEDIA_TYPE: "application/octet-stream"}}))
    finished = subprocess.run(
        [GENERATOR, "generate", "--path", str(folder / "openapi.json"), "--output-path",
         str(folder / "ledger_client"), "--meta", "none", "--config",
         str(folder / "config.json"), "--fail-on-warning"],
        capture_output=True, text=True, timeout=60, check=False)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    sys.path.insert(0, str(folder))
    return importlib.import_module("ledger_client")


def module(name: str) -> Any:
    """A module of the generated package."""
    return importlib.import_module(f"ledger_client.{name}")


async def test_a_generated_client_drives_a_handover(api: Api, generated: Path) -> None:
    served = await api.get("/openapi.json")
    assert served.status == 200
    client_package = generate_client(served.body, generated)
    models = module("models")
    start_departure = module("api.departures.start_departure")
    submit_for_approval = module("api.departures.submit_for_approval")
    approve_step = module("api.departures.approve_step")
    add_item = module("api.departures.add_item")
    get_departure = module("api.departures.get_departure")
    submit_item = module("api.items.submit_item")
    confirm_item = module("api.items.confirm_item")
    get_item = module("api.items.get_item")
    run_commands = module("api.commands.run_commands")
    upload_evidence = module("api.items.upload_evidence")
    download_evidence = module("api.items.download_evidence")
    types = module("types")
    get_checkpoint = module("api.log.get_checkpoint")

    def as_(who: str) -> Any:
        return client_package.AuthenticatedClient(base_url=api.base, token=api.tokens[who],
                                                  raise_on_unexpected_status=True)

    async with asyncio.timeout(30):
        hr = as_("hr.sun")
        started = await start_departure.asyncio(client=hr, body=models.StartDepartureBody(
            leaver=models.Leaver(id="wang.lei", name="王磊", department="Sales",
                                 position="Account manager",
                                 role_family=models.LeaverRoleFamily.SALES),
            manager_id="li.qiang", hr_owner_id="hr.sun", notice_date=dt.date(2026, 11, 1),
            last_working_day=dt.date(2026, 11, 30), reason="resigned",
            approval_chain=[models.ApprovalStep(name="manager", approver_id="li.qiang")]))
        assert isinstance(started, models.CommandResult), started
        assert started.command == "start_departure"
        departure_id = uuid.UUID(started.result.departure_id)

        submitted = await submit_for_approval.asyncio(departure_id, client=as_("hr.sun"),
                                                      body=models.SubmitForApprovalBody())
        assert submitted.result.state == "pending_approval"
        # The manager, who is an employee: the role header is a typed parameter.
        approved = await approve_step.asyncio(departure_id, 0, client=as_("li.qiang"),
                                              body=models.ApproveStepBody(comment="ok"),
                                              x_ledger_role=models.Role.EMPLOYEE)
        assert approved.result.state == "approved"

        added = await add_item.asyncio(departure_id, client=hr, body=models.AddItemBody(
            category=models.AddItemBodyCategory.DOCUMENTS, title="Client list",
            receiver="zhao.min"))
        assert added.result.item_id and added.result.departure_id == str(departure_id)
        item_id = uuid.UUID(added.result.item_id)

        content = "客户,联系人\nACME,王\n".encode()
        uploaded = await upload_evidence.asyncio(item_id, client=as_("wang.lei"),
                                                 body=models.UploadEvidenceBody(file=types.File(
                                                     payload=io.BytesIO(content),
                                                     file_name="clients.csv",
                                                     mime_type="text/csv")))
        assert isinstance(uploaded, models.EvidenceView), uploaded
        assert uploaded.sha256 == hashlib.sha256(content).hexdigest()
        cited = models.Evidence(sha256=uploaded.sha256, name=uploaded.name,
                                size=uploaded.size, media_type=uploaded.media_type)
        given = await submit_item.asyncio(item_id, client=as_("wang.lei"),
                                          body=models.SubmitItemBody(note="the list",
                                                                     evidence=[cited]))
        assert isinstance(given, models.CommandResult), given
        assert given.result.state == "submitted"
        confirmed = await confirm_item.asyncio(item_id, client=as_("zhao.min"),
                                               body=models.ConfirmItemBody(note="received"))
        assert confirmed.result.state == "confirmed"

        # Several commands at once, each typed, each with its own result.
        batch = await run_commands.asyncio(client=hr, body=models.BatchRequest(commands=[
            models.BatchItem(command=models.CommentItem(item_id=item_id, text="thanks")),
            models.BatchItem(command=models.CommentItem(item_id=item_id, text=""))]))
        assert isinstance(batch, models.BatchResult), batch
        assert [r.status for r in batch.results] == [201, 422]
        assert batch.results[0].body.command == "comment_item"
        assert batch.results[1].problem.errors[0].field.endswith("text")

        departure = await get_departure.asyncio(departure_id, client=hr)
        assert isinstance(departure, models.DepartureView), departure
        assert departure.leaver.id == "wang.lei"
        assert departure.leaver.department == "Sales"
        assert departure.state == "handing_over"
        assert [(s.name, s.approver_id) for s in departure.approval_chain] == [
            ("manager", "li.qiang")]
        assert departure.item_ids == [str(item_id)]
        assert departure.closure is None
        item = await get_item.asyncio(item_id, client=as_("hr.sun"))
        assert item.state == "confirmed" and item.confirmed_by == "zhao.min"
        assert [(e.name, e.size) for e in item.evidence] == [("clients.csv", len(content))]
        downloaded = await download_evidence.asyncio(item_id, uploaded.sha256,
                                                     client=as_("zhao.min"))
        assert downloaded.payload.read() == content

        # A refusal arrives as a typed problem, with its extra members.
        refused = await get_departure.asyncio(departure_id, client=as_("stranger"))
        assert isinstance(refused, models.Problem) and refused.status == 404
        invalid = await add_item.asyncio(departure_id, client=as_("hr.sun"),
                                         body=models.AddItemBody.from_dict({
                                             "category": "documents", "title": "",
                                             "receiver": "zhao.min"}))
        assert isinstance(invalid, models.Problem) and invalid.status == 422
        assert invalid.field == "title"
        assert [e.field for e in invalid.errors] == ["title"]

        # An auditor (or anyone: the log is public) reads the signed checkpoint.
        await api.sequence()
        note = await get_checkpoint.asyncio(client=as_("audit.x"))
        assert isinstance(note, str)
        assert note.startswith(TEST_ORIGIN + "\n")
        size = int(note.splitlines()[1])
        assert size >= 8  # every event of the story is in the log
