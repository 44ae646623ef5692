"""Evidence bundles carry the RFC 3161 tokens over their checkpoint (format 1.2): the bundle's
own ``verify.py`` (run bare: ``python3 -I -S``) checks each token's message imprint and time
and says plainly what it did not check; ``ledger verify-bundle`` checks the token in full; and
``openssl ts -verify`` accepts the token the bundle carries. Tokens forged by someone holding
the log's key (the bundle resealed) fail as each verifier can tell."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import aiohttp

from ledger.bundle import layout
from ledger.bundle.verifier import LedgerPrimitives, verify_bundle
from ledger.bundle.verify import (
    GEN_TIME_SKEW,
    Primitives,
    gen_time_problem,
    inspect_bundle,
    read_tst_info,
)
from ledger.timestamp import stamper
from ledger.timestamp.client import TsaClient
from ledger.timestamp.token import build_query, load_roots, token_of
from ledger.transparency.keys import load_signers
from tests.conftest import TEST_ORIGIN
from tests.support.bundles import Parts, open_members, parts_of, seal, with_changes, zip_bytes
from tests.support.case_steps import started
from tests.support.stamping import Stamped, stamping
from tests.support.tsa import LocalTsa, Pki, make_pki, openssl_verifies

TOKEN, CHAIN = layout.timestamp_path(1), layout.timestamp_chain_path(1)


async def _exported(stamped: Stamped) -> bytes:
    api = stamped.api
    departure = await started(api)
    await api.sequence()
    reply = await api.get(f"/v1/departures/{departure}/bundle", "hr.sun")
    assert reply.status == 200, reply.body[:300]
    assert reply.headers["X-Ledger-Checkpoint-Timestamps"] == "1"
    return reply.body


def _bare_verify_py(bundle: bytes, folder: Path, vkey: str) -> tuple[int, str]:
    """The bundle's own verify.py on it, with no site packages (``-I -S``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bundle.zip").write_bytes(bundle)
    (folder / "verify.py").write_bytes(open_members(bundle)[layout.VERIFY_PY])
    done = subprocess.run([sys.executable, "-I", "-S", str(folder / "verify.py"), "--key", vkey,
                           str(folder / "bundle.zip")], capture_output=True, text=True,
                          check=False, timeout=120)
    return done.returncode, done.stdout + done.stderr


def _ledger_lines(bundle: bytes, folder: Path, vkey: str, pki: Pki | None) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bundle.zip").write_bytes(bundle)
    roots = load_roots(pki.ca_file.read_bytes()) if pki is not None else []
    verdict = verify_bundle(folder / "bundle.zip", vkey, tsa_roots=roots)
    return [c.line() for c in verdict.checks]


async def test_a_bundle_carries_its_tokens_and_both_verifiers_report_them(
        tmp_path: Path) -> None:
    async with stamping(tmp_path) as stamped:
        bundle = await _exported(stamped)
        vkey = stamped.api.runtime.verifiers[0].vkey
        tsa_url = stamped.tsa.url
    members = open_members(bundle)
    manifest = json.loads(members[layout.MANIFEST])
    [record] = manifest["timestamps"]
    assert (record["token"], record["chain"], record["tsa_url"]) == (TOKEN, CHAIN, tsa_url)
    assert list(members)[3:5] == [CHAIN, TOKEN]  # right after the manifest and its signature
    said = f"recorded no later than {record['gen_time']}, by TSA {tsa_url}"

    ok, openssl_said = openssl_verifies(stamped.pki, members[TOKEN],
                                        members[layout.CHECKPOINT], tmp_path / "openssl",
                                        token=True)
    assert ok, openssl_said

    code, output = _bare_verify_py(bundle, tmp_path / "bare", vkey)
    assert code == 0, output
    assert f"ok   {TOKEN}: the checkpoint, and so every event of this bundle, was {said} " \
           "(its message imprint and time checked)" in output
    assert "NOT the authority's signature or certificate chain" in output
    assert "ledger verify-bundle --key <vkey> [--tsa-ca <CA file>] BUNDLE" in output

    lines = _ledger_lines(bundle, tmp_path / "ledger", vkey, stamped.pki)
    assert not [x for x in lines if x.startswith("FAIL")], lines
    [line] = [x for x in lines if x.startswith(f"ok   {TOKEN}")]
    assert said in line and "CN=test TSA" in line
    assert "signature and certificate chain checked against the CA file given" in line
    assert "ok   report.html: rendered again from the entries, byte for byte the same" in lines
    report = members[layout.REPORT_HTML].decode()
    assert f"every event in this report, was {said} (RFC 3161)" in report
    alone = _ledger_lines(bundle, tmp_path / "alone", vkey, None)
    assert any(x.startswith(f"note {TOKEN}: NOT checked against a CA you trust (give "
                            "--tsa-ca)") and "the CA certificate the bundle carries" in x
               for x in alone)
    stranger = make_pki(tmp_path / "stranger", label="stranger")
    distrusted = _ledger_lines(bundle, tmp_path / "distrusted", vkey, stranger)
    [refused] = [x for x in distrusted if x.startswith(f"FAIL {TOKEN}: does not verify")]
    assert "unable to get local issuer certificate" in refused  # OpenSSL's words, not a dump
    assert "ErrorStack" not in refused and len(refused) < 200, refused

    # Without a token (exported while no authority answered), asking for trusted time says
    # there is none instead of a silent PASS; without --tsa-ca nothing is said.
    untimed = with_changes(parts_of(bundle), timestamps=[])
    del untimed.files[TOKEN], untimed.files[CHAIN]
    bare = zip_bytes(seal(untimed, load_signers(tmp_path / "keys", TEST_ORIGIN)))
    lines = _ledger_lines(bare, tmp_path / "untimed", vkey, stamped.pki)
    assert not [x for x in lines if x.startswith("FAIL")], lines
    assert "note timestamps: this bundle carries no RFC 3161 timestamp (its checkpoint had " \
           "none when it was exported): --tsa-ca checked nothing; its times rest on the " \
           "log's own clock" in lines
    assert not any("timestamp" in x for x in _ledger_lines(bare, tmp_path / "u2", vkey, None))


async def test_forged_tokens_in_a_resealed_bundle_fail_as_each_verifier_can_tell(
        tmp_path: Path) -> None:
    async with stamping(tmp_path) as stamped:
        bundle = await _exported(stamped)
        runtime = stamped.api.runtime
        vkey = runtime.verifiers[0].vkey
        pki = stamped.pki
        parts = parts_of(bundle)
        checkpoint = parts.files[layout.CHECKPOINT]
        other_note = await _token(stamped.tsa, checkpoint + b"x")
    signers = load_signers(tmp_path / "keys", TEST_ORIGIN)
    stranger = make_pki(tmp_path / "stranger", label="stranger")
    stranger_tsa = await LocalTsa(stranger).start()
    try:
        untrusted = await _token(stranger_tsa, checkpoint)
    finally:
        await stranger_tsa.stop()

    def resealed(changed: Parts) -> bytes:
        return zip_bytes(seal(changed, signers, report=False))

    wrong_imprint = with_changes(parts)
    wrong_imprint.files[TOKEN] = other_note
    late = with_changes(parts)
    late.timestamps[0] = dataclasses.replace(late.timestamps[0], gen_time="2020-01-01T00:00:00Z")
    garbage = with_changes(parts)
    garbage.files[TOKEN] = bytes.fromhex("3003020100")
    for changed, message in ((wrong_imprint, "message imprint is not the checkpoint's"),
                             (late, "time differs from the manifest"),
                             (garbage, "malformed")):
        forged = resealed(changed)
        code, output = _bare_verify_py(forged, tmp_path / message[:4], vkey)
        assert code == 1 and f"FAIL {TOKEN}: {message}" in output, output
        lines = _ledger_lines(forged, tmp_path / f"ledger-{message[:4]}", vkey, pki)
        assert f"FAIL {TOKEN}: {message}" in lines, lines

    # A token by an authority the reader does not trust, over the right checkpoint, with the
    # manifest's time set to its own: verify.py cannot tell (and says what it did not check);
    # the ledger, given the CA the reader trusts, refuses it.
    foreign = with_changes(parts)
    foreign.files[TOKEN] = untrusted
    foreign.files[CHAIN] = stranger.tsa_cert.read_bytes() + stranger.ca_file.read_bytes()
    foreign.timestamps[0] = dataclasses.replace(foreign.timestamps[0],
                                                gen_time=read_tst_info(untrusted)[2])
    forged_bundle = resealed(foreign)
    code, output = _bare_verify_py(forged_bundle, tmp_path / "foreign", vkey)
    assert code == 0 and "NOT the authority's signature" in output, output
    lines = _ledger_lines(forged_bundle, tmp_path / "ledger-foreign", vkey, pki)
    assert any(x.startswith(f"FAIL {TOKEN}: does not verify") for x in lines), lines
    # Given no CA, the ledger checks the token against the CA the bundle itself carries: a
    # bundle's maker can carry any CA, so that must never read as a verified time ("ok").
    alone = _ledger_lines(forged_bundle, tmp_path / "ledger-foreign-alone", vkey, None)
    [line] = [x for x in alone if TOKEN in x]
    assert line.startswith(f"note {TOKEN}: NOT checked against a CA you trust"), line


async def _token(tsa: LocalTsa, data: bytes) -> bytes:
    async with aiohttp.ClientSession() as session:
        response = await TsaClient(lambda: session).fetch(tsa.url, build_query(data).der, 5)
    return token_of(response)



class _SlowLedgerClock(LedgerPrimitives):
    """`ledger verify-bundle`'s checks on a computer whose clock is an hour behind."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)


class _SlowClock(Primitives):
    """verify.py's checks on a computer whose clock is an hour behind."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)


async def test_a_token_dated_in_the_future_or_before_its_entries_fails_both_verifiers(
        tmp_path: Path) -> None:
    """A TSA whose clock is ahead of the reader's: its token is in the future, and both
    verifiers refuse it (openssl cannot be given another time: the reader's clock moves).
    A token older than the entries its checkpoint covers is refused by the same function
    (the entries' times come from the real clock, so that case is checked on its figures)."""
    async with stamping(tmp_path) as stamped:
        bundle = await _exported(stamped)
        vkey = stamped.api.runtime.verifiers[0].vkey
        roots = load_roots(stamped.pki.ca_file.read_bytes())
    (tmp_path / "bundle.zip").write_bytes(bundle)
    assert not inspect_bundle(tmp_path / "bundle.zip", vkey, LedgerPrimitives(roots)).failures
    for prim in (_SlowLedgerClock(roots), _SlowClock()):
        [failed] = inspect_bundle(tmp_path / "bundle.zip", vkey, prim).failures
        assert failed.startswith(f"{TOKEN}: its time ") and "is in the future" in failed
        assert "the authority's clock (or this computer's) is wrong" in failed

    members = open_members(bundle)
    recorded = [json.loads(v)["recorded_at"] for k, v in members.items()
                if k.startswith("entries/")]
    gen_time = json.loads(members[layout.MANIFEST])["timestamps"][0]["gen_time"]
    now = dt.datetime.now(dt.UTC)
    assert gen_time_problem(gen_time, recorded, now) is None
    later = (dt.datetime.fromisoformat(max(recorded)) + dt.timedelta(minutes=6)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")
    said = gen_time_problem(gen_time, [*recorded, later], now)
    assert said is not None and f"is before an entry it covers was recorded ({later})" in said
    skewed = (dt.datetime.fromisoformat(max(recorded)) + dt.timedelta(minutes=4)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")
    assert gen_time_problem(gen_time, [*recorded, skewed], now) is None  # within the skew
    assert GEN_TIME_SKEW == stamper.GEN_TIME_SKEW  # the ledger refuses by the same bound
