"""Every departure of the demo, and cases with an approval chain (rejected, then approved), a
rejected and resubmitted item and a withdrawal, each exported once by the real exporter and
checked: both verifiers pass, and the simplified replay of ``verify.py`` gives the
departure and item states that the real aggregates reach (the ledger's replay, and the
aggregates loaded from the store)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from ledger.bootstrap import bootstrap
from ledger.bundle import verifier, verify
from ledger.demo import HR as DEMO_HR
from ledger.demo_scenarios import play_all
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.ledger import Ledger
from ledger.tlog.note import Signer
from ledger.transparency.keys import load_signers
from tests.conftest import TEST_ORIGIN
from tests.support.bundle_cases import Exported, export, runtime_settings
from tests.support.bundles import renderer_refuses, seal, with_changes, zip_bytes

HR = Actor(DEMO_HR.id, "hr")  # a principal the demo creates
APPROVER = Actor("li.qiang", "employee")


@dataclass
class Logged:
    signers: list[Signer]
    vkey: str
    bundles: dict[str, Exported]
    departures: dict[str, str]
    items: dict[str, str]


async def _more_cases(ledger: Ledger) -> None:
    """A chain rejected then approved; an item rejected and resubmitted; a withdrawal."""
    for withdraw in (False, True):
        started = await ledger.execute(c.StartDeparture(
            leaver=c.Leaver(id="wang.lei", name="王磊", department="Sales", position="Manager",
                            role_family="sales"),
            manager_id=APPROVER.id, hr_owner_id=HR.id, notice_date="2026-11-01",
            last_working_day="2026-11-30", reason="resigned",
            approval_chain=[{"approver_id": APPROVER.id, "name": "Manager"}]), HR)
        departure = uuid.UUID(str(started.result["departure_id"]))
        await ledger.execute(c.SubmitForApproval(departure_id=departure), HR)
        await ledger.execute(c.RejectStep(departure_id=departure, step=0, reason="dates"),
                             APPROVER)
        await ledger.execute(c.SubmitForApproval(departure_id=departure), HR)
        await ledger.execute(c.ApproveStep(departure_id=departure, step=0), APPROVER)
        added = await ledger.execute(c.AddItem(departure_id=departure, category="projects",
                                               title="Project X", receiver="zhao.min"), HR)
        item = uuid.UUID(str(added.result["item_id"]))
        leaver, receiver = Actor("wang.lei", "employee"), Actor("zhao.min", "employee")
        await ledger.execute(c.SubmitItem(item_id=item, note="v1"), leaver)
        await ledger.execute(c.RejectItem(item_id=item, reason="incomplete"), receiver)
        await ledger.execute(c.SubmitItem(item_id=item, note="v2"), leaver)
        if withdraw:
            await ledger.execute(c.WithdrawDeparture(departure_id=departure, reason="stays"), HR)
        else:
            await ledger.execute(c.ConfirmItem(item_id=item), receiver)


async def _log(database_url: str, folder: Path) -> Logged:
    runtime = await bootstrap(runtime_settings(database_url, folder))
    try:
        ledger = runtime.ledger
        await play_all(ledger, dt.date(2026, 11, 24), runtime.blobs, runtime.principals)
        await _more_cases(ledger)
        signers = load_signers(folder / "keys", TEST_ORIGIN)
        logged = Logged(signers, signers[0].verifier.vkey, {}, {}, {})
        for departure_id in await runtime.store.stream_ids("departure"):
            departure = await ledger.load(Departure, departure_id)
            leaver = Actor(departure.leaver_id, "employee")  # the leaver may export their case
            logged.bundles[str(departure_id)] = await export(runtime, departure_id, leaver)
            logged.departures[str(departure_id)] = departure.state
            for item_id in departure.item_ids:
                logged.items[item_id] = (await ledger.load(HandoverItem, item_id)).state
        return logged
    finally:
        await runtime.close()


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Logged:
    """Every case, each exported once. On SQLite only: what the verifiers read is the bundle's
    bytes, and each export prints a PDF (seconds); test_bundle_export.py exports on both stores,
    test_verify_bundle_commands.py verifies bundles exported from both."""
    folder = tmp_path_factory.mktemp("replay")
    return asyncio.run(_log(f"sqlite:///{folder / 'ledger.db'}", folder))


def test_every_case_bundles_and_passes_both_verifiers(logged: Logged, tmp_path: Path) -> None:
    assert len(logged.bundles) >= 6
    assert {"closed", "handing_over", "withdrawn"} <= set(logged.departures.values())
    for departure_id, exported in logged.bundles.items():
        path = tmp_path / f"{departure_id}.zip"
        path.write_bytes(exported.data)
        assert verify.inspect_bundle(path, logged.vkey).failures == [], departure_id
        assert verifier.verify_bundle(path, logged.vkey).failures == [], departure_id


def test_the_simplified_replay_reaches_the_aggregates_states(logged: Logged,
                                                            tmp_path: Path) -> None:
    for departure_id, exported in logged.bundles.items():
        path = tmp_path / f"{departure_id}.zip"
        path.write_bytes(exported.data)
        ours = verify.inspect_bundle(path, logged.vkey)
        departure = sorted((e for e in ours.entries.values() if e.stream_id == departure_id),
                           key=lambda e: e.version)
        items: dict[str, list[verify.Entry]] = {}
        for e in sorted(ours.entries.values(), key=lambda e: e.version):
            if e.stream_type == "item":
                items.setdefault(e.stream_id, []).append(e)
        simplified = verify.replay_case(departure, items)
        ledgers = verifier.LedgerPrimitives()
        for e in ours.entries.values():
            ledgers.entry(e.path, e.raw)
        real = ledgers.replay(departure, items)
        assert simplified.departure == real.departure == logged.departures[departure_id]
        assert simplified.items == real.items
        assert simplified.items == {i: logged.items[i] for i in items}
        assert simplified.problems == real.problems == []


def test_the_replay_knows_every_event_type_the_aggregates_record() -> None:
    from ledger.aggregates.codec import EVENT_CLASSES

    known = {name: kind for name, (kind, _) in EVENT_CLASSES.items()}
    departure = {n for n, k in known.items() if k == "departure"}
    assert departure == set(verify.DEPARTURE_EVENTS)  # the export's own record among them
    assert {n for n, k in known.items() if k == "item"} == set(verify.ITEM_EVENTS)
    assert set(verify.FOLLOWS) <= {*verify.DEPARTURE_EVENTS, *verify.ITEM_EVENTS}


@pytest.mark.parametrize("kind", ["dispute", "template"])
def test_a_dropped_dispute_or_template_revision_is_found(logged: Logged, tmp_path: Path,
                                                        kind: str) -> None:
    parts = next(e.parts for e in logged.bundles.values() if any(
        s.type == kind for s in e.parts.streams))
    stream = next(s for s in parts.streams if s.type == kind)
    cut = with_changes(parts)
    for member in [x for x in cut.files if f"/{kind}/{stream.id}/" in x]:
        del cut.files[member]
    cut.streams = [s for s in cut.streams if s.id != stream.id]
    members = seal(cut, logged.signers)
    path = tmp_path / "bundle.zip"
    path.write_bytes(zip_bytes(members))
    ours = verify.inspect_bundle(path, logged.vkey).failures
    # The ledger renders the report again: not from these entries when a dispute is missing.
    refused = ["report.html: not produced from these entries"] if kind == "dispute" else []
    assert renderer_refuses(members) == bool(refused)
    assert verifier.verify_bundle(path, logged.vkey).failures == [*ours, *refused]
    assert ours == ([f"entries/dispute/{stream.id}: dispute is missing"] if kind == "dispute"
                    else [f"entries/template/{stream.id}: applied template revision "
                          f"{stream.versions} is missing"])
