"""C2SP tlog-proof text (``c2sp.org/tlog-proof@v1``): byte-exact format, strict parse, verify.

SPEC_EXAMPLE is the example of the tlog-proof specification, signatures elided as there
("[...]"); parsing does not open the note, so it must parse and re-format to the same bytes.
"""

import base64
import hashlib
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import InvalidInputError, VerificationError
from ledger.tlog import proof_text
from ledger.tlog.checkpoint import Checkpoint, format_checkpoint
from ledger.tlog.hashing import hash_leaf
from ledger.tlog.note import Signer, sign_note
from ledger.tlog.proof import RootMismatchError, prove_record
from ledger.tlog.proof_text import (
    TLOG_PROOF_HEADER,
    TlogProof,
    format_tlog_proof,
    parse_tlog_proof,
    verify_tlog_proof,
)
from ledger.tlog.tree import append_leaf_hashes, tree_hash

SPEC_CHECKPOINT = (
    "example.com/fancylog\n109482\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\n"
    "— example.com/fancylog hI2DJw[...]1roloI=\n"
    "— witness1.example mJirIklj[...]qY9v2B/5bg==\n"
    "— witness2.example TnKKVHLX[...]xwYwrSjgow==\n"
    "— witness3.example S4X82uH5[...]3oEcROGLFQ==\n"
).encode()
SPEC_HASHES = [
    "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=",
    "B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=",
    "EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=",
    "RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=",
    "AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=",
]
SPEC_EXTRA = "YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ"
SPEC_EXAMPLE = (
    f"c2sp.org/tlog-proof@v1\nextra {SPEC_EXTRA}\nindex 73894\n" + "\n".join(SPEC_HASHES) + "\n\n"
).encode() + SPEC_CHECKPOINT

ORIGIN = "example.com/log"
LOG = Signer(ORIGIN, bytes(range(32)))


class MemoryHashStore:
    """A HashReader over a Python list: the in-memory fake of the hash storage port."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.hashes: list[bytes] = []
        for _, h in append_leaf_hashes(0, leaf_hashes, self):
            self.hashes.append(h)

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        return [self.hashes[i] for i in indexes]


EVENTS = [hashlib.sha256(f"event {i}".encode()).digest() for i in range(21)]
STORE = MemoryHashStore([hash_leaf(e) for e in EVENTS])
SIGNED = sign_note(
    format_checkpoint(Checkpoint(ORIGIN, len(EVENTS), tree_hash(len(EVENTS), STORE))), [LOG]
)


def proof_for(index: int, signed: bytes = SIGNED) -> bytes:
    return format_tlog_proof(index, prove_record(len(EVENTS), index, STORE), signed)


def test_specification_example_parses_and_formats_back_byte_for_byte() -> None:
    parsed = parse_tlog_proof(SPEC_EXAMPLE)
    assert parsed == TlogProof(
        73894,
        tuple(base64.b64decode(h) for h in SPEC_HASHES),
        SPEC_CHECKPOINT,
        base64.b64decode(SPEC_EXTRA),
    )
    formatted = format_tlog_proof(
        parsed.index, parsed.proof, parsed.signed_checkpoint, parsed.extra
    )
    assert formatted == SPEC_EXAMPLE


def test_formats_proof_without_extra_line() -> None:
    proof = format_tlog_proof(0, [bytes(32)], b"cp\n")
    assert proof == b"c2sp.org/tlog-proof@v1\nindex 0\n" + b"A" * 43 + b"=\n\ncp\n"
    assert parse_tlog_proof(proof) == TlogProof(0, (bytes(32),), b"cp\n", None)


def test_single_entry_tree_has_empty_proof_lines() -> None:
    proof = format_tlog_proof(0, [], b"cp\n")
    assert proof == b"c2sp.org/tlog-proof@v1\nindex 0\n\ncp\n"
    assert parse_tlog_proof(proof).proof == ()


def test_empty_extra_is_kept_apart_from_no_extra() -> None:
    proof = format_tlog_proof(3, [], b"cp\n", extra=b"")
    assert proof.startswith(b"c2sp.org/tlog-proof@v1\nextra \nindex 3\n")
    assert parse_tlog_proof(proof).extra == b""


@pytest.mark.parametrize("index", [0, 1, 7, 8, 20])
def test_verifies_inclusion_of_every_kind_of_leaf(index: int) -> None:
    verified = verify_tlog_proof(proof_for(index), EVENTS[index], [LOG.verifier], ORIGIN)
    assert (verified.index, verified.checkpoint.size) == (index, len(EVENTS))


def test_rejects_proof_for_another_event() -> None:
    with pytest.raises(RootMismatchError):
        verify_tlog_proof(proof_for(3), EVENTS[4], [LOG.verifier], ORIGIN)


def test_rejects_proof_with_a_tampered_hash_line() -> None:
    proof = proof_for(3)
    lines = proof.split(b"\n")
    lines[2] = base64.b64encode(bytes(32))
    with pytest.raises(RootMismatchError):
        verify_tlog_proof(b"\n".join(lines), EVENTS[3], [LOG.verifier], ORIGIN)


def test_rejects_proof_for_wrong_tree_size() -> None:
    smaller = sign_note(format_checkpoint(Checkpoint(ORIGIN, 16, tree_hash(16, STORE))), [LOG])
    with pytest.raises(VerificationError, match="wrong proof size"):
        verify_tlog_proof(proof_for(3, smaller), EVENTS[3], [LOG.verifier], ORIGIN)


def test_rejects_index_beyond_the_checkpoint() -> None:
    proof = format_tlog_proof(21, [], SIGNED)
    with pytest.raises(VerificationError, match="out of range for tree size 21"):
        verify_tlog_proof(proof, EVENTS[0], [LOG.verifier], ORIGIN)


def test_rejects_tampered_checkpoint() -> None:
    tampered = proof_for(3).replace(b"\n21\n", b"\n22\n")
    with pytest.raises(VerificationError, match="invalid signature"):
        verify_tlog_proof(tampered, EVENTS[3], [LOG.verifier], ORIGIN)


def test_rejects_checkpoint_of_unknown_key_or_other_origin() -> None:
    stranger = Signer(ORIGIN, bytes(32))
    with pytest.raises(VerificationError, match="no verifiable signatures"):
        verify_tlog_proof(proof_for(3), EVENTS[3], [stranger.verifier], ORIGIN)
    with pytest.raises(VerificationError, match="origin"):
        verify_tlog_proof(proof_for(3), EVENTS[3], [LOG.verifier], "example.com/other")


@pytest.mark.parametrize(
    ("proof", "reason"),
    [
        (b"c2sp.org/tlog-proof@v2\nindex 0\n\ncp\n", "header"),
        (b"C2SP.org/tlog-proof@v1\nindex 0\n\ncp\n", "header"),
        (b"c2sp.org/tlog-proof@v1\r\nindex 0\n\ncp\n", "printable ASCII"),
        (b"c2sp.org/tlog-proof@v1\nindex 01\n\ncp\n", "index"),
        (b"c2sp.org/tlog-proof@v1\nindex -1\n\ncp\n", "index"),
        (b"c2sp.org/tlog-proof@v1\nindex  1\n\ncp\n", "index"),
        (b"c2sp.org/tlog-proof@v1\nindex 18446744073709551616\n\ncp\n", "index"),
        (b"c2sp.org/tlog-proof@v1\n\ncp\n", "index"),
        (b"c2sp.org/tlog-proof@v1\nindex 1\nextra AAAA\n\ncp\n", "proof hash 0"),
        (b"c2sp.org/tlog-proof@v1\nextra AAA\nindex 1\n\ncp\n", "extra data"),
        (b"c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\ncp\n", "proof hash 0"),
        (b"c2sp.org/tlog-proof@v1\nindex 1\n" + b"A" * 43 + b"\n\ncp\n", "proof hash 0"),
        (b"c2sp.org/tlog-proof@v1\nindex 1\n" + b"A" * 42 + b"B=\n\ncp\n", "not 32 bytes"),
        (b"c2sp.org/tlog-proof@v1\nindex 1\n" + b"A" * 43 + b"=\n", "truncated"),
        (b"c2sp.org/tlog-proof@v1\nindex 1\n\n", "no checkpoint"),
        (b"c2sp.org/tlog-proof@v1\nindex 1", "truncated"),
        (b"", "truncated"),
    ],
)
def test_rejects_malformed_tlog_proof(proof: bytes, reason: str) -> None:
    with pytest.raises(InvalidInputError, match=reason):
        parse_tlog_proof(proof)
    with pytest.raises(VerificationError, match="malformed tlog-proof"):
        verify_tlog_proof(proof, EVENTS[0], [LOG.verifier], ORIGIN)


@pytest.mark.parametrize(
    ("index", "hashes", "checkpoint"),
    [(-1, [], b"cp\n"), (2**64, [], b"cp\n"), (0, [bytes(31)], b"cp\n"), (0, [], b"cp")],
)
def test_refuses_to_format_invalid_proof(
    index: int, hashes: list[bytes], checkpoint: bytes
) -> None:
    with pytest.raises(InvalidInputError):
        format_tlog_proof(index, hashes, checkpoint)


def test_header_constant_is_the_specification_string() -> None:
    assert TLOG_PROOF_HEADER == "c2sp.org/tlog-proof@v1"


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255),
       st.sampled_from(["flip", "insert", "delete"]))
def test_the_bulk_reader_accepts_only_what_the_line_reader_accepts_and_alike(
        where: int, byte: int, how: str) -> None:
    """``parse_tlog_proof`` reads the common shape in bulk (``_parse_common``) and anything
    else line by line: on any change to a proof's bytes, the bulk reader either declines or
    gives exactly what the line reader gives."""
    hashes = [hashlib.sha256(bytes([i])).digest() for i in range(4)]
    data = bytearray(format_tlog_proof(7, hashes, b"origin\n9\nroot\n\n- sig\n"))
    at = where % (len(data) + 1)
    if how == "flip" and at < len(data):
        data[at] = byte
    elif how == "insert":
        data.insert(at, byte)
    elif at < len(data):
        del data[at]
    fast = proof_text._parse_common(bytes(data))
    try:
        strict = proof_text._parse_by_line(bytes(data))
    except InvalidInputError:
        assert fast is None
        return
    assert fast is None or fast == strict
    assert parse_tlog_proof(bytes(data)) == strict
