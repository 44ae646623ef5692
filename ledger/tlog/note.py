"""Signed notes (C2SP signed-note) with Ed25519, ported from Go's golang.org/x/mod/sumdb/note.

A signed note is a text ending in a newline, a blank line, then one or more lines
``— <key name> <base64(key ID ‖ signature)>``. The key ID is
SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key)[:4], big-endian.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.errors import InvalidInputError, VerificationError

SIGNATURE_TYPE_ED25519 = 0x01
"""Signature type byte of Ed25519 in C2SP signed-note (Go's algEd25519)."""

SIGNATURE_LINE_PREFIX = "— "
"""Em dash (U+2014) and space that open every signature line (C2SP signed-note)."""

MAX_SIGNATURES = 100
"""Go's note.Open rejects notes with more signature lines; C2SP requires accepting 16."""

_ED25519_KEY_SIZE = 32
_ED25519_SIGNATURE_SIZE = 64
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_KEY_ID = re.compile(r"[0-9a-fA-F]{8}")  # strconv.ParseUint(s, 16, 32) with len(s) == 8
# Go's unicode.IsSpace: Latin-1 spaces plus the Unicode White_Space property. Python's
# str.isspace also counts U+001C..U+001F, so the set is spelled out.
_UNICODE_SPACES = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)


@dataclass(frozen=True)
class Signature:
    """One signature line of a note: key name, key ID and the base64 text as it appeared."""

    name: str
    key_id: int
    encoded: str


class OpenedNote(NamedTuple):
    """The text of a note whose signatures checked out, and the signatures that did."""

    text: str
    signatures: list[Signature]


class Verifier:
    """An Ed25519 public key under a name; requires a valid key name and a 32-byte key."""

    def __init__(self, name: str, public_key: bytes) -> None:
        _check_name(name)
        if len(public_key) != _ED25519_KEY_SIZE:
            raise InvalidInputError("Ed25519 public key must be 32 bytes", field="public_key")
        self.name = name
        self.public_key = public_key
        self.key_id = compute_key_id(name, public_key)
        try:
            self._key = Ed25519PublicKey.from_public_bytes(public_key)
        except ValueError as e:  # mapped here, the one place cryptography parses a key
            raise InvalidInputError("invalid Ed25519 public key", field="public_key") from e

    @property
    def vkey(self) -> str:
        """The verifier key string ``name+<hex key ID>+<base64(0x01 ‖ public key)>``."""
        return format_verifier_key(self.name, self.public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` is this key's Ed25519 signature of ``message``."""
        if len(signature) != _ED25519_SIGNATURE_SIZE:
            return False
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"Verifier({self.vkey!r})"


class Signer:
    """An Ed25519 private key under a name; requires a valid key name and a 32-byte seed."""

    def __init__(self, name: str, seed: bytes) -> None:
        _check_name(name)
        if len(seed) != _ED25519_KEY_SIZE:
            raise InvalidInputError("Ed25519 private seed must be 32 bytes", field="seed")
        self.name = name
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = compute_key_id(name, self.public_key)

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message`` (deterministic, RFC 8032)."""
        return self._key.sign(message)

    @property
    def verifier(self) -> Verifier:
        """The Verifier of this signer's public key, under the same name."""
        return Verifier(self.name, self.public_key)

    def __repr__(self) -> str:
        # Never show the seed: a repr may end up in a log.
        return f"Signer(name={self.name!r}, key_id={self.key_id:08x})"


def compute_key_id(name: str, public_key: bytes) -> int:
    """Return SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public_key)[:4] as a big-endian uint32."""
    digest = hashlib.sha256(
        name.encode() + b"\n" + bytes([SIGNATURE_TYPE_ED25519]) + public_key
    ).digest()
    return int.from_bytes(digest[:4], "big")


def is_valid_key_name(name: str) -> bool:
    """Return whether ``name`` is a key name: non-empty UTF-8 without Unicode spaces or '+'."""
    if not name or "+" in name or any(c in _UNICODE_SPACES for c in name):
        return False
    try:
        name.encode()
    except UnicodeEncodeError:  # lone surrogates are not valid UTF-8
        return False
    return True


def format_verifier_key(name: str, public_key: bytes) -> str:
    """Return ``name+<hex key ID>+<base64(0x01 ‖ public_key)>``; requires a valid key name
    and a 32-byte key (Go's NewEd25519VerifierKey).
    """
    _check_name(name)
    if len(public_key) != _ED25519_KEY_SIZE:
        raise InvalidInputError("Ed25519 public key must be 32 bytes", field="public_key")
    key = base64.b64encode(bytes([SIGNATURE_TYPE_ED25519]) + public_key).decode()
    return f"{name}+{compute_key_id(name, public_key):08x}+{key}"


def format_signer_key(name: str, seed: bytes) -> str:
    """Return Go's ``PRIVATE+KEY+name+<hex key ID>+<base64(0x01 ‖ seed)>``; keep it secret."""
    signer = Signer(name, seed)
    key = base64.b64encode(bytes([SIGNATURE_TYPE_ED25519]) + seed).decode()
    return f"PRIVATE+KEY+{name}+{signer.key_id:08x}+{key}"


def generate_key(name: str) -> tuple[str, str]:
    """Return a fresh (signer key, verifier key) pair of strings for a valid key name."""
    seed = secrets.token_bytes(_ED25519_KEY_SIZE)
    return format_signer_key(name, seed), Signer(name, seed).verifier.vkey


def parse_verifier_key(vkey: str) -> Verifier:
    """Return the Verifier of a ``name+<hex key ID>+<base64 key>`` string (Go's NewVerifier)."""
    name, _, rest = vkey.partition("+")
    key_id, _, encoded = rest.partition("+")
    key = _decode_key(name, key_id, encoded, "verifier")
    verifier = Verifier(name, key)
    if verifier.key_id != int(key_id, 16):
        raise InvalidInputError("invalid verifier key: key ID does not match", field="verifier_key")
    return verifier


def parse_signer_key(skey: str) -> Signer:
    """Return the Signer of a ``PRIVATE+KEY+name+<hex key ID>+<base64 seed>`` string."""
    private, _, rest = skey.partition("+")
    key_word, _, rest = rest.partition("+")
    name, _, rest = rest.partition("+")
    key_id, _, encoded = rest.partition("+")
    if (private, key_word) != ("PRIVATE", "KEY"):
        raise InvalidInputError("malformed signer key", field="signer_key")
    signer = Signer(name, _decode_key(name, key_id, encoded, "signer"))
    # The key ID hashes the public key, so it can only be checked once the key is derived.
    if signer.key_id != int(key_id, 16):
        raise InvalidInputError("invalid signer key: key ID does not match", field="signer_key")
    return signer


def sign_note(text: str, signers: Sequence[Signer]) -> bytes:
    """Return the signed note of ``text`` with one signature line per signer, in order.

    Requires at least one signer and a note text: valid UTF-8 ending in a newline, with no
    control character other than newline.
    """
    if not signers:
        raise InvalidInputError("a signed note needs at least one signer", field="signers")
    if not text.endswith("\n"):
        raise InvalidInputError("note text must end in a newline", field="text")
    try:
        message = text.encode()
    except UnicodeEncodeError as e:
        raise InvalidInputError("note text is not valid UTF-8", field="text") from e
    # Go's Sign checks only the final newline; we also refuse what Open would reject.
    if any(c < " " and c != "\n" for c in text):
        raise InvalidInputError("note text holds a control character", field="text")
    lines = []
    for signer in signers:
        raw = signer.key_id.to_bytes(4, "big") + signer.sign(message)
        lines.append(f"{SIGNATURE_LINE_PREFIX}{signer.name} {base64.b64encode(raw).decode()}\n")
    return message + b"\n" + "".join(lines).encode()


def open_note(message: bytes, verifiers: Sequence[Verifier]) -> OpenedNote:
    """Return the text and verified signatures of a signed note (Go's note.Open).

    Requires nothing: a malformed note, a known key whose signature fails, an ambiguous key,
    or a note that no known key signed raises VerificationError. Signatures by unknown keys
    are ignored, so several keys (rotation, witnesses) may sign one note.
    """
    text, lines = _split_note(message)
    known: dict[tuple[str, int], list[Verifier]] = {}
    for v in verifiers:
        known.setdefault((v.name, v.key_id), []).append(v)
    verified: list[Signature] = []
    seen: set[tuple[str, int]] = set()
    unknown: list[str] = []
    for number, line in enumerate(lines, start=1):
        if number > MAX_SIGNATURES:
            raise VerificationError(f"malformed note: more than {MAX_SIGNATURES} signatures")
        signature, raw = parse_signature_line(line)
        key = (signature.name, signature.key_id)
        candidates = known.get(key)
        if candidates is None or key in seen:
            if candidates is None:
                unknown.append(_key_label(*key))
            continue  # unknown keys are ignored; a key's repeated signature too (as Go)
        if len(candidates) > 1:
            raise VerificationError(f"ambiguous key {_key_label(*key)}")
        seen.add(key)
        if not candidates[0].verify(text, raw):
            raise VerificationError(f"invalid signature for key {_key_label(*key)}")
        verified.append(signature)
    if not verified:
        trusted = ", ".join(_key_label(*k) for k in known) or "none"
        raise VerificationError(f"note has no verifiable signatures (signed by "
                                f"{', '.join(unknown) or 'no key'}; trusted keys: {trusted})")
    return OpenedNote(text.decode(), verified)


def decode_base64(text: str) -> bytes:
    """Return the bytes of standard padded base64 (RFC 4648 section 4), as Go decodes it.

    Raises InvalidInputError for anything else: missing or excess padding, other characters.
    """
    if len(text) % 4 or not _BASE64.fullmatch(text):
        raise InvalidInputError("malformed base64")
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except binascii.Error as e:
        raise InvalidInputError("malformed base64") from e


def split_note(message: bytes) -> tuple[str, list[str]]:
    """A signed note's text (ending in its newline) and its signature lines, unverified;
    VerificationError if it is not a well-formed note."""
    text, lines = _split_note(message)
    return text.decode(), lines


def _split_note(message: bytes) -> tuple[bytes, list[str]]:
    # C2SP signed-note: valid UTF-8, no control character but newline, and the text ends at
    # the last blank line; what follows is one or more newline-terminated signature lines.
    try:
        decoded = message.decode()
    except UnicodeDecodeError as e:
        raise VerificationError("malformed note: not valid UTF-8") from e
    if any(c < " " and c != "\n" for c in decoded):
        raise VerificationError("malformed note: control character")
    split = message.rfind(b"\n\n")
    if split < 0:
        raise VerificationError("malformed note: no blank line before the signatures")
    signatures = message[split + 2 :].decode()
    if not signatures.endswith("\n"):
        raise VerificationError("malformed note: signature block does not end in a newline")
    return message[: split + 1], signatures[:-1].split("\n")


def parse_signature_line(line: str) -> tuple[Signature, bytes]:
    """One signature line (without its newline): its signature and the bytes after the key ID;
    VerificationError when it is malformed."""
    if not line.startswith(SIGNATURE_LINE_PREFIX):
        raise VerificationError("malformed note: signature line does not start with '— '")
    name, _, encoded = line[len(SIGNATURE_LINE_PREFIX) :].partition(" ")
    try:
        raw = decode_base64(encoded)
    except InvalidInputError:
        raw = b""
    if not is_valid_key_name(name) or len(raw) < 5:
        raise VerificationError(f"malformed note: bad signature line for {name!r}")
    key_id = int.from_bytes(raw[:4], "big")
    return Signature(name, key_id, encoded), raw[4:]


def _decode_key(name: str, key_id: str, encoded: str, kind: str) -> bytes:
    # Go's NewVerifier and NewSigner: 8 hex digits, base64 of the type byte and the key.
    try:
        key = decode_base64(encoded)
    except InvalidInputError:
        key = b""
    if not _KEY_ID.fullmatch(key_id) or not is_valid_key_name(name) or not key:
        raise InvalidInputError(f"malformed {kind} key", field=f"{kind}_key")
    if key[0] != SIGNATURE_TYPE_ED25519:
        raise InvalidInputError(f"unknown {kind} key algorithm {key[0]}", field=f"{kind}_key")
    if len(key) != 1 + _ED25519_KEY_SIZE:
        raise InvalidInputError(f"malformed {kind} key", field=f"{kind}_key")
    return key[1:]


def _check_name(name: str) -> None:
    if not is_valid_key_name(name):
        raise InvalidInputError(f"invalid key name {name!r}", field="name")


def _key_label(name: str, key_id: int) -> str:
    return f"{name}+{key_id:08x}"
