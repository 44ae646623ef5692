"""The verifiers' witness policy, "k of these n witness keys", on a real ledger whose
checkpoint two real witnesses cosigned (a third watches another log): ``ledger audit``,
``ledger verify-bundle`` and the bundle's ``verify.py`` (a bare ``python3 -I -S`` process)
each say which cosignatures held, fail when fewer than k did, and fail on a forged
cosignature by a given witness (one the operator slipped into the database: the bundle is
otherwise validly signed)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from ledger.bundle.verifier import verify_bundle
from ledger.bundle.verify import summary
from ledger.errors import VerificationError
from ledger.service.context import Actor
from ledger.tlog.note import Signer, parse_verifier_key
from ledger.transparency.audit import AuditFailedError, audit_log
from ledger.transparency.keys import ensure_signers
from ledger.witness.policy import WitnessPolicy
from tests.conftest import TEST_ORIGIN
from tests.integration.scenarios import item_with_comments
from tests.support.bundle_cases import export
from tests.support.bundles import open_members
from tests.support.witness import Witness, cosigned_by, served_witness, witnessed_ledger

HR = Actor("hr.witness", "hr")
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Setup:
    base: str
    log_key: str
    witnesses: list[Witness]  # w1 and w2 cosigned; w3 did not (it watches another log)
    bundle: Path
    members: dict[str, bytes]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def setup(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Setup]:
    folder = tmp_path_factory.mktemp("witness-verifiers")
    log_signer = ensure_signers(folder / "keys", TEST_ORIGIN)[0]
    other = Signer("other.test/log", bytes([8]) * 32)
    async with contextlib.AsyncExitStack() as stack:
        ws = [await stack.enter_async_context(served_witness(folder, signer, seed=seed))
              for seed, signer in ((1, log_signer), (2, log_signer), (3, other))]
        runtime, base = await stack.enter_async_context(witnessed_ledger("sqlite", folder, ws))
        await item_with_comments(runtime.ledger, HR, 2, principals=runtime.principals)
        key = ws[2].signer.key
        raw = key.key_id.to_bytes(4, "big") + (1_800_000_000).to_bytes(8, "big") + bytes(64)
        forged = (key.label, f"— {key.name} {base64.b64encode(raw).decode()}\n")

        async def cosigned_and_forged() -> None:
            # The operator forges w3's cosignature into the database (valid shape, bad
            # signature) once w1 and w2 cosigned the latest checkpoint.
            await cosigned_by(base, ws[0])
            note = await cosigned_by(base, ws[1])
            await runtime.cosignatures.add(int(note.split("\n")[1]), [forged])

        await cosigned_and_forged()
        [departure] = await runtime.store.stream_ids("departure")
        exported = await export(runtime, uuid.UUID(str(departure)), HR)
        bundle = folder / "bundle.zip"
        bundle.write_bytes(exported.data)
        await cosigned_and_forged()  # the export's own event grew the log: its checkpoint too
        yield Setup(base, log_signer.verifier.vkey, ws, bundle, open_members(exported.data))


def _keys(setup: Setup, *which: int) -> list[str]:
    return [setup.witnesses[i].signer.key.vkey for i in which]


@pytest.mark.asyncio(loop_scope="module")
async def test_audit_reports_which_cosignatures_held(setup: Setup) -> None:
    verifier = parse_verifier_key(setup.log_key)
    report = await audit_log(setup.base, [verifier],
                             witnesses=WitnessPolicy.parse(_keys(setup, 0, 1)))
    assert report.witnesses is not None and report.witnesses.satisfied
    assert [c.key.name for c in report.witnesses.held] == ["witness.example/w1",
                                                            "witness.example/w2"]
    # w3's line on the served checkpoint is forged: with w3 in the policy, the audit fails.
    with pytest.raises(VerificationError, match=r"invalid cosignature by witness "
                                                r"witness\.example/w3"):
        await audit_log(setup.base, [verifier],
                        witnesses=WitnessPolicy.parse(_keys(setup, 0, 1, 2), 2))
    # Asking for a witness that never cosigned: too few.
    w4 = served_witness(setup.bundle.parent, seed=4)
    async with w4 as absent:
        policy = WitnessPolicy.parse([*_keys(setup, 0), absent.signer.key.vkey])
        with pytest.raises(AuditFailedError, match=r"1 of 2 witness cosignatures held "
                                                   r"\(needed 2\)"):
            await audit_log(setup.base, [verifier], witnesses=policy)


def _verify_py(setup: Setup, *args: str) -> tuple[int, list[str]]:
    script = setup.bundle.parent / "verify.py"
    script.write_bytes(setup.members["verify.py"])
    done = subprocess.run([sys.executable, "-I", "-S", str(script), "--key", setup.log_key,
                           *args, str(setup.bundle)], capture_output=True, text=True,
                          timeout=120, check=False)
    return done.returncode, _shared(done.stdout.splitlines())


def _shared(lines: list[str]) -> list[str]:
    """The lines both verifiers print alike (step 9, the report, differs by design)."""
    return [line for line in lines if not line.split(" ", 4)[-1].startswith("report")
            and "report.html" not in line and "report.pdf" not in line]


def _ledger_lines(setup: Setup, witnesses: list[str], required: int | None) -> list[str]:
    verdict = verify_bundle(setup.bundle, setup.log_key, witnesses=witnesses,
                            required=required)
    return _shared([c.line() for c in verdict.checks] + [summary(verdict)])


def _witness_args(keys: list[str], required: int | None) -> list[str]:
    args = [a for k in keys for a in ("--witness", k)]
    return args + (["--witnesses-required", str(required)] if required is not None else [])


@pytest.mark.parametrize(("which", "required", "passes", "says"), [
    ((0, 1), None, True, "ok   witnesses: 2 of 2 cosigned the checkpoint (2 required): "
                         "witness.example/w1 at "),
    ((0,), 1, True, "ok   witnesses: 1 of 1 cosigned the checkpoint (1 required)"),
    ((0, 1, 2), 2, False, "FAIL META-INF/cosignatures: the cosignature by witness "
                          "witness.example/w3 does not verify"),
])
def test_both_bundle_verifiers_apply_the_policy(setup: Setup, which: tuple[int, ...],
                                                required: int | None, passes: bool,
                                                says: str) -> None:
    assert "META-INF/cosignatures" in setup.members
    keys = _keys(setup, *which)
    ours = _ledger_lines(setup, keys, required)
    code, theirs = _verify_py(setup, *_witness_args(keys, required))
    assert theirs == ours  # the same checks, the same messages
    assert (code == 0) == passes and ours[-1].startswith("PASS" if passes else "FAIL")
    assert any(line.startswith(says) for line in ours), ours


def test_too_few_cosignatures_and_no_policy(setup: Setup, tmp_path: Path) -> None:
    from ledger.witness.cosignature import WitnessSigner

    stranger = WitnessSigner("witness.example/w9", bytes([9]) * 32).key.vkey
    keys = [*_keys(setup, 0), stranger]
    ours = _ledger_lines(setup, keys, None)
    assert ("FAIL witnesses: 1 of the 2 given witnesses cosigned the checkpoint, 2 required; "
            "missing: witness.example/w9") in ours
    assert _verify_py(setup, *_witness_args(keys, None)) == (1, ours)
    plain = _ledger_lines(setup, [], None)
    assert ("note META-INF/cosignatures: 3 witness cosignature(s), not checked: pass --witness "
            "keys to check them") in plain and plain[-1].startswith("PASS")
    assert _verify_py(setup) == (0, plain)
    # Usage: a log key given as a witness key, or more required than given.
    assert _verify_py(setup, "--witness", setup.log_key)[0] == 2
    assert _verify_py(setup, *_witness_args(_keys(setup, 0), 2))[0] == 2
    with pytest.raises(ValueError, match="0x04"):
        verify_bundle(setup.bundle, setup.log_key, witnesses=[setup.log_key])


@pytest.mark.asyncio(loop_scope="module")
async def test_ledger_audit_command_with_witnesses(setup: Setup, tmp_path: Path) -> None:
    async def audit(*args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ledger.cli", "audit", setup.base, "--key", setup.log_key,
            "--state", str(tmp_path / "state.json"), *args, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, cwd=ROOT)
        out, _ = await process.communicate()
        return process.returncode or 0, out.decode()

    code, out = await audit(*_witness_args(_keys(setup, 0, 1), None))
    assert code == 0, out
    assert "OK: 2 of 2 witness cosignatures held (needed 2): witness.example/w1 at " in out
    code, out = await audit(*_witness_args(_keys(setup, 0, 1, 2), 1))
    assert code == 1 and "invalid cosignature by witness witness.example/w3" in out, out
