"""Offline inclusion proofs in the C2SP tlog-proof text format (``c2sp.org/tlog-proof@v1``).

Layout, one item per line: the header; optionally ``extra <base64>``; ``index <n>``; the
inclusion proof hashes in base64, leaf's sibling first (RFC 6962 section 2.1.1); a blank line;
then the signed checkpoint note, verbatim.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.errors import InvalidInputError, VerificationError
from ledger.tlog.checkpoint import Checkpoint, open_checkpoint
from ledger.tlog.hashing import HASH_SIZE, hash_leaf
from ledger.tlog.note import Verifier, decode_base64
from ledger.tlog.proof import verify_inclusion

TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
"""First line of every tlog-proof (C2SP tlog-proof, "Format")."""

MAX_INDEX = 2**64 - 1
"""Largest entry index a proof may name: verifiers parse it as a uint64."""

_INDEX = re.compile(r"index (0|[1-9][0-9]*)")  # ASCII decimal, no leading zeroes


@dataclass(frozen=True)
class TlogProof:
    """A parsed tlog-proof: entry index, inclusion proof hashes, signed checkpoint, extra data.

    ``extra`` is None when the proof has no ``extra`` line; it is never authenticated.
    """

    index: int
    proof: tuple[bytes, ...]
    signed_checkpoint: bytes
    extra: bytes | None = None


@dataclass(frozen=True)
class VerifiedTlogProof:
    """What a verified tlog-proof establishes: the entry index and the checkpoint holding it;
    ``signed_checkpoint``, the note as the proof carries it (the log's signature lines and any
    witness cosignature lines, unverified: ``split_note`` it for a witness policy)."""

    index: int
    checkpoint: Checkpoint
    extra: bytes | None
    signed_checkpoint: bytes = b""


def format_tlog_proof(
    index: int,
    proof_hashes: Sequence[bytes],
    signed_checkpoint: bytes,
    extra: bytes | None = None,
) -> bytes:
    """Return the tlog-proof text; requires 0 <= index <= MAX_INDEX, 32-byte hashes and a
    signed checkpoint note (which ends in a newline).
    """
    if not 0 <= index <= MAX_INDEX:
        raise InvalidInputError(f"invalid entry index {index}", field="index")
    if any(len(h) != HASH_SIZE for h in proof_hashes):
        raise InvalidInputError(f"proof hashes must be {HASH_SIZE} bytes", field="proof_hashes")
    if not signed_checkpoint.endswith(b"\n"):
        raise InvalidInputError("signed checkpoint must end in a newline", field="checkpoint")
    lines = [TLOG_PROOF_HEADER]
    if extra is not None:
        lines.append(f"extra {base64.b64encode(extra).decode()}")
    lines.append(f"index {index}")
    lines.extend(base64.b64encode(h).decode() for h in proof_hashes)
    return "".join(line + "\n" for line in lines).encode() + b"\n" + signed_checkpoint


def parse_tlog_proof(data: bytes) -> TlogProof:
    """Return the parts of a tlog-proof; any input, strictly checked (the note is not opened).

    Lines end in U+000A only; the index has no leading zeroes; every proof line is the
    canonical base64 of 32 bytes; a blank line and a non-empty checkpoint must follow.
    """
    # A bundle holds one proof per entry: the common shape is read in bulk, and anything
    # else (an extra line, a malformed one) by the line-by-line reader, which names the fault.
    fast = _parse_common(data)
    return fast if fast is not None else _parse_by_line(data)


# The canonical standard base64 of 32 bytes: 43 characters, the last holding 2 bits of the
# hash and 4 zero bits (so that no other text decodes to the same bytes), and one "=".
_HASH_LINE = re.compile(r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=")
_CONTROL_OR_NON_ASCII = re.compile(rb"[^\x0a\x20-\x7e]")


def _parse_common(data: bytes) -> TlogProof | None:
    """A proof without extra data, every line well formed; None for anything else (which
    ``_parse_by_line`` then accepts or refuses, naming why). Accepts nothing it refuses."""
    end = data.find(b"\n\n")
    if end < 0 or end + 2 == len(data) or _CONTROL_OR_NON_ASCII.search(data, 0, end):
        return None
    lines = data[:end].decode("ascii").split("\n")
    if len(lines) < 2:
        return None
    header, index_line, *hash_lines = lines
    match = _INDEX.fullmatch(index_line)
    if (header != TLOG_PROOF_HEADER or match is None or int(match.group(1)) > MAX_INDEX
            or not all(_HASH_LINE.fullmatch(line) for line in hash_lines)):
        return None
    hashes = tuple(binascii.a2b_base64(line, strict_mode=True) for line in hash_lines)
    return TlogProof(int(match.group(1)), hashes, data[end + 2 :], None)


def _parse_by_line(data: bytes) -> TlogProof:
    lines = _ProofLines(data)
    if lines.next() != TLOG_PROOF_HEADER:
        raise InvalidInputError("tlog-proof header missing", field="proof")
    line = lines.next()
    extra = None
    if line.startswith("extra "):
        extra = _decode_or_raise(line.removeprefix("extra "), "extra data")
        line = lines.next()
    match = _INDEX.fullmatch(line)
    if match is None or int(match.group(1)) > MAX_INDEX:
        raise InvalidInputError("tlog-proof index line missing or malformed", field="index")
    hashes: list[bytes] = []
    while (line := lines.next()) != "":
        h = _decode_or_raise(line, f"proof hash {len(hashes)}")
        if len(h) != HASH_SIZE or base64.b64encode(h).decode() != line:
            raise InvalidInputError(f"proof hash {len(hashes)} is not 32 bytes", field="proof")
        hashes.append(h)
    if lines.pos == len(data):
        raise InvalidInputError("tlog-proof has no checkpoint", field="checkpoint")
    return TlogProof(int(match.group(1)), tuple(hashes), data[lines.pos :], extra)


def verify_tlog_proof(
    proof_bytes: bytes, event_hash: bytes, verifiers: Sequence[Verifier], origin: str
) -> VerifiedTlogProof:
    """Check that a tlog-proof shows the 32-byte ``event_hash`` logged by the log ``origin``.

    Requires the verifiers of the log's keys. Opens the checkpoint note, checks its origin,
    then verifies the inclusion of hash_leaf(event_hash); any failure, a malformed proof
    included, raises VerificationError.
    """
    if len(event_hash) != HASH_SIZE:
        raise InvalidInputError(f"event hash must be {HASH_SIZE} bytes", field="event_hash")
    try:
        parsed = parse_tlog_proof(proof_bytes)
    except InvalidInputError as e:
        raise VerificationError(f"malformed tlog-proof: {e}") from e
    checkpoint = open_checkpoint(parsed.signed_checkpoint, verifiers, origin)
    verify_inclusion(
        parsed.index, checkpoint.size, hash_leaf(event_hash), parsed.proof, checkpoint.root_hash
    )
    return VerifiedTlogProof(parsed.index, checkpoint, parsed.extra, parsed.signed_checkpoint)


_CONTROL = re.compile(rb"[\x00-\x1f]")


class _ProofLines:
    """Reads newline-terminated lines of the proof head as ASCII, tracking the byte offset."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def next(self) -> str:
        end = self.data.find(b"\n", self.pos)
        if end < 0:
            raise InvalidInputError("tlog-proof is truncated", field="proof")
        raw = self.data[self.pos : end]
        self.pos = end + 1
        # Lines end in U+000A alone: a CR, like any control or non-ASCII byte, is malformed.
        if not raw.isascii() or _CONTROL.search(raw):
            raise InvalidInputError("tlog-proof line holds a byte outside printable ASCII")
        return raw.decode()


def _decode_or_raise(text: str, what: str) -> bytes:
    try:
        return decode_base64(text)
    except InvalidInputError as e:
        raise InvalidInputError(f"tlog-proof {what} is not base64", field="proof") from e
