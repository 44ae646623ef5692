"""What an evidence bundle carries of its checkpoint's RFC 3161 timestamps (format 1.2,
docs/bundle-format.md): ``META-INF/timestamp-<N>.tst``, the DER TimeStampToken (ASiC-E's
timestamp token file), ``META-INF/timestamp-<N>.pem``, the authority's certificates (those
the token carries, then the trusted CA certificates that issued them), and their manifest
records. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ledger.bundle import layout as L
from ledger.timestamp.stamper import Stamper, StampOutcome
from ledger.timestamp.token import signer_certificates, token_of


@dataclass(frozen=True)
class TimestampMembers:
    """The bundle files (path → bytes) and manifest records of the tokens, and the round
    they came from (None: no authority is configured)."""

    files: dict[str, bytes] = field(default_factory=dict)
    refs: list[L.TimestampRef] = field(default_factory=list)
    outcome: StampOutcome | None = None


def timestamp_members(outcome: StampOutcome | None, stamper: Stamper | None) -> TimestampMembers:
    """The members for the tokens ``outcome`` holds, numbered from 1 in their order."""
    if outcome is None or stamper is None or not outcome.stamps:
        return TimestampMembers(outcome=outcome)
    members = TimestampMembers(outcome=outcome)
    for n, stamp in enumerate(outcome.stamps, start=1):
        token, chain = L.timestamp_path(n), L.timestamp_chain_path(n)
        members.files[token] = token_of(stamp.response)
        members.files[chain] = chain_pem(signer_certificates(stamp.response), stamper.roots)
        members.refs.append(L.TimestampRef(token, chain, stamp.tsa_url,
                                           L.format_gen_time(stamp.gen_time)))
    return members


def chain_pem(carried: Sequence[x509.Certificate], roots: Sequence[x509.Certificate]) -> bytes:
    """The certificates a token carries, then each trusted root that issued one of them."""
    issuers = {c.issuer for c in carried}
    chain = [*carried, *(r for r in roots if r.subject in issuers and r not in carried)]
    return b"".join(c.public_bytes(Encoding.PEM) for c in chain)
