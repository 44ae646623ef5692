"""C2SP tlog-checkpoint text, byte for byte, and its strict parsing.

The first example is the one in the tlog-checkpoint specification (origin
example.com/behind-the-sofa, size 20852163).
"""

import base64

import pytest

from ledger.errors import InvalidInputError, VerificationError
from ledger.tlog.checkpoint import Checkpoint, format_checkpoint, open_checkpoint, parse_checkpoint
from ledger.tlog.note import Signer, sign_note

SPEC_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_ROOT = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
ROOT = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="  # SHA-256 of nothing, base64
LOG = Signer("example.com/log", bytes(range(32)))


def test_formats_specification_example_byte_for_byte() -> None:
    checkpoint = Checkpoint("example.com/behind-the-sofa", 20852163, SPEC_ROOT)
    assert format_checkpoint(checkpoint) == SPEC_TEXT
    assert parse_checkpoint(SPEC_TEXT) == checkpoint


def test_extension_lines_round_trip() -> None:
    checkpoint = Checkpoint("o", 0, bytes(32), ("ext one", "— two"))
    text = format_checkpoint(checkpoint)
    assert text == "o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next one\n— two\n"
    assert parse_checkpoint(text) == checkpoint


def test_largest_uint64_size_round_trips() -> None:
    text = f"o\n18446744073709551615\n{ROOT}\n"
    assert parse_checkpoint(text).size == 2**64 - 1
    assert format_checkpoint(parse_checkpoint(text)) == text


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (f"o\n5\n{ROOT}", "checkpoint"),  # no final newline
        ("o\n5\n", "checkpoint"),  # too few lines
        (f"\n5\n{ROOT}\n", "origin"),
        (f"o\n05\n{ROOT}\n", "size"),  # leading zero
        (f"o\n00\n{ROOT}\n", "size"),
        (f"o\n+5\n{ROOT}\n", "size"),
        (f"o\n-0\n{ROOT}\n", "size"),
        (f"o\n 5\n{ROOT}\n", "size"),
        (f"o\n1_000\n{ROOT}\n", "size"),
        (f"o\n\u0665\n{ROOT}\n", "size"),  # ARABIC-INDIC DIGIT FIVE
        (f"o\n18446744073709551616\n{ROOT}\n", "size"),  # 2**64
        (f"o\n\n{ROOT}\n", "size"),
        ("o\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n", "root_hash"),  # unpadded
        ("o\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n", "root_hash"),  # spare bits
        ("o\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", "root_hash"),  # 30 bytes
        ("o\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", "root_hash"),  # 36 bytes
        ("o\n5\n47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=\n", "root_hash"),  # URL alphabet
        (f"o\n5\n{ROOT}\n\n", "extensions"),  # empty extension line
        (f"o\n5\n{ROOT}\nbad\x01line\n", "extensions"),
    ],
)
def test_rejects_malformed_checkpoint(text: str, field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_checkpoint(text)
    assert info.value.field == field


@pytest.mark.parametrize(
    "checkpoint",
    [
        Checkpoint("", 1, bytes(32)),
        Checkpoint("two\nlines", 1, bytes(32)),
        Checkpoint("o", -1, bytes(32)),
        Checkpoint("o", 2**64, bytes(32)),
        Checkpoint("o", 1, bytes(31)),
        Checkpoint("o", 1, bytes(32), ("",)),
    ],
)
def test_refuses_to_format_invalid_checkpoint(checkpoint: Checkpoint) -> None:
    with pytest.raises(InvalidInputError):
        format_checkpoint(checkpoint)


def test_opens_signed_checkpoint_of_the_expected_origin() -> None:
    checkpoint = Checkpoint("example.com/log", 7, bytes(32))
    note = sign_note(format_checkpoint(checkpoint), [LOG])
    assert open_checkpoint(note, [LOG.verifier], "example.com/log") == checkpoint


def test_rejects_checkpoint_of_another_origin() -> None:
    note = sign_note(format_checkpoint(Checkpoint("example.com/log", 7, bytes(32))), [LOG])
    with pytest.raises(VerificationError, match=r"origin 'example\.com/log', want 'other'"):
        open_checkpoint(note, [LOG.verifier], "other")


def test_rejects_checkpoint_signed_only_by_a_witness() -> None:
    witness = Signer("witness.example", bytes(32))
    note = sign_note(format_checkpoint(Checkpoint("example.com/log", 7, bytes(32))), [witness])
    with pytest.raises(VerificationError, match="not signed by a key named"):
        open_checkpoint(note, [LOG.verifier, witness.verifier], "example.com/log")


def test_rejects_signed_note_that_is_no_checkpoint() -> None:
    note = sign_note("example.com/log\nseven\nroot\n", [LOG])
    with pytest.raises(VerificationError, match="malformed checkpoint"):
        open_checkpoint(note, [LOG.verifier], "example.com/log")
