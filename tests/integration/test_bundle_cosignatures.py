"""An evidence bundle whose checkpoint two real witnesses cosigned: ``report.html`` states,
beside the checkpoint, which witnesses cosigned it and when (from ``META-INF/cosignatures``),
``README.txt`` says how to check them, and both verifiers still pass, ``ledger verify-bundle``
rendering the report again byte for byte. A bundle resealed with other cosignature lines and
the old report fails the rerender; a bundle without cosignatures says nothing of witnesses."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from ledger.bundle import layout
from ledger.bundle.verifier import verify_bundle
from ledger.bundle.verify import Primitives, summary
from ledger.service.context import Actor
from ledger.tlog.note import Signer, parse_verifier_key, split_note
from ledger.tlog.proof_text import verify_tlog_proof
from ledger.transparency.keys import ensure_signers
from ledger.witness.policy import WitnessPolicy
from tests.conftest import TEST_ORIGIN
from tests.integration.scenarios import item_with_comments
from tests.support.bundle_cases import export
from tests.support.bundles import open_members, parts_of, seal, with_changes, zip_bytes
from tests.support.witness import Witness, cosigned_by, served_witness, witnessed_ledger

HR = Actor("hr.cosigned", "hr")
HEADING = '见证签名 <span class="en">witness cosignature</span>'
RERENDERED = "ok   report.html: rendered again from the entries, byte for byte the same"
NOT_PRODUCED = "FAIL report.html: not produced from these entries"


@dataclass
class Cosigned:
    log_key: str
    witnesses: list[Witness]
    data: bytes
    members: dict[str, bytes]
    signers: list[Signer]
    folder: Path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cosigned(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cosigned]:
    folder = tmp_path_factory.mktemp("bundle-cosignatures")
    signers = ensure_signers(folder / "keys", TEST_ORIGIN)
    async with contextlib.AsyncExitStack() as stack:
        ws = [await stack.enter_async_context(served_witness(folder, signers[0], seed=seed))
              for seed in (1, 2)]
        runtime, base = await stack.enter_async_context(witnessed_ledger("sqlite", folder, ws))
        await item_with_comments(runtime.ledger, HR, 2, principals=runtime.principals)
        for witness in ws:
            await cosigned_by(base, witness)
        [departure] = await runtime.store.stream_ids("departure")
        exported = await export(runtime, uuid.UUID(str(departure)), HR)
        yield Cosigned(signers[0].verifier.vkey, ws, exported.data,
                       open_members(exported.data), list(signers), folder)


def _times(members: dict[str, bytes]) -> dict[str, str]:
    """Each cosigning witness's name and time (UTC), read from the lines independently."""
    found = {}
    for line in members[layout.COSIGNATURES].decode().splitlines():
        name, _, encoded = line.removeprefix("— ").partition(" ")
        seconds = int.from_bytes(base64.b64decode(encoded)[4:12], "big")
        found[name] = f"{dt.datetime.fromtimestamp(seconds, dt.UTC):%Y-%m-%d %H:%M:%S}Z"
    return found


def test_report_states_who_cosigned_and_when(cosigned: Cosigned) -> None:
    times = _times(cosigned.members)
    assert sorted(times) == ["witness.example/w1", "witness.example/w2"]
    html = cosigned.members[layout.REPORT_HTML].decode()
    for witness in cosigned.witnesses:
        key = witness.signer.key
        when = times[key.name]
        assert (f"见证者 {key.name}（密钥 ID <span class=\"mono\">{key.key_id:08x}</span>）于 "
                f"{when} · ") in html
        assert (f"Witness {key.name} (key ID <span class=\"mono\">{key.key_id:08x}</span>) "
                f"cosigned the checkpoint at {when} · ") in html
    # beside the checkpoint, in the facts table at the top (before section 1)
    assert html.count(HEADING) == 2 and html.index(HEADING) < html.index("<h2>1 案件")
    assert html.count("This report does not check the cosignature") == 2
    assert "--witnesses-required K" in html and "This bundle carries witness cosignatures" in html


def test_readme_says_how_to_check_them(cosigned: Cosigned) -> None:
    readme = cosigned.members[layout.README].decode()
    names = "witness.example/w1, witness.example/w2"
    assert f"见证者：{names}" in readme and f"by: {names}" in readme
    assert ("python3 -I verify.py --key <verifier key> --witness <witness key> "
            "--witnesses-required K") in readme
    assert "python3 -I verify.py --key <验证公钥> --witness <见证公钥> --witnesses-required K" \
        in readme


def _verify_py(cosigned: Cosigned, bundle: Path, *args: str) -> tuple[int, str]:
    script = cosigned.folder / "verify.py"
    script.write_bytes(cosigned.members[layout.VERIFY_PY])
    done = subprocess.run([sys.executable, "-I", "-S", str(script), "--key", cosigned.log_key,
                           *args, str(bundle)], capture_output=True, text=True, timeout=120,
                          check=False)
    return done.returncode, done.stdout


def test_both_verifiers_pass_and_the_report_renders_again(cosigned: Cosigned) -> None:
    bundle = cosigned.folder / "bundle.zip"
    bundle.write_bytes(cosigned.data)
    keys = [w.signer.key.vkey for w in cosigned.witnesses]
    verdict = verify_bundle(bundle, cosigned.log_key, witnesses=keys, required=2)
    lines = [c.line() for c in verdict.checks]
    assert summary(verdict).startswith("PASS"), lines
    assert RERENDERED in lines
    assert any(line.startswith("ok   witnesses: 2 of 2 cosigned the checkpoint") for line in lines)
    args = [a for k in keys for a in ("--witness", k)] + ["--witnesses-required", "2"]
    code, out = _verify_py(cosigned, bundle, *args)
    assert code == 0, out
    assert "witnesses: 2 of 2 cosigned the checkpoint" in out
    assert _verify_py(cosigned, bundle)[0] == 0  # no policy: listed, not checked


@pytest.mark.parametrize("change", ["drop one", "drop all"])
def test_other_cosignatures_under_the_old_report_fail_the_rerender(
        cosigned: Cosigned, change: str, tmp_path: Path) -> None:
    # The operator reseals (with its own key) a bundle whose cosignature lines differ from
    # those the report states, keeping that report: every digest and the signature hold, but
    # the report is no longer what these files render.
    parts = with_changes(parts_of(cosigned.data))
    lines = parts.files[layout.COSIGNATURES].decode().splitlines(keepends=True)
    if change == "drop all":
        del parts.files[layout.COSIGNATURES]
    else:
        parts.files[layout.COSIGNATURES] = lines[0].encode()
    bundle = tmp_path / "resealed.zip"
    bundle.write_bytes(zip_bytes(seal(parts, cosigned.signers, report=False)))
    verdict = verify_bundle(bundle, cosigned.log_key)
    lines_out = [c.line() for c in verdict.checks]
    assert NOT_PRODUCED in lines_out and summary(verdict).startswith("FAIL"), lines_out
    # Resealed with the report rendered again from those lines, it passes and says less.
    bundle.write_bytes(zip_bytes(seal(parts, cosigned.signers)))
    verdict = verify_bundle(bundle, cosigned.log_key)
    assert RERENDERED in [c.line() for c in verdict.checks]
    html = open_members(bundle.read_bytes())[layout.REPORT_HTML].decode()
    assert html.count("cosigned the checkpoint at") == (1 if change == "drop one" else 0)
    assert html.count(HEADING) == (1 if change == "drop one" else 0)


def test_proofs_carrying_the_cosignatures_verify_and_meet_a_witness_policy_alone(
        cosigned: Cosigned, tmp_path: Path) -> None:
    # C2SP tlog-proof: a proof's checkpoint may include the witnesses' cosignatures. Both
    # verifiers accept such proofs when those lines are the bundle's own cosignatures, and a
    # proof taken out of the bundle then meets "2 of these 2 witnesses" by itself.
    lines = cosigned.members[layout.COSIGNATURES]
    parts = with_changes(parts_of(cosigned.data))
    proofs = sorted(p for p in parts.files if p.startswith("proofs/"))
    for path in proofs:
        parts.files[path] += lines
    bundle = tmp_path / "cosigned-proofs.zip"
    bundle.write_bytes(zip_bytes(seal(parts, cosigned.signers)))
    keys = [w.signer.key.vkey for w in cosigned.witnesses]
    verdict = verify_bundle(bundle, cosigned.log_key, witnesses=keys, required=2)
    assert summary(verdict).startswith("PASS"), [c.line() for c in verdict.checks]
    args = [a for k in keys for a in ("--witness", k)] + ["--witnesses-required", "2"]
    code, out = _verify_py(cosigned, bundle, *args)
    assert code == 0, out
    entry = proofs[0].replace("proofs/", "entries/").replace(".tlog-proof", ".json")
    event_hash = bytes.fromhex(Primitives().entry(entry, parts.files[entry]).hash)
    alone = verify_tlog_proof(parts.files[proofs[0]], event_hash,
                              [parse_verifier_key(cosigned.log_key)], TEST_ORIGIN)
    policy = WitnessPolicy.parse(keys, 2)
    assert policy.check(*split_note(alone.signed_checkpoint)).satisfied
    # A line the bundle does not carry fails, as any other checkpoint would.
    forged = with_changes(parts_of(cosigned.data))
    forged.files[proofs[0]] += b"\xe2\x80\x94 witness.example/w9 AAAAAAAAAAAAAAAA\n"
    bundle.write_bytes(zip_bytes(seal(forged, cosigned.signers)))
    failed = verify_bundle(bundle, cosigned.log_key).failures
    assert failed == [f"{proofs[0]}: checkpoint differs from the bundle's"], failed
