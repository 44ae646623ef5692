"""The two verifiers as an auditor runs them: ``python3 -I verify.py --key … [BUNDLE]`` as a
real process on the ZIP, on the unzipped folder and from inside it (no BUNDLE), with nothing
but the standard library (``-S``: no site-packages); and ``ledger verify-bundle`` printing the
same lines, exit codes 0, 1 and 2. Every bundle is the real exporter's. ``--against`` a live
ledger over HTTP, on each store: a bundle exported before more events were logged still
verifies against the grown log, and not against another log (another history under the same
key, or another key)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ledger.bundle import layout, verify
from ledger.cli import build_parser
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.settings import Settings
from ledger.transparency.keys import load_signers
from ledger.transparency.log_identity import MARKER
from tests.conftest import TEST_ORIGIN, drain
from tests.integration.http_fixtures import Api, postgres_database, serve
from tests.support.bundle_cases import Cases, build_cases, export
from tests.support.bundles import open_members, unzip_to, zip_bytes

HR = Actor("hr.sun", "hr")


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Cases:
    folder = tmp_path_factory.mktemp("bundles")
    return asyncio.run(build_cases(f"sqlite:///{folder / 'ledger.db'}", folder))


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextlib.asynccontextmanager
async def served(store: str, folder: Path) -> AsyncIterator[Api]:
    """A ledger served on ``store`` (a fresh database), keys under ``folder``."""
    if store == "sqlite":
        async with serve(f"sqlite:///{folder / 'ledger.db'}", folder) as api:
            yield api
        return
    async with postgres_database() as database_url, serve(database_url, folder) as api:
        yield api


def _run_verify_py(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-I", "-S", str(script), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def test_verify_py_passes_the_zip_and_the_folder_as_a_bare_process(cases: Cases,
                                                                    tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(cases.final.data)
    folder = unzip_to(open_members(cases.final.data), tmp_path / "unzipped")
    script = folder / layout.VERIFY_PY
    expected = [c.line() for c in verify.verify_bundle(bundle, cases.vkey)]
    for args in ([str(bundle)], [str(folder)], []):  # [] : the folder verify.py is in
        done = _run_verify_py(script, "--key", cases.vkey, *args, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        assert lines[:-1] == expected
        assert lines[-1].startswith(
            f"PASS: final bundle of departure {cases.final.parts.departure_id}")


def test_verify_py_fails_a_tampered_bundle_and_refuses_a_bad_key(cases: Cases,
                                                                 tmp_path: Path) -> None:
    members = open_members(cases.interim.data)
    entry = next(p for p in members if p.startswith("entries/"))
    members[entry] = members[entry].replace(b'"', b"'", 1)
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(zip_bytes(members))
    script = tmp_path / "verify.py"
    script.write_bytes(members[layout.VERIFY_PY])
    done = _run_verify_py(script, "--key", cases.vkey, str(bundle), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.splitlines()[-2:] == [
        f"FAIL {entry}: SHA-256 differs from the manifest", "FAIL: 1 problem(s)"]
    done = _run_verify_py(script, "--key", "not-a-key", str(bundle), cwd=tmp_path)
    assert done.returncode == 2 and "--key" in done.stderr
    done = _run_verify_py(script, "--key", cases.vkey, str(tmp_path / "absent.zip"),
                          cwd=tmp_path)
    assert done.returncode == 2


def test_ledger_verify_bundle_prints_the_same_lines(cases: Cases, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from ledger.cli import main

    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(cases.final.data)
    key_file = tmp_path / "log.vkey"
    key_file.write_text(cases.vkey + "\n")
    assert main(["verify-bundle", str(bundle), "--key", str(key_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    ours = [c.line() for c in verify.verify_bundle(bundle, cases.vkey)]
    assert [x for x in lines if not x.startswith(("note", "ok   report."))] == [
        x for x in [*ours[:-1], lines[-1]] if not x.startswith(("note", "ok   report."))]
    assert "ok   report.pdf: carries this manifest (without its own record) as manifest.json" in (
        lines)
    assert lines[-1].startswith("PASS: final bundle")
    members = open_members(cases.final.data)
    members[layout.SIGNATURE] = open_members(cases.interim.data)[layout.SIGNATURE]
    bundle.write_bytes(zip_bytes(members))
    assert main(["verify-bundle", str(bundle), "--key", cases.vkey]) == 1
    assert capsys.readouterr().out.splitlines()[-2:] == [
        "FAIL META-INF/signature: does not name this departure and manifest",
        "FAIL: 1 problem(s)"]
    with pytest.raises(SystemExit) as usage:  # neither a key string nor a file holding one
        main(["verify-bundle", str(bundle), "--key", "nonsense"])
    assert usage.value.code == 2


async def _start(api: Api) -> str:
    started = await api.runtime.ledger.execute(c.StartDeparture(
        leaver=c.Leaver(id="wang.lei", name="王磊", department="Sales", position="Manager",
                        role_family="sales"),
        manager_id="li.qiang", hr_owner_id=HR.id, notice_date="2026-11-01",
        last_working_day="2026-11-30", reason="resigned"), HR)
    await api.runtime.ledger.execute(c.SubmitForApproval(
        departure_id=uuid.UUID(str(started.result["departure_id"]))), HR)
    await drain(api.runtime.sequencer)
    return str(started.result["departure_id"])


async def test_against_a_log_with_another_history_under_the_same_key_fails(
        store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    async with served(store, first) as api:
        signers = load_signers(first / "keys", TEST_ORIGIN)
        exported = await export(api.runtime, await _start(api), HR)
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(exported.data)
    # The same key signing another log: what the ledger refuses to do, so its marker is left.
    shutil.copytree(first / "keys", second / "keys", ignore=shutil.ignore_patterns(MARKER))
    async with served(store, second) as other:
        for _ in range(3):
            await _start(other)
        args = build_parser().parse_args(["verify-bundle", str(bundle), "--key",
                                          signers[0].verifier.vkey, "--against", other.base])
        assert await args.run(args, Settings()) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].startswith(f"FAIL against {other.base}: root hash at tree size ")
    assert lines[-1] == "FAIL: 1 problem(s)"


async def test_against_a_log_under_another_key_fails(store: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    async with served(store, first) as api:
        vkey = load_signers(first / "keys", TEST_ORIGIN)[0].verifier.vkey
        exported = await export(api.runtime, await _start(api), HR)
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(exported.data)
    async with served(store, second) as other:  # another ledger, its own key
        for _ in range(3):
            await _start(other)
        args = build_parser().parse_args(["verify-bundle", str(bundle), "--key", vkey,
                                          "--against", other.base])
        assert await args.run(args, Settings()) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].startswith(f"FAIL against {other.base}: ")
    assert "signed by the key" not in lines[-2]
    assert lines[-1] == "FAIL: 1 problem(s)"


async def test_a_bundle_exported_then_grown_passes_against_the_live_log(
        store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with served(store, tmp_path) as api:
        ledger = api.runtime.ledger
        started = await ledger.execute(c.StartDeparture(
            leaver=c.Leaver(id="wang.lei", name="王磊", department="Sales", position="Manager",
                            role_family="sales"),
            manager_id="li.qiang", hr_owner_id=HR.id, notice_date="2026-11-01",
            last_working_day="2026-11-30", reason="resigned"), HR)
        departure = str(started.result["departure_id"])
        vkey = load_signers(tmp_path / "keys", TEST_ORIGIN)[0].verifier.vkey
        exported = await export(api.runtime, departure, HR)
        bundle = tmp_path / "bundle.zip"
        bundle.write_bytes(exported.data)
        await ledger.execute(c.SubmitForApproval(departure_id=uuid.UUID(departure)), HR)
        await _start(api)  # another case, more events
        size = (await api.runtime.reader.latest()).size
        args = build_parser().parse_args(["verify-bundle", str(bundle), "--key", vkey,
                                          "--against", api.base])
        assert await args.run(args, Settings()) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[-2] == (f"ok   against {api.base}: the live log {TEST_ORIGIN} at size "
                             f"{size}, signed by the key, extends the bundle's checkpoint "
                             f"(size {exported.parts.checkpoint.size})")
        assert size > exported.parts.checkpoint.size
        assert lines[-1].startswith(f"PASS: interim bundle of departure {departure}")
