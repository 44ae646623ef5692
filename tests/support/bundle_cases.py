"""Two departures in one real (SQLite) ledger, sequenced and signed, and their bundles' parts:
``final`` (closed: one item confirmed with an uploaded file, one waived; every event logged)
and ``interim`` (a checklist applied, handing over), with the test's log key."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.ledger import Ledger
from ledger.store.factory import log_store_for
from ledger.store.sqlite import SQLiteEventStore
from ledger.tlog.note import Signer
from ledger.transparency.keys import create_key, load_signers
from ledger.transparency.sequencer import Sequencer
from tests.support.bundles import Parts, collect
from tests.support.confirmation import sign_confirmation

ORIGIN = "ledger.test/log"
HR = Actor("hr.t", "hr")
LEAVER = Actor("wang.lei", "employee")
RECEIVER = Actor("zhao.min", "employee")
ATTACHMENT = b"%PDF-1.7 client list, 2026-11"


@dataclass
class Cases:
    """The signers, the two bundles' parts, and the departures behind them."""

    signers: list[Signer]
    final: Parts
    interim: Parts
    store_path: Path

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


async def _closed_case(ledger: Ledger) -> uuid.UUID:
    departure = await _started(ledger)
    confirmed = await _item(ledger, departure, "客户资料")
    waived = await _item(ledger, departure, "Laptop")
    digest = hashlib.sha256(ATTACHMENT).hexdigest()
    await ledger.execute(c.RecordUpload(item_id=confirmed, sha256=digest, size=len(ATTACHMENT),
                                        name="clients.pdf", media_type="application/pdf"),
                         LEAVER)
    await ledger.execute(c.SubmitItem(item_id=confirmed, note="all clients",
                                      evidence=[{"sha256": digest, "name": "clients.pdf",
                                                "size": len(ATTACHMENT),
                                                "media_type": "application/pdf"}]), LEAVER)
    await ledger.execute(c.ConfirmItem(item_id=confirmed, note="received"), RECEIVER)
    await ledger.execute(c.WaiveItem(item_id=waived, reason="returned to IT already"), HR)
    await sign_confirmation(ledger, departure)
    await ledger.execute(c.CloseDeparture(departure_id=departure), HR)
    return departure


async def build_cases(folder: Path) -> Cases:
    """Run both cases in a fresh ledger under ``folder``, sequence and sign, collect parts."""
    store = await SQLiteEventStore.connect(folder / "ledger.db")
    await store.migrate()
    try:
        ledger = Ledger(store)
        await ledger.install_builtin_templates()
        final = await _closed_case(ledger)
        interim = await _started(ledger)
        await ledger.execute(c.ApplyTemplate(departure_id=interim, template_key="general",
                                             successor_id=RECEIVER.id), HR)
        create_key(folder / "keys", ORIGIN)
        signers = load_signers(folder / "keys", ORIGIN)
        sequencer = Sequencer(log_store_for(store), signers, ORIGIN)
        while await sequencer.step():
            pass
        return Cases(signers, await collect(store, str(final), signers, files={"a": ATTACHMENT}),
                     await collect(store, str(interim), signers), folder / "ledger.db")
    finally:
        await store.close()
