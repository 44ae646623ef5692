"""``ledger verify --strict`` on a SQLite ledger holding the case facts of issue 9: a leaver's
request with its letter, accepted and approved with the checklists applied automatically, a
moved last day, frozen access, a close, then the leaving day and the contract's termination
after it (never gated: no item event follows the close)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path

import pytest

from ledger.aggregates.departure import Departure
from ledger.cli import main
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.ledger import Ledger
from ledger.settings import DEFAULT_LOG_ORIGIN
from ledger.store.factory import log_store_for
from ledger.store.sqlite import SQLiteEventStore
from ledger.transparency.keys import load_signers
from ledger.transparency.sequencer import Sequencer
from tests.conftest import drain

HR = Actor("hr.sun", "hr", "孙 HR")
LEAVER = Actor("lao.zhang", "employee", "老张")
MANAGER = Actor("li.qiang", "employee", "李强")
TODAY = dt.datetime.now(dt.UTC).date()
LETTER = c.Evidence(sha256="ab" * 32, size=10, name="辞职信.pdf", media_type="application/pdf")


async def play(ledger: Ledger) -> None:
    """The technician of seed 001, from his phone to a closed case and after."""
    requested = await ledger.execute(c.RequestDeparture(
        department="项目点", position="技术员", reason="家庭原因",
        intended_last_working_day=TODAY + dt.timedelta(days=7), letter=LETTER), LEAVER)
    case = uuid.UUID(str(requested.result["departure_id"]))
    await ledger.execute(c.AcceptDepartureRequest(
        departure_id=case, role_family="technical", manager_id="li.qiang",
        hr_owner_id="hr.sun", approval_chain=[c.ApprovalStep(name="经理", approver_id="li.qiang")],
        successor_id="xiao.li"), HR)
    await ledger.execute(c.ApproveStep(departure_id=case, step=0), MANAGER)
    await ledger.execute(c.ChangeLastWorkingDay(
        departure_id=case, last_working_day=TODAY + dt.timedelta(days=9),
        reason="下周一周二才能回来办手续"), HR)
    await ledger.execute(c.FreezeAccess(departure_id=case, reason="离开项目点"), HR)
    await ledger.execute(c.RecordLeft(departure_id=case, left_on=TODAY), HR)
    for item_id in (await ledger.load(Departure, case)).item_ids:
        await ledger.execute(c.WaiveItem(item_id=uuid.UUID(item_id), reason="演示"), HR)
    await ledger.execute(c.CloseDeparture(departure_id=case), HR)
    await ledger.execute(c.RecordContractTerminated(
        departure_id=case, terminated_on=TODAY, document=LETTER), HR)


@pytest.fixture
async def ledger_dir(  # the fixture of test_verify_cli.py, with this story instead of the seeds
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("LEDGER_DATABASE_URL", "LEDGER_DATA_DIR", "LEDGER_KEY_DIR",
                 "LEDGER_LOG_ORIGIN"):
        monkeypatch.delenv(name, raising=False)
    assert await asyncio.to_thread(main, ["keygen"]) == 0
    store = await SQLiteEventStore.connect(tmp_path / "ledger-data" / "ledger.db")
    try:
        await store.migrate()
        ledger = Ledger(store, auto_apply_checklists=True)
        await ledger.install_builtin_templates()
        await play(ledger)
        await drain(Sequencer(log_store_for(store), load_signers(
            tmp_path / "ledger-data" / "keys", DEFAULT_LOG_ORIGIN), DEFAULT_LOG_ORIGIN))
    finally:
        await store.close()
    return tmp_path / "ledger-data"


async def test_verify_passes_with_the_case_facts_after_close(ledger_dir: Path) -> None:
    assert await asyncio.to_thread(main, ["verify", "--strict", "--skip-files"]) == 0


async def test_verify_reports_a_cited_letter_missing_from_the_blob_store(
        ledger_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The story cites a letter (and a termination document) never put in the blob store.
    assert await asyncio.to_thread(main, ["verify"]) == 1

    missing = [line for line in capsys.readouterr().out.splitlines() if "missing" in line]
    assert len(missing) == 2 and all("uploaded to departure" in line for line in missing)
