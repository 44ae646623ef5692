"""Two departures in one real ledger (a runtime as ``ledger serve`` opens it), sequenced and
signed, each exported once by the real exporter: ``final`` (closed: one item confirmed with an
uploaded file, one waived; exported with its files) and ``interim`` (a checklist applied,
handing over). A module builds them once and tampers with copies."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from ledger.bootstrap import bootstrap
from ledger.principals import Principal
from ledger.runtime import Runtime
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.ledger import Ledger
from ledger.settings import Settings
from ledger.tlog.note import Signer
from ledger.transparency.keys import load_signers
from tests.conftest import TEST_ORIGIN, drain
from tests.support.bundles import Parts, parts_of
from tests.support.confirmation import sign_confirmation

HR = Actor("hr.t", "hr")
LEAVER = Actor("wang.lei", "employee")
RECEIVER = Actor("zhao.min", "employee")
ATTACHMENT = b"%PDF-1.7 client list, 2026-11"


@dataclass
class Exported:
    """One exported bundle: the ZIP's bytes, and its parts."""

    data: bytes
    parts: Parts


@dataclass
class Cases:
    """The log's signers and the two exported bundles."""

    signers: list[Signer]
    final: Exported
    interim: Exported

    @property
    def vkey(self) -> str:
        return self.signers[0].verifier.vkey


async def _started(ledger: Ledger) -> uuid.UUID:
    started = await ledger.execute(c.StartDeparture(
        leaver=c.Leaver(id=LEAVER.id, name="王磊", department="Sales", position="Manager",
                        role_family="sales"),
        manager_id="li.qiang", hr_owner_id=HR.id, notice_date="2026-11-01",
        last_working_day="2026-11-30", reason="resigned"), HR)
    departure = uuid.UUID(str(started.result["departure_id"]))
    await ledger.execute(c.SubmitForApproval(departure_id=departure), HR)
    return departure


async def _item(ledger: Ledger, departure: uuid.UUID, title: str) -> uuid.UUID:
    added = await ledger.execute(c.AddItem(departure_id=departure, category="clients",
                                           title=title, receiver=RECEIVER.id), HR)
    return uuid.UUID(str(added.result["item_id"]))


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _closed_case(runtime: Runtime) -> uuid.UUID:
    ledger = runtime.ledger
    departure = await _started(ledger)
    confirmed = await _item(ledger, departure, "客户资料")
    waived = await _item(ledger, departure, "Laptop")
    digest, size = await runtime.blobs.put(_one(ATTACHMENT))
    assert digest == hashlib.sha256(ATTACHMENT).hexdigest()
    await ledger.execute(c.RecordUpload(item_id=confirmed, sha256=digest, size=size,
                                        name="clients.pdf", media_type="application/pdf"),
                         LEAVER)
    await ledger.execute(c.SubmitItem(item_id=confirmed, note="all clients",
                                      evidence=[{"sha256": digest, "name": "clients.pdf",
                                                "size": size,
                                                "media_type": "application/pdf"}]), LEAVER)
    await ledger.execute(c.ConfirmItem(item_id=confirmed, note="received"), RECEIVER)
    await ledger.execute(c.WaiveItem(item_id=waived, reason="returned to IT already"), HR)
    await sign_confirmation(ledger, departure)
    await ledger.execute(c.CloseDeparture(departure_id=departure), HR)
    return departure


async def export(runtime: Runtime, departure: uuid.UUID | str, actor: Actor = HR, *,
                 with_files: bool = False) -> Exported:
    """Sequence what is queued, then export the bundle of ``departure`` as ``actor``."""
    await drain(runtime.sequencer)
    bundle = await runtime.exporter.export(actor, uuid.UUID(str(departure)),
                                           with_files=with_files)
    try:
        data = b"".join(bundle.chunks())
    finally:
        bundle.close()
    return Exported(data, parts_of(data))


def runtime_settings(database_url: str, folder: Path) -> Settings:
    """A runtime's settings for the tests' log (keys and blobs under ``folder``)."""
    return Settings(database_url=database_url, data_dir=folder, log_origin=TEST_ORIGIN,
                    key_dir=folder / "keys", auto_apply_checklists=False)


async def build_cases(database_url: str, folder: Path) -> Cases:
    """Run both cases in a fresh ledger on ``database_url`` and export each once."""
    runtime = await bootstrap(runtime_settings(database_url, folder))
    try:
        ledger = runtime.ledger
        await ledger.install_builtin_templates()
        for who, role in ((HR.id, "hr"), (LEAVER.id, "employee"), ("li.qiang", "employee"),
                          (RECEIVER.id, "employee")):
            await runtime.principals.add_principal(Principal(who, who, (role,)))
        final = await _closed_case(runtime)
        interim = await _started(ledger)
        await ledger.execute(c.ApplyTemplate(departure_id=interim, template_key="general",
                                             successor_id=RECEIVER.id), HR)
        signers = load_signers(folder / "keys", TEST_ORIGIN)
        return Cases(signers, await export(runtime, final, with_files=True),
                     await export(runtime, interim))
    finally:
        await runtime.close()
