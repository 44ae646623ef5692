"""Witness cosignatures (C2SP tlog-cosignature, Ed25519 ``cosignature/v1``): pure.

A cosignature is a signed-note signature line ``— <witness name> base64(key ID ‖ timestamp ‖
signature)`` where the key ID is SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4] (signature type
0x04, not the log's 0x01), the timestamp a big-endian u64 of POSIX seconds (at most 2^63 - 1)
and the signature Ed25519 over ``cosignature/v1\\ntime <timestamp>\\n`` followed by the whole
checkpoint note body (extension lines included, signature lines not).

A witness key reuses ledger.tlog.note's Signer and Verifier for the Ed25519 part; only the
type byte, the key ID and the signed message differ.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.errors import InvalidInputError, VerificationError
from ledger.tlog.note import (
    SIGNATURE_LINE_PREFIX,
    Signer,
    Verifier,
    decode_base64,
    is_valid_key_name,
    parse_signature_line,
)

SIGNATURE_TYPE_COSIGNATURE_V1 = 0x04
"""Signature type byte of Ed25519 cosignature/v1 in C2SP signed-note and tlog-cosignature."""

MAX_TIMESTAMP = 2**63 - 1
_KEY_SIZE = 32
_SIGNATURE_SIZE = 64
_RAW_SIZE = 4 + 8 + _SIGNATURE_SIZE
_KEY_ID = re.compile(r"[0-9a-f]{8}")


def cosigner_key_id(name: str, public_key: bytes) -> int:
    """SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public_key)[:4] as a big-endian uint32."""
    digest = hashlib.sha256(
        name.encode() + b"\n" + bytes([SIGNATURE_TYPE_COSIGNATURE_V1]) + public_key
    ).digest()
    return int.from_bytes(digest[:4], "big")


def cosigned_message(body: str, timestamp: int) -> bytes:
    """The bytes a cosignature signs: header, time line and the checkpoint note body.

    Requires a body ending in a newline and 0 <= timestamp <= 2^63 - 1."""
    if not body.endswith("\n"):
        raise InvalidInputError("checkpoint body must end in a newline", field="body")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise InvalidInputError(f"cosignature time {timestamp} out of range", field="timestamp")
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


@dataclass(frozen=True)
class WitnessKey:
    """A witness's public key under its name (a vkey with signature type 0x04)."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise InvalidInputError(f"invalid witness name {self.name!r}", field="name")
        if len(self.public_key) != _KEY_SIZE:
            raise InvalidInputError("Ed25519 public key must be 32 bytes", field="public_key")

    @property
    def key_id(self) -> int:
        return cosigner_key_id(self.name, self.public_key)

    @property
    def vkey(self) -> str:
        """``name+<hex key ID>+<base64(0x04 ‖ public key)>``."""
        key = base64.b64encode(bytes([SIGNATURE_TYPE_COSIGNATURE_V1]) + self.public_key)
        return f"{self.name}+{self.key_id:08x}+{key.decode()}"

    @property
    def label(self) -> str:
        return f"{self.name}+{self.key_id:08x}"

    def verify(self, body: str, timestamp: int, signature: bytes) -> bool:
        """Whether ``signature`` is this key's cosignature of ``body`` at ``timestamp``."""
        return Verifier(self.name, self.public_key).verify(
            cosigned_message(body, timestamp), signature)


def parse_witness_vkey(vkey: str) -> WitnessKey:
    """The WitnessKey of ``name+<hex key ID>+<base64(0x04 ‖ key)>``; InvalidInputError for
    anything else (another signature type, a key ID that does not match)."""
    name, _, rest = vkey.strip().partition("+")
    key_id, _, encoded = rest.partition("+")
    try:
        raw = decode_base64(encoded)
    except InvalidInputError:
        raw = b""
    if not _KEY_ID.fullmatch(key_id) or not is_valid_key_name(name) or not raw:
        raise InvalidInputError(f"malformed witness key {vkey!r}", field="witness_key")
    if raw[0] != SIGNATURE_TYPE_COSIGNATURE_V1 or len(raw) != 1 + _KEY_SIZE:
        raise InvalidInputError("witness key is not an Ed25519 cosignature/v1 key (type 0x04)",
                                field="witness_key")
    key = WitnessKey(name, raw[1:])
    if key.key_id != int(key_id, 16):
        raise InvalidInputError("witness key: key ID does not match", field="witness_key")
    return key


class WitnessSigner:
    """A witness's Ed25519 private key under its name; it cosigns checkpoint bodies."""

    def __init__(self, name: str, seed: bytes) -> None:
        self._signer = Signer(name, seed)
        self.key = WitnessKey(name, self._signer.public_key)

    @classmethod
    def generate(cls, name: str) -> tuple[WitnessSigner, bytes]:
        """A fresh signer and its 32-byte seed (to be kept secret)."""
        seed = secrets.token_bytes(_KEY_SIZE)
        return cls(name, seed), seed

    def cosign(self, body: str, timestamp: int) -> str:
        """The signature line (with its newline) cosigning ``body`` at ``timestamp``."""
        signature = self._signer.sign(cosigned_message(body, timestamp))
        raw = self.key.key_id.to_bytes(4, "big") + timestamp.to_bytes(8, "big") + signature
        return f"{SIGNATURE_LINE_PREFIX}{self.key.name} {base64.b64encode(raw).decode()}\n"

    def __repr__(self) -> str:
        return f"WitnessSigner({self.key.label})"


@dataclass(frozen=True)
class Cosignature:
    """One verified cosignature: the witness key that made it and when (POSIX seconds)."""

    key: WitnessKey
    timestamp: int
    line: str


def verify_cosignatures(body: str, lines: Sequence[str],
                        keys: Sequence[WitnessKey]) -> list[Cosignature]:
    """The cosignatures of ``keys`` among signature ``lines`` on checkpoint ``body``, verified.

    Lines by other keys (the log's own, unknown witnesses) are ignored, as is a key's repeated
    line; a line by a known key that does not verify (forged, or a time out of range) raises
    VerificationError naming the key, as Go's note.Open does for a bad known signature."""
    known = {(k.name, k.key_id): k for k in keys}
    held: dict[tuple[str, int], Cosignature] = {}
    for line in lines:
        line = line.rstrip("\n")
        signature, raw = parse_signature_line(line)
        ident = (signature.name, signature.key_id)
        key = known.get(ident)
        if key is None or ident in held:
            continue
        timestamp = int.from_bytes(raw[:8], "big")
        if len(raw) != _RAW_SIZE - 4 or timestamp > MAX_TIMESTAMP or not key.verify(
                body, timestamp, raw[8:]):
            raise VerificationError(f"invalid cosignature by witness {key.label}")
        held[ident] = Cosignature(key, timestamp, line + "\n")
    return list(held.values())
