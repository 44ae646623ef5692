"""The witness's side of C2SP tlog-witness ``add-checkpoint``: pure parsing and decision.

Body: ``old <size>\\n``, zero to 63 base64 consistency-proof lines, an empty line, then the
signed checkpoint note. ``judge`` applies the spec's checks in its order: unknown origin 404, no
trusted log signature 403, old size above the checkpoint's 400, old size other than the one
the witness recorded 409 (body: that size, ``text/x.tlog.size``), same size with another root
409, a proof that does not verify 422. Accepted, the caller records the new (size, root)
atomically with the check and cosigns.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ledger.errors import InvalidInputError, VerificationError
from ledger.tlog.checkpoint import Checkpoint, open_checkpoint
from ledger.tlog.hashing import HASH_SIZE
from ledger.tlog.note import Verifier, decode_base64
from ledger.tlog.proof import verify_consistency

MAX_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


@dataclass(frozen=True)
class Submission:
    """A parsed add-checkpoint request body (the note not yet verified)."""

    old_size: int
    proof: tuple[bytes, ...]
    note: bytes

    @property
    def origin(self) -> str:
        return self.note.split(b"\n", 1)[0].decode(errors="replace")

    @property
    def origin_label(self) -> str:
        """The origin, shortened for a log line or an answer (it is the sender's text)."""
        origin = self.origin
        return origin if len(origin) <= 100 else origin[:100] + "…"


@dataclass(frozen=True)
class Recorded:
    """What the witness holds for a log: the latest size and root it cosigned."""

    size: int
    root: bytes


@dataclass(frozen=True)
class Refusal:
    """An HTTP refusal: status, a text body and its content type."""

    status: int
    text: str
    content_type: str = "text/plain"


def format_submission(old_size: int, proof: Sequence[bytes], note: bytes) -> bytes:
    """The request body the log sends (the inverse of ``parse_submission``)."""
    lines = [f"old {old_size}\n", *(base64.b64encode(h).decode() + "\n" for h in proof), "\n"]
    return "".join(lines).encode() + note


def parse_submission(body: bytes) -> Submission:
    """The parts of a request body; InvalidInputError (a 400) when it is malformed."""
    head, sep, note = body.partition(b"\n\n")
    if not sep:
        raise InvalidInputError("add-checkpoint body has no empty line before the checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError as e:
        raise InvalidInputError("add-checkpoint header is not ASCII") from e
    old_line, *proof_lines = lines
    if not old_line.startswith("old ") or not _SIZE.fullmatch(old_line[4:]):
        raise InvalidInputError(f"malformed old size line {old_line[:40]!r}")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise InvalidInputError(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for line in proof_lines:
        h = decode_base64(line)
        if len(h) != HASH_SIZE:
            raise InvalidInputError("consistency proof line is not a 32-byte hash")
        proof.append(h)
    return Submission(int(old_line[4:]), tuple(proof), note)


def judge(submission: Submission, trusted: Mapping[str, Sequence[Verifier]],
          recorded: Recorded | None) -> Checkpoint | Refusal:
    """The checkpoint to record and cosign, or the refusal (the spec's status codes)."""
    verifiers = trusted.get(submission.origin)
    if not verifiers:
        return Refusal(404, f"unknown log origin {submission.origin_label!r}\n")
    try:
        checkpoint = open_checkpoint(submission.note, verifiers, submission.origin)
    except VerificationError as e:
        return Refusal(403, f"checkpoint not signed by a trusted log key: {e}\n")
    if submission.old_size > checkpoint.size:
        return Refusal(400, f"old size {submission.old_size} > checkpoint size {checkpoint.size}\n")
    known = recorded.size if recorded is not None else 0
    if submission.old_size != known:
        return Refusal(409, f"{known}\n", SIZE_CONTENT_TYPE)
    if recorded is None or submission.old_size == 0:
        if submission.proof:
            return Refusal(422, "the consistency proof from size 0 must be empty\n")
        if recorded is not None and checkpoint.size == 0 and checkpoint.root_hash != recorded.root:
            return Refusal(409, f"{known}\n", SIZE_CONTENT_TYPE)
        return checkpoint
    if checkpoint.size == recorded.size and checkpoint.root_hash != recorded.root:
        return Refusal(409, f"{known}\n", SIZE_CONTENT_TYPE)  # a fork at the same size
    try:
        verify_consistency(recorded.size, checkpoint.size, submission.proof, recorded.root,
                           checkpoint.root_hash)
    except VerificationError as e:
        return Refusal(422, f"consistency proof does not verify: {e}\n")
    return checkpoint
