"""Checkpoints (C2SP tlog-checkpoint): the signed note text that commits to a tree head.

The text is ``<origin>\\n<size>\\n<base64 root hash>\\n`` followed by optional extension lines;
the log signs it as a C2SP signed-note under a key whose name is the origin.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.errors import InvalidInputError, VerificationError
from ledger.tlog.hashing import HASH_SIZE
from ledger.tlog.note import Verifier, decode_base64, open_note

MAX_TREE_SIZE = 2**64 - 1
"""Largest tree size a checkpoint may carry: Go and transparency-dev parse it as a uint64."""

_TREE_SIZE = re.compile(r"0|[1-9][0-9]*")  # ASCII decimal, no leading zeroes (tlog-checkpoint)


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's origin, tree size, RFC 6962 root hash and extension lines.

    Requires a non-empty origin and extension lines without newlines or control characters,
    0 <= size <= MAX_TREE_SIZE and a 32-byte root hash; format_checkpoint checks them.
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()


def format_checkpoint(checkpoint: Checkpoint) -> str:
    """Return the checkpoint's note text, ``<origin>\\n<size>\\n<base64 root>\\n[ext\\n...]``.

    Requires a valid Checkpoint (see its docstring); the text is what the log signs.
    """
    if not checkpoint.origin or not _is_line(checkpoint.origin):
        raise InvalidInputError("checkpoint origin must be one non-empty line", field="origin")
    if not 0 <= checkpoint.size <= MAX_TREE_SIZE:
        raise InvalidInputError(f"invalid tree size {checkpoint.size}", field="size")
    if len(checkpoint.root_hash) != HASH_SIZE:
        raise InvalidInputError(f"root hash must be {HASH_SIZE} bytes", field="root_hash")
    for line in checkpoint.extensions:
        if not line or not _is_line(line):
            raise InvalidInputError("extension lines must be non-empty lines", field="extensions")
    root = base64.b64encode(checkpoint.root_hash).decode()
    lines = [checkpoint.origin, str(checkpoint.size), root, *checkpoint.extensions]
    return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Return the Checkpoint of a note text; any input, strictly checked.

    Rejects a missing final newline, an empty origin, a size with a sign, leading zeros or
    beyond uint64, a root that is not canonical padded base64 of 32 bytes, and empty or
    control-character extension lines.
    """
    if not text.endswith("\n"):
        raise InvalidInputError("checkpoint does not end in a newline", field="checkpoint")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise InvalidInputError("checkpoint has fewer than three lines", field="checkpoint")
    origin, size_text, root_text, *extensions = lines
    if not origin or not _is_line(origin):
        raise InvalidInputError("checkpoint origin is empty or malformed", field="origin")
    if not _TREE_SIZE.fullmatch(size_text) or int(size_text) > MAX_TREE_SIZE:
        raise InvalidInputError(f"malformed tree size {size_text!r}", field="size")
    root_hash = _decode_root(root_text)
    for line in extensions:
        if not line or not _is_line(line):
            raise InvalidInputError("malformed extension line", field="extensions")
    return Checkpoint(origin, int(size_text), root_hash, tuple(extensions))


def open_checkpoint(message: bytes, verifiers: Sequence[Verifier], origin: str) -> Checkpoint:
    """Return the checkpoint of a signed note from ``origin``, once a known key's signature
    on it has been verified; requires the verifiers of the log's keys.

    Raises VerificationError for a bad or unknown signature, a malformed checkpoint, another
    origin, or a note not signed by a key named after the origin (tlog-checkpoint).
    """
    opened = open_note(message, verifiers)
    try:
        checkpoint = parse_checkpoint(opened.text)
    except InvalidInputError as e:
        raise VerificationError(f"malformed checkpoint: {e}") from e
    if checkpoint.origin != origin:
        raise VerificationError(f"checkpoint origin {checkpoint.origin!r}, want {origin!r}")
    # A witness's cosignature alone does not vouch for the tree: the log's own key must sign.
    if not any(sig.name == origin for sig in opened.signatures):
        raise VerificationError(f"checkpoint is not signed by a key named {origin!r}")
    return checkpoint


def _decode_root(text: str) -> bytes:
    try:
        root = decode_base64(text)
    except InvalidInputError as e:
        raise InvalidInputError("root hash is not base64", field="root_hash") from e
    # Re-encoding rejects non-zero padding bits, so each root has exactly one spelling.
    if len(root) != HASH_SIZE or base64.b64encode(root).decode() != text:
        raise InvalidInputError(f"root hash is not {HASH_SIZE} bytes of base64", field="root_hash")
    return root


def _is_line(text: str) -> bool:
    return not any(c < " " for c in text)
