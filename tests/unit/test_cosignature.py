"""Witness cosignatures (C2SP tlog-cosignature): the signed message, key IDs with type 0x04,
the spec's example line, vkeys, the "k of n" policy, and forgeries.

The spec's example (tlog-cosignature, "Format") gives a cosignature line but not the witness
key: its layout still pins the key ID and the big-endian timestamp, which is the time in the
spec's example message. ``shared/vectors/signed-note`` (when present) gives a log vkey of type
0x01, which must not pass for a witness key."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from ledger.errors import InvalidInputError, VerificationError
from ledger.tlog.checkpoint import Checkpoint, format_checkpoint
from ledger.tlog.note import Signer, sign_note, split_note
from ledger.witness.cosignature import (
    WitnessSigner,
    cosigned_message,
    cosigner_key_id,
    parse_witness_vkey,
    verify_cosignatures,
)
from ledger.witness.policy import WitnessPolicy

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "signed-note"
SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_LINE = ("— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9"
             "dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n")
BODY = format_checkpoint(Checkpoint("example.org/log", 5, bytes(range(32))))


def _witness(name: str, n: int) -> WitnessSigner:
    return WitnessSigner(name, bytes([n]) * 32)


def test_signed_message_is_header_time_line_and_body() -> None:
    assert cosigned_message(SPEC_BODY, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n" + SPEC_BODY.encode())
    with pytest.raises(InvalidInputError):
        cosigned_message(SPEC_BODY, 2**63)
    with pytest.raises(InvalidInputError):
        cosigned_message(SPEC_BODY.rstrip("\n"), 1)


def test_spec_example_line_layout() -> None:
    raw = base64.b64decode(SPEC_LINE.split(" ")[2])
    assert len(raw) == 4 + 8 + 64
    assert int.from_bytes(raw[4:12], "big") == 1679315147  # the spec's "time 1679315147"


def test_key_id_uses_signature_type_0x04() -> None:
    w = _witness("witness.example/w1", 7)
    want = hashlib.sha256(b"witness.example/w1\n\x04" + w.key.public_key).digest()[:4]
    assert cosigner_key_id(w.key.name, w.key.public_key) == int.from_bytes(want, "big")
    assert w.key.key_id != Signer("witness.example/w1", bytes([7]) * 32).key_id  # 0x01's ID
    assert parse_witness_vkey(w.key.vkey) == w.key
    assert base64.b64decode(w.key.vkey.split("+")[2])[0] == 0x04


def test_vkey_refusals() -> None:
    vkey = _witness("w", 1).key.vkey
    name, key_id, key = vkey.split("+")
    log_vkey = Signer("w", bytes([1]) * 32).verifier.vkey
    for bad in (log_vkey, f"{name}+00000000+{key}", f"{name}+{key_id}+AAAA", "w",
                f"a b+{key_id}+{key}"):
        with pytest.raises(InvalidInputError):
            parse_witness_vkey(bad)
    if (VECTORS / "example.vkey").is_file():
        with pytest.raises(InvalidInputError, match="0x04"):
            parse_witness_vkey((VECTORS / "example.vkey").read_text())


def test_cosign_and_verify_round_trip() -> None:
    w = _witness("witness.example/w1", 1)
    line = w.cosign(BODY, 1700000000)
    [held] = verify_cosignatures(BODY, [line], [w.key])
    assert (held.key, held.timestamp, held.line) == (w.key, 1700000000, line)


def test_forgeries_fail() -> None:
    w = _witness("witness.example/w1", 1)
    line = w.cosign(BODY, 1700000000)
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    for at in (5, 20):  # the timestamp, the signature
        forged = bytearray(raw)
        forged[at] ^= 1
        bad = f"— witness.example/w1 {base64.b64encode(bytes(forged)).decode()}\n"
        with pytest.raises(VerificationError, match="invalid cosignature"):
            verify_cosignatures(BODY, [bad], [w.key])
    other = BODY.replace("\n5\n", "\n6\n")
    with pytest.raises(VerificationError):
        verify_cosignatures(other, [line], [w.key])
    # An impostor under the same name has another key ID: ignored, not counted.
    impostor = _witness("witness.example/w1", 9).cosign(BODY, 1700000000)
    assert verify_cosignatures(BODY, [impostor], [w.key]) == []


def test_log_signature_lines_are_ignored() -> None:
    log = Signer("example.org/log", bytes([3]) * 32)
    w = _witness("witness.example/w1", 1)
    note = sign_note(BODY, [log]) + w.cosign(BODY, 1).encode()
    body, lines = split_note(note)
    assert [c.key for c in verify_cosignatures(body, lines, [w.key])] == [w.key]


def test_policy_k_of_n() -> None:
    ws = [_witness(f"w{i}.example", i + 1) for i in range(3)]
    policy = WitnessPolicy.parse([w.key.vkey for w in ws], 2)
    lines = [ws[0].cosign(BODY, 10), ws[2].cosign(BODY, 11)]
    outcome = policy.require(BODY, lines)
    assert [c.key.name for c in outcome.held] == ["w0.example", "w2.example"]
    assert [k.name for k in outcome.missing] == ["w1.example"]
    assert "2 of 3 witness cosignatures held (needed 2)" in outcome.describe()
    with pytest.raises(VerificationError, match="1 of 3"):
        policy.require(BODY, lines[:1])
    with pytest.raises(InvalidInputError):
        WitnessPolicy.parse([ws[0].key.vkey], 2)
    assert WitnessPolicy.parse([w.key.vkey for w in ws]).required == 3


def test_policy_refuses_zero_required_and_a_key_given_twice() -> None:
    # "0 of n" would pass with no cosignature at all; a key listed twice would make "n of n"
    # unreachable or, worse, let k count one witness twice: both are usage errors.
    ws = [_witness(f"w{i}.example", i + 1) for i in range(2)]
    with pytest.raises(InvalidInputError, match="at least 1"):
        WitnessPolicy.parse([w.key.vkey for w in ws], 0)
    with pytest.raises(InvalidInputError, match="more than once"):
        WitnessPolicy.parse([ws[0].key.vkey, ws[0].key.vkey, ws[1].key.vkey], 2)


def test_verify_py_refuses_zero_required_and_a_key_given_twice(tmp_path: Path) -> None:
    from ledger.bundle.verify import inspect_bundle

    ws = [_witness(f"w{i}.example", i + 1) for i in range(2)]
    log_key = Signer("log.example", bytes([9]) * 32).verifier.vkey
    missing = tmp_path / "no-bundle.zip"
    with pytest.raises(ValueError, match="at least 1"):
        inspect_bundle(missing, log_key, witnesses=[ws[0].key.vkey], required=0)
    with pytest.raises(ValueError, match="more than once"):
        inspect_bundle(missing, log_key, witnesses=[ws[0].key.vkey, ws[0].key.vkey])


def test_witnesses_required_without_witness_keys_is_a_usage_error() -> None:
    import argparse

    from ledger.cli.witness import witness_policy

    for k in (0, 1):
        with pytest.raises(InvalidInputError, match="needs --witness"):
            witness_policy(argparse.Namespace(witness=[], witnesses_required=k))
    assert witness_policy(argparse.Namespace(witness=[], witnesses_required=None)) is None


def test_verify_py_checks_a_listed_witness_s_bad_lines_once(tmp_path: Path) -> None:
    # The bundle's maker (the log operator, whom witnesses check) can list 16 MiB of forged
    # lines under a witness's name and key ID: one failed check is the verdict; verifying
    # each (pure-Python Ed25519, ~3 ms) would keep a reader's verifier busy for minutes.
    from ledger.bundle import verify as vpy

    class Counting(vpy.Primitives):
        calls = 0

        def cosigned(self, key: vpy.WitnessKey, body: str, timestamp: int,
                     signature: bytes) -> bool:
            Counting.calls += 1
            return super().cosigned(key, body, timestamp, signature)

    w = _witness("w1.example", 1)
    key = vpy.parse_witness_key(w.key.vkey)
    raw = w.key.key_id.to_bytes(4, "big") + (1).to_bytes(8, "big") + bytes(64)
    forged = f"— {w.key.name} {base64.b64encode(raw).decode()}\n" * 500
    good = w.cosign(BODY, 5)
    bundle = vpy.Bundle({"checkpoint": sign_note(BODY, [Signer("log.example", bytes(32))]),
                         vpy.COSIGNATURES: (forged + good).encode()})
    verdict = vpy.Verdict([], bundle, {}, checkpoint_text=BODY)
    vpy._check_cosignatures(verdict, Counting(), [key], 1)
    assert Counting.calls <= 2
    assert [c.text for c in verdict.checks if c.status == "FAIL"] == [
        f"{vpy.COSIGNATURES}: the cosignature by witness w1.example does not verify"]
