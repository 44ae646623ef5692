"""What the report's "How to verify" page prints of the checkpoint and the verifier keys.

Pure. The keys in a bundle are information only (the reader supplies the trust anchor); a key
string that does not parse is printed as it is, marked so.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ledger.errors import InvalidInputError, VerificationError
from ledger.tlog.checkpoint import parse_checkpoint
from ledger.tlog.note import parse_verifier_key, split_note


@dataclass(frozen=True)
class CheckpointView:
    """The checkpoint every proof is against: origin, size, root and who signed it."""

    origin: str
    size: int
    root: str
    signers: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class KeyView:
    """One verifier key: its name, its C2SP key id, the SHA-256 of its Ed25519 public key
    (its fingerprint) and the key string."""

    name: str
    key_id: str
    fingerprint: str
    text: str


def checkpoint_view(note: bytes) -> CheckpointView:
    """The parts of a signed checkpoint note; VerificationError if it is malformed."""
    try:
        body, signatures = split_note(note)
        checkpoint = parse_checkpoint(body)
    except (VerificationError, InvalidInputError) as e:
        raise VerificationError(f"checkpoint: malformed ({e})") from e
    root = body.split("\n")[2]
    signers = tuple(line.removeprefix("\u2014 ").split(" ")[0] for line in signatures if line)
    return CheckpointView(origin=checkpoint.origin, size=checkpoint.size, root=root,
                          signers=signers, note=note.decode())


def key_views(keys: list[str]) -> tuple[KeyView, ...]:
    """Each verifier key string as printed."""
    views = []
    for text in keys:
        try:
            verifier = parse_verifier_key(text)
        except InvalidInputError:
            views.append(KeyView("? (无法解析 / unreadable key)", "-", "-", text))
            continue
        views.append(KeyView(verifier.name, f"{verifier.key_id:08x}",
                             hashlib.sha256(verifier.public_key).hexdigest(), text))
    return tuple(views)
