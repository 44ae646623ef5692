"""``ledger verify-bundle``'s step 10 in full: each RFC 3161 token a bundle carries, verified
by rfc3161-client against the CA certificates the reader gives (``--tsa-ca``) or, without
them, against the CA certificate the bundle carries beside the token (then a ``note``, not
``ok``: that only shows the token is consistent with the chain it came with, which whoever made
the bundle chose)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cryptography import x509

from ledger.bundle.layout import format_gen_time
from ledger.bundle.verify import Check, recorded_by
from ledger.errors import VerificationError
from ledger.timestamp.token import decode_response, response_for_token, verify_response


def check_token(token: bytes, chain: bytes | None, checkpoint: bytes,
                record: Mapping[str, Any], trusted: Sequence[x509.Certificate]) -> Check:
    """The check line of one token (the failure messages of verify.py's step 10, plus
    ``does not verify``)."""
    name = record["token"]
    response = response_for_token(token)
    try:
        info = decode_response(response).tst_info
        gen_time = format_gen_time(info.gen_time)
    except (VerificationError, ValueError):
        return Check("FAIL", f"{name}: malformed")
    roots, anchor = list(trusted), "the CA file given"
    if not roots:
        roots = _self_signed(chain)
        anchor = "the CA certificate the bundle carries"
    try:
        verified = verify_response(response, checkpoint, roots) if roots else None
    except VerificationError as e:
        if "imprint" in str(e) or "Mismatch between messages" in str(e):
            return Check("FAIL", f"{name}: message imprint is not the checkpoint's")
        return Check("FAIL", f"{name}: does not verify ({e})")
    if gen_time != record["gen_time"]:
        return Check("FAIL", f"{name}: time differs from the manifest")
    if verified is None:
        return Check("FAIL", f"{name}: does not verify (no CA certificate to check its chain "
                             "against: give --tsa-ca)")
    if not trusted:  # whoever made the bundle chose that CA: consistency, not trust
        return Check("note", f"{name}: NOT checked against a CA you trust (give --tsa-ca): "
                             f"its signature and certificate chain only agree with {anchor}; "
                             f"it says {recorded_by(record)} ({verified.tsa_subject})")
    return Check("ok", f"{name}: {recorded_by(record)} ({verified.tsa_subject}; signature and "
                       f"certificate chain checked against {anchor})")


def _self_signed(chain: bytes | None) -> list[x509.Certificate]:
    try:
        certificates = x509.load_pem_x509_certificates(chain or b"")
    except ValueError:
        return []
    return [c for c in certificates if c.issuer == c.subject]
