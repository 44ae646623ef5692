"""RFC 3161 time-stamp requests and responses over a signed checkpoint, through
``rfc3161-client`` (no ASN.1 of our own). No I/O: the HTTP exchange is ledger.timestamp.client.

The message imprint is SHA-256 over the checkpoint's full signed note as served by
``GET /log/checkpoint`` (its text and every signature line): a token over it proves the log had
signed that tree head no later than the token's time (issue 14; RFC 3161 section 2.4.1).

A response is accepted only when (``verify_response``): its status is granted; its signature
verifies and its signer's chain leads to one of the trusted roots, valid at the token's own
time (RFC 3161 section 4.1: a token outlives its certificate); the signer certificate carries
the timeStamping extended key usage marked critical (section 2.3); the nonce is the request's
(when checking a fresh answer); and the imprint is SHA-256 of the note.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import rfc3161_client
from cryptography import x509
from rfc3161_client import HashAlgorithm, TimestampRequestBuilder, VerifierBuilder

from ledger.errors import InvalidInputError, VerificationError

SHA256_OID = x509.ObjectIdentifier("2.16.840.1.101.3.4.2.1")  # id-sha256 (RFC 5754)


@dataclass(frozen=True)
class TimestampQuery:
    """A DER TimeStampReq for one note, and the nonce it carries (to match the answer)."""

    der: bytes
    nonce: int


@dataclass(frozen=True)
class VerifiedTimestamp:
    """What a verified token says: when (``gen_time``, UTC), under which policy, with which
    serial number, and the TSA's name (the signer certificate's subject)."""

    gen_time: dt.datetime
    serial: int
    policy: str
    tsa_subject: str


def imprint(note: bytes) -> bytes:
    """SHA-256 of the signed note bytes (the message imprint tokens must carry)."""
    return hashlib.sha256(note).digest()


def build_query(note: bytes) -> TimestampQuery:
    """A request over ``note`` with SHA-256, a random nonce and certReq true (so the token
    carries the TSA's certificate, RFC 3161 section 2.4.1). Requires a non-empty note."""
    request = (TimestampRequestBuilder().data(note).hash_algorithm(HashAlgorithm.SHA256)
               .nonce(nonce=True).cert_request(cert_request=True).build())
    nonce = request.nonce
    if nonce is None:  # the builder was asked for one
        raise VerificationError("the time-stamp request came out without a nonce")
    return TimestampQuery(request.as_bytes(), nonce)


def load_roots(pem: bytes) -> list[x509.Certificate]:
    """The CA certificates of a PEM file (LEDGER_TSA_CA_FILE); InvalidInputError when it
    holds none or is not PEM."""
    try:
        roots = x509.load_pem_x509_certificates(pem)
    except ValueError as e:
        raise InvalidInputError(f"not a PEM file of certificates: {e}") from e
    if not roots:
        raise InvalidInputError("the file holds no certificate")
    return roots


def verify_response(response: bytes, note: bytes, roots: Sequence[x509.Certificate], *,
                    nonce: int | None = None) -> VerifiedTimestamp:
    """Check a DER TimeStampResp over ``note`` against ``roots`` (see the module docstring);
    ``nonce``, when given, must be the one the token carries. VerificationError saying which
    check failed. Requires at least one root."""
    parsed = decode_response(response)
    info = parsed.tst_info
    if info.message_imprint.hash_algorithm != SHA256_OID:
        raise VerificationError("the token's message imprint is not SHA-256")
    if info.message_imprint.message != imprint(note):
        raise VerificationError("the token's message imprint is not the note's")
    builder = VerifierBuilder(roots=list(roots), nonce=nonce)
    try:
        builder.build().verify(parsed, imprint(note))
    except rfc3161_client.VerificationError as e:
        raise VerificationError(f"the time-stamp token does not verify: {_reason(e)}") from e
    except (ValueError, x509.InvalidVersion) as e:  # malformed parts met while checking
        raise VerificationError(f"the time-stamp token is malformed: {e}") from e
    return VerifiedTimestamp(info.gen_time.astimezone(dt.UTC), info.serial_number,
                             info.policy.dotted_string, _signer_subject(parsed))


def _reason(error: Exception) -> str:
    """The library's reason in one phrase: OpenSSL's own words when it gives them (its error
    stack arrives as a Rust debug dump: ``... data: "Verify error: unable to get local issuer
    certificate" ...``), else the message as it is."""
    text = str(error)
    said = re.search(r'data: "([^"]{1,200})"', text)
    return said.group(1) if said else text[:300]


def decode_response(response: bytes) -> rfc3161_client.TimeStampResponse:
    """Parse a DER TimeStampResp; VerificationError when it is not one."""
    try:
        return rfc3161_client.decode_timestamp_response(response)
    except ValueError as e:
        raise VerificationError(f"not a time-stamp response: {e}") from e


def token_of(response: bytes) -> bytes:
    """The TimeStampToken (a CMS ContentInfo, the ``.tst`` file of ASiC) inside a response."""
    return decode_response(response).time_stamp_token()


def signer_certificates(response: bytes) -> list[x509.Certificate]:
    """The certificates the token carries (the TSA's, and any intermediates it sent)."""
    parsed = decode_response(response)
    return [x509.load_der_x509_certificate(c) for c in sorted(parsed.signed_data.certificates)]


# RFC 3161 section 2.4.2: TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken }.
# rfc3161-client verifies responses only; a bundle carries the bare token (ASiC's .tst), so
# the verifier frames it as a granted response: a fixed prefix, nothing parsed by hand.
_GRANTED_STATUS = bytes.fromhex("3003020100")  # PKIStatusInfo { status granted (0) }


def response_for_token(token: bytes) -> bytes:
    """The DER TimeStampResp ``{granted, token}`` around a DER TimeStampToken."""
    body = _GRANTED_STATUS + token
    size = len(body)
    length = bytes([size]) if size < 0x80 else (
        bytes([0x80 | (size.bit_length() + 7) // 8]) + size.to_bytes((size.bit_length() + 7)
                                                                      // 8, "big"))
    return b"\x30" + length + body


def _signer_subject(parsed: rfc3161_client.TimeStampResponse) -> str:
    signers = list(parsed.signed_data.signer_infos)
    for der in parsed.signed_data.certificates:
        try:
            cert = x509.load_der_x509_certificate(der)
        except (ValueError, x509.InvalidVersion):
            continue  # a malformed extra certificate: the verified signer's is another
        if signers and cert.issuer == signers[0].issuer and (
                cert.serial_number == signers[0].serial_number):
            return cert.subject.rfc4514_string()
    return ""
