"""Signed notes: the C2SP signed-note test vector, Go's documented example, and tampering.

``shared/vectors/signed-note`` holds the C2SP specification's own vector (see SOURCE.md): the
key in ``example.vkey`` (Ed25519, key ID 530d903a) verifies ``example.note``. The PeterNeumann
key pair and message are the example in the package comment of Go's
golang.org/x/mod/sumdb/note, so signing with that key must reproduce Go's bytes exactly.
"""

import base64
from pathlib import Path

import pytest

from ledger.errors import InvalidInputError, VerificationError
from ledger.tlog.note import (
    Signer,
    compute_key_id,
    format_verifier_key,
    generate_key,
    is_valid_key_name,
    open_note,
    parse_signer_key,
    parse_verifier_key,
    sign_note,
)

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "signed-note"

GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIGNATURE = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)
GO_MESSAGE = f"{GO_TEXT}\n— PeterNeumann {GO_SIGNATURE}\n".encode()


@pytest.fixture
def example_note() -> bytes:
    path = VECTORS / "example.note"
    if not path.is_file():
        pytest.skip(f"signed-note vector not found at {VECTORS}")
    return path.read_bytes()


@pytest.fixture
def example_vkey() -> str:
    path = VECTORS / "example.vkey"
    if not path.is_file():
        pytest.skip(f"signed-note vector not found at {VECTORS}")
    return path.read_text().strip()


def test_example_note_opens_with_example_key(example_note: bytes, example_vkey: str) -> None:
    verifier = parse_verifier_key(example_vkey)
    text, signatures = open_note(example_note, [verifier])
    assert text == "This is an example message.\n"
    assert [(s.name, f"{s.key_id:08x}") for s in signatures] == [("example.com/foo", "530d903a")]
    assert example_note.endswith(f"— example.com/foo {signatures[0].encoded}\n".encode())


def test_example_key_id_is_the_hash_of_name_type_and_key(example_vkey: str) -> None:
    verifier = parse_verifier_key(example_vkey)
    assert verifier.key_id == 0x530D903A == compute_key_id("example.com/foo", verifier.public_key)
    assert format_verifier_key(verifier.name, verifier.public_key) == example_vkey


def test_rejects_note_with_a_flipped_text_byte(example_note: bytes, example_vkey: str) -> None:
    tampered = bytearray(example_note)
    tampered[0] ^= 0x01  # "T" -> "U": still valid UTF-8, only the signature can notice
    with pytest.raises(VerificationError, match=r"invalid signature for key example\.com/foo"):
        open_note(bytes(tampered), [parse_verifier_key(example_vkey)])


def test_rejects_note_with_a_flipped_signature_byte(example_note: bytes, example_vkey: str) -> None:
    _, signatures = open_note(example_note, [parse_verifier_key(example_vkey)])
    raw = bytearray(_b64(signatures[0].encoded))
    raw[10] ^= 0x01  # inside the Ed25519 signature, after the 4-byte key ID
    tampered = example_note.replace(signatures[0].encoded.encode(), _enc(bytes(raw)))
    with pytest.raises(VerificationError, match=r"invalid signature for key example\.com/foo"):
        open_note(tampered, [parse_verifier_key(example_vkey)])


def test_rejects_note_signed_only_by_unknown_keys(example_note: bytes) -> None:
    _, other = generate_key("example.com/foo")  # same name, another key and key ID
    with pytest.raises(VerificationError, match="note has no verifiable signatures"):
        open_note(example_note, [parse_verifier_key(other)])


def test_rejects_truncated_note(example_note: bytes, example_vkey: str) -> None:
    verifier = parse_verifier_key(example_vkey)
    with pytest.raises(VerificationError, match="does not end in a newline"):
        open_note(example_note[:-1], [verifier])
    with pytest.raises(VerificationError, match="malformed note"):
        open_note(example_note[:-20], [verifier])
    with pytest.raises(VerificationError, match="no blank line"):
        open_note(example_note[: example_note.index(b"\n\n")], [verifier])


def test_signing_reproduces_go_example_byte_for_byte() -> None:
    signer = parse_signer_key(GO_SIGNER_KEY)
    assert sign_note(GO_TEXT, [signer]) == GO_MESSAGE
    assert format_verifier_key(signer.name, signer.public_key) == GO_VERIFIER_KEY
    text, signatures = open_note(GO_MESSAGE, [parse_verifier_key(GO_VERIFIER_KEY)])
    assert (text, signatures[0].encoded) == (GO_TEXT, GO_SIGNATURE)


def test_accepts_several_signatures_and_ignores_unknown_ones() -> None:
    old, new, witness = (Signer(n, bytes([i]) * 32) for i, n in enumerate(["log", "log", "w"], 1))
    message = sign_note("tree\n", [old, new, witness])
    _, signatures = open_note(message, [old.verifier, new.verifier])
    assert [s.key_id for s in signatures] == [old.key_id, new.key_id]
    _, signatures = open_note(message, [new.verifier])
    assert [s.key_id for s in signatures] == [new.key_id]


def test_rejects_bad_signature_from_known_key_even_beside_a_good_one() -> None:
    good, rotated = Signer("log", bytes(32)), Signer("log", bytes([7]) * 32)
    line_over_other_text = sign_note("other\n", [rotated]).split(b"\n\n")[1]
    message = sign_note("tree\n", [good]) + line_over_other_text
    label = f"log\\+{rotated.key_id:08x}"
    with pytest.raises(VerificationError, match=f"invalid signature for key {label}"):
        open_note(message, [good.verifier, rotated.verifier])
    # Without the rotated key configured, its line is just an unknown signature.
    assert open_note(message, [good.verifier]).signatures[0].key_id == good.key_id


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (b"text\n\n\xe2\x80\x94 log AAAAAA==\n", "bad signature line"),
        (b"text\n\n- log AAAAAAAAAA==\n", "does not start with"),
        (b"te\x01xt\n\n\xe2\x80\x94 log AAAAAAAAAA==\n", "control character"),
        (b"te\xffxt\n\n\xe2\x80\x94 log AAAAAAAAAA==\n", "not valid UTF-8"),
        (b"text\n\n\xe2\x80\x94 lo+g AAAAAAAAAA==\n", "bad signature line"),
        (b"text\n\n\xe2\x80\x94 log AAAAAAAAAA=\n", "bad signature line"),
        (b"text\n\n\xe2\x80\x94 log AAAAAAAAAA==\n\n", "does not end in a newline"),
        (b"text\n\n", "does not end in a newline"),
    ],
)
def test_rejects_malformed_note(message: bytes, reason: str) -> None:
    with pytest.raises(VerificationError, match=f"malformed note: .*{reason}"):
        open_note(message, [Signer("log", bytes(32)).verifier])


def test_rejects_note_with_more_than_a_hundred_signatures() -> None:
    signer = Signer("log", bytes(32))
    line = sign_note("t\n", [signer]).split(b"\n\n")[1]
    with pytest.raises(VerificationError, match="more than 100 signatures"):
        open_note(b"t\n\n" + line * 101, [signer.verifier])


def test_generated_keys_round_trip() -> None:
    skey, vkey = generate_key("example.com/log")
    signer, verifier = parse_signer_key(skey), parse_verifier_key(vkey)
    assert skey.startswith("PRIVATE+KEY+example.com/log+")
    assert (signer.name, signer.key_id) == (verifier.name, verifier.key_id)
    assert open_note(sign_note("hello\n", [signer]), [verifier]).text == "hello\n"
    assert "PRIVATE" not in repr(signer)


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key ID
        "PeterNeumann+0xc74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # not 8 hex digits
        "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # algorithm 2
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",  # bad base64
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # space in name
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # empty name
        "PeterNeumann+c74f20a3+AQ==",  # no key
    ],
)
def test_rejects_malformed_verifier_key(vkey: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_verifier_key(vkey)


def test_rejects_signer_key_with_wrong_key_id() -> None:
    with pytest.raises(InvalidInputError, match="key ID does not match"):
        parse_signer_key(GO_SIGNER_KEY.replace("c74f20a3", "c74f20a4"))


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("example.com/log", True),
        ("", False),
        ("a+b", False),
        ("a b", False),
        ("a\u00a0b", False),  # NO-BREAK SPACE is a Unicode space (Go's unicode.IsSpace)
        ("a\u3000b", False),
        ("a\x1cb", True),  # Python's isspace says yes, Go's unicode.IsSpace says no
        ("a\ud800b", False),  # a lone surrogate is not UTF-8
    ],
)
def test_key_name_rules_follow_go(name: str, valid: bool) -> None:
    assert is_valid_key_name(name) is valid


@pytest.mark.parametrize("text", ["no newline", "ctrl\x07\n", "surrogate\ud800\n"])
def test_refuses_to_sign_text_that_cannot_be_a_note(text: str) -> None:
    with pytest.raises(InvalidInputError):
        sign_note(text, [Signer("log", bytes(32))])


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _enc(raw: bytes) -> bytes:
    return base64.b64encode(raw)
