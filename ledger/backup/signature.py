"""The backup manifest's signature: a C2SP signed note by the log's own signing key over the
manifest's SHA-256 (no I/O here).

The parts are checked against the manifest's hashes, so whoever could rewrite a backup and
its manifest together could restore anything; the signature closes that: the note's text
names this format and the manifest's SHA-256, signed the way checkpoints and the evidence
bundle's ``META-INF/signature`` are (``ledger.tlog.note.sign_note``), and a restore opens it
with verifier keys it trusts, never the ones the backup itself lists.

Text of the note::

    handover-ledger/backup/v1
    <SHA-256 of manifest.json, lowercase hex>
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ledger.errors import VerificationError
from ledger.tlog.note import Signer, Verifier, open_note, sign_note

SIGNATURE = "manifest.signature"
SIGNATURE_HEADER = "handover-ledger/backup/v1"
MAX_SIGNATURE_BYTES = 64 << 10


def signature_text(manifest: bytes) -> str:
    """The text of the note that signs the manifest bytes ``manifest``."""
    return f"{SIGNATURE_HEADER}\n{hashlib.sha256(manifest).hexdigest()}\n"


def sign_manifest(manifest: bytes, signers: Sequence[Signer]) -> bytes:
    """The signed note over ``manifest`` (precondition: at least one signer)."""
    return sign_note(signature_text(manifest), signers)


def verify_manifest_signature(manifest: bytes, signature: bytes,
                              verifiers: Sequence[Verifier]) -> None:
    """Check that ``signature`` is a note signed by one of ``verifiers`` over exactly these
    manifest bytes; VerificationError saying which way it is not."""
    names = ", ".join(v.vkey for v in verifiers)
    try:
        opened = open_note(signature, verifiers)
    except VerificationError as e:
        raise VerificationError(
            f"the backup's manifest signature does not verify with the trusted key(s) {names} "
            f"({e}): the backup is of another log, or its manifest signature was altered") from e
    if opened.text != signature_text(manifest):
        raise VerificationError(
            "the backup's manifest signature is the log's, but over another manifest: "
            "manifest.json was altered after the backup was made")
