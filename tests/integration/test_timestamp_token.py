"""RFC 3161 requests and verification against a real local TSA (``openssl ts -reply`` on
loopback, tests/support/tsa.py), each verdict cross-checked with ``openssl ts -verify``."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from ledger.errors import VerificationError
from ledger.timestamp.client import TsaClient, TsaUnavailableError
from ledger.timestamp.token import build_query, imprint, load_roots, token_of, verify_response
from tests.support.tsa import (
    OPENSSL,
    LocalTsa,
    Pki,
    make_pki,
    openssl_config,
    openssl_verifies,
)

NOTE = (b"ledger.test/log\n7\nq2Zb0Dn5pr2TnxRWz3rBDMlCzDPbRAqsbyt9GLY8L6Q=\n\n"
        b"\xe2\x80\x94 ledger.test/log Az3grlsiRRq2QIn+LRTfWKnsddWvfBOWLETPUaEWWEsmSSm06i2h\n")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def _token(pki: Pki, session: aiohttp.ClientSession, note: bytes = NOTE,
                 tamper: bool = False) -> tuple[bytes, int]:
    tsa = await LocalTsa(pki, tamper=tamper).start()
    try:
        query = build_query(note)
        return await TsaClient(lambda: session).fetch(tsa.url, query.der, 5), query.nonce
    finally:
        await tsa.stop()


async def test_a_token_from_a_real_tsa_verifies_and_openssl_agrees(
        pki: Pki, session: aiohttp.ClientSession, tmp_path: Path) -> None:
    response, nonce = await _token(pki, session)
    verified = verify_response(response, NOTE, load_roots(pki.ca_file.read_bytes()),
                               nonce=nonce)
    assert verified.tsa_subject == "CN=test TSA"
    assert verified.policy == "1.3.6.1.4.1.55555.1.1"
    ok, said = openssl_verifies(pki, response, NOTE, tmp_path)
    assert ok, said
    # the token alone (ASiC's .tst) is a CMS ContentInfo the response carries byte for byte
    assert token_of(response) in response
    assert len(imprint(NOTE)) == 32


async def test_a_token_over_another_note_is_refused(
        pki: Pki, session: aiohttp.ClientSession, tmp_path: Path) -> None:
    response, _ = await _token(pki, session)
    other = NOTE.replace(b"\n7\n", b"\n8\n")
    with pytest.raises(VerificationError, match="message imprint is not the note"):
        verify_response(response, other, load_roots(pki.ca_file.read_bytes()))
    assert not openssl_verifies(pki, response, other, tmp_path)[0]


async def test_a_tampered_token_is_refused(
        pki: Pki, session: aiohttp.ClientSession, tmp_path: Path) -> None:
    response, _ = await _token(pki, session, tamper=True)
    with pytest.raises(VerificationError, match="does not verify"):
        verify_response(response, NOTE, load_roots(pki.ca_file.read_bytes()))
    assert not openssl_verifies(pki, response, NOTE, tmp_path)[0]


async def test_a_token_with_another_nonce_is_refused(
        pki: Pki, session: aiohttp.ClientSession) -> None:
    response, nonce = await _token(pki, session)
    with pytest.raises(VerificationError, match="Nonce mismatch"):
        verify_response(response, NOTE, load_roots(pki.ca_file.read_bytes()), nonce=nonce + 1)


async def test_a_token_from_an_untrusted_tsa_is_refused(
        pki: Pki, session: aiohttp.ClientSession, tmp_path: Path) -> None:
    response, _ = await _token(pki, session)
    stranger = make_pki(tmp_path / "stranger", label="stranger")
    with pytest.raises(VerificationError, match="unable to get local issuer certificate"):
        verify_response(response, NOTE, load_roots(stranger.ca_file.read_bytes()))
    assert not openssl_verifies(stranger, response, NOTE, tmp_path / "openssl")[0]


async def test_a_token_signed_by_an_expired_tsa_certificate_is_refused(
        session: aiohttp.ClientSession, tmp_path: Path) -> None:
    expired = make_pki(tmp_path / "expired", label="expired", tsa_expired=True)
    response, _ = await _token(expired, session)
    with pytest.raises(VerificationError, match="certificate has expired"):
        verify_response(response, NOTE, load_roots(expired.ca_file.read_bytes()))
    assert not openssl_verifies(expired, response, NOTE, tmp_path / "openssl")[0]


def test_openssl_will_not_even_issue_a_token_without_a_critical_eku(tmp_path: Path) -> None:
    # The other half of the EKU rule (rfc3161-client refuses a token whose signer's EKU is
    # not critical) cannot be shown with a real TSA: openssl refuses to sign such a token.
    lax = make_pki(tmp_path / "lax", label="lax", critical_eku=False)
    query = tmp_path / "q.tsq"
    query.write_bytes(build_query(NOTE).der)
    done = subprocess.run([OPENSSL, "ts", "-reply", "-config", str(openssl_config(lax)),
                           "-queryfile", str(query)], capture_output=True, check=False)
    assert b"invalid signer certificate purpose" in done.stderr


async def test_a_tsa_that_is_down_or_absent_is_unavailable(
        pki: Pki, session: aiohttp.ClientSession) -> None:
    tsa = await LocalTsa(pki, down=True).start()
    client = TsaClient(lambda: session)
    try:
        with pytest.raises(TsaUnavailableError, match="answered HTTP 503"):
            await client.fetch(tsa.url, build_query(NOTE).der, 5)
    finally:
        await tsa.stop()
    with pytest.raises(TsaUnavailableError, match="could not be reached"):
        await client.fetch(tsa.url, build_query(NOTE).der, 5)


async def test_a_token_corrupted_anywhere_fails_without_a_traceback(
        pki: Pki, session: aiohttp.ClientSession) -> None:
    # A bundle's token is whatever its maker put there: every byte changed (to a few telling
    # values: 3 makes a certificate's version invalid) is a FAIL or note line of
    # verify-bundle, never an exception out of the check.
    from ledger.bundle.verify import read_tst_info
    from ledger.timestamp.bundle_check import check_token

    response, _ = await _token(pki, session)
    token = token_of(response)
    roots = load_roots(pki.ca_file.read_bytes())
    record = {"token": "t.tst", "tsa_url": "u", "gen_time": read_tst_info(token)[2]}
    chain = pki.ca_file.read_bytes()
    for at in range(len(token)):
        for value in (0x03, 0xFF):
            changed = token[:at] + bytes([value]) + token[at + 1:]
            for trusted in (roots, []):
                check = check_token(changed, chain, NOTE, record, trusted)
                assert check.status in ("ok", "FAIL", "note"), (at, value)
