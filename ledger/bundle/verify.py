#!/usr/bin/env python3
"""Offline verifier of a Handover Ledger evidence bundle, format 1 (docs/bundle-format.md).

    python3 -I verify.py --key <verifier key> [--witness <key>... [--witnesses-required K]] [BUNDLE]

BUNDLE is the ZIP, or the folder it was unzipped into (default: the folder this file is in).
The key (``name+<key id>+<base64>``, as ``GET /log/key`` serves it) is the trust anchor; the
``keys`` file in the bundle is information only. Python 3.11 standard library only, one file.

A pass means: every file is the one the manifest lists; the manifest is signed by the key; every
entry is canonical, chained to its predecessor and included in the checkpoint the key signed;
the case replays consistently. It does not mean the events are true, only that the ledger
recorded them, in this order, and cannot have changed them since the checkpoint was signed.

Steps (each printed as ``ok   <what>`` or ``FAIL <path>: <reason>``; steps 1-4 stop at a failure):
 1 container  2 manifest  3 signature  4 checkpoint (and, given --witness keys, its witness
 cosignatures: at least K of them must hold)  5 entries  6 proofs  7 case replay
 8 attachments  9 report  10 timestamps (RFC 3161 tokens over the checkpoint, when the bundle
carries any: their message imprint and time only; ``ledger verify-bundle`` checks the rest).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime
import hashlib
import io
import json
import os
import re
import stat
import sys
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MEDIA_TYPE = "application/vnd.handover-ledger.evidence-bundle+zip"
BUNDLE_FORMAT = 1
SIGNATURE_HEADER = "handover-ledger/evidence-bundle/v1"
TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
STREAM_ORDER = ("departure", "item", "template", "dispute")
MAX_MEMBERS = 100_000
MAX_TOTAL = 4 << 30
MAX_ATTACHMENT = 1 << 30
MAX_OTHER = 16 << 20
ZIP_IN_MEMORY = 64 << 20  # a bundle file at most this large is read whole, then unzipped
MAX_IN_MEMORY = 256 << 20  # all members but attachments together (those are only hashed)
# A caller checking bundles it did not make (the console's upload) may refuse a member
# inflating more than MAX_RATIO times its compressed size (once past RATIO_FLOOR): a ZIP bomb
# (deflate reaches ~1000:1) does, an attachment rarely. Offline verification does not: a very
# compressible attachment (a log, a sparse image) must still verify, and the declared sizes
# already bound the work (an unzip stops at the declared size; max_total caps their sum).
MAX_RATIO = 100
RATIO_FLOOR = 1 << 20
UNSIGNED = ("mimetype", "META-INF/manifest.json", "META-INF/signature")
COSIGNATURES = "META-INF/cosignatures"
COSIGNATURE_TYPE = 0x04  # C2SP tlog-cosignature: Ed25519 cosignature/v1
MIMETYPE_MESSAGE = f"mimetype: must be the first member, stored, holding {MEDIA_TYPE}"


# --- Ed25519 verification, RFC 8032 section 5.1.7 ------------------------------------------
# Cofactorless ([S]B = R + [k]A checked by re-encoding R), S must be canonical (S < L), and the
# key is decoded as OpenSSL does (y is taken mod p), so the verdicts are those of `cryptography`.
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493  # the group order (RFC 8032 section 5.1)
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z


def _point_add(p: Point, q: Point) -> Point:
    # RFC 8032 section 5.1.4 (complete for every pair of points: also doubles).
    a = (p[1] - p[0]) * (q[1] - q[0]) % P
    b = (p[1] + p[0]) * (q[1] + q[0]) % P
    c = 2 * p[3] * q[3] * D % P
    d = 2 * p[2] * q[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return e * f % P, g * h % P, f * g % P, e * h % P


def _scalar_mult(s: int, p: Point) -> Point:
    q: Point = (0, 1, 1, 0)  # the neutral element
    while s:
        if s & 1:
            q = _point_add(q, p)
        p, s = _point_add(p, p), s >> 1
    return q


def _recover_x(y: int, sign: int) -> int | None:
    # RFC 8032 section 5.1.3, steps 2-4.
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if (v * x * x - u) % P != 0:
        if (v * x * x + u) % P != 0:
            return None
        x = x * SQRT_M1 % P
    return (P - x) % P if x & 1 != sign else x


def _encode_point(p: Point) -> bytes:
    z = pow(p[2], P - 2, P)
    x, y = p[0] * z % P, p[1] * z % P
    return (y | (x & 1) << 255).to_bytes(32, "little")


_BY = 4 * pow(5, P - 2, P) % P
_BX = _recover_x(_BY, 0) or 0
BASE: Point = (_BX, _BY, 1, _BX * _BY % P)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is an Ed25519 signature of ``message`` by ``public_key``."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= L:  # RFC 8032 section 5.1.7 step 1: a non-canonical S is rejected (malleability)
        return False
    encoded = int.from_bytes(public_key, "little")
    y = (encoded & ((1 << 255) - 1)) % P  # as OpenSSL: a y >= p is taken mod p
    x = _recover_x(y, encoded >> 255)
    if x is None:
        return False
    minus_a: Point = ((P - x) % P, y, 1, (P - x) * y % P)
    k = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little")
    # Step 3, cofactorless: R' = [S]B - [k]A must encode to exactly the R bytes given.
    r = _point_add(_scalar_mult(s, BASE), _scalar_mult(k % L, minus_a))
    return _encode_point(r) == signature[:32]


# --- C2SP signed-note, tlog-checkpoint and tlog-proof ----------------------------------------
class NoteError(Exception):
    """A note that is malformed (``malformed``) or not signed by the key (``unsigned``)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class VerifierKey:
    """A verifier key ``<name>+<hex key id>+<base64(0x01 || 32-byte Ed25519 key)>``."""

    name: str
    key_id: bytes
    public_key: bytes


def parse_verifier_key(text: str) -> VerifierKey:
    """Parse a verifier key string; ValueError if it is not one (C2SP signed-note, Keys)."""
    return VerifierKey(*_parse_key(text, 0x01, "not an Ed25519 verifier key string",
                                   "the key ID does not match the key"))


def _parse_key(text: str, kind: int, malformed: str, mismatch: str) -> tuple[str, bytes, bytes]:
    """``<name>+<hex key id>+<base64(kind || 32-byte Ed25519 key)>`` as (name, key ID, key)."""
    name, _, rest = text.strip().partition("+")
    key_hex, _, encoded = rest.partition("+")
    raw = _b64(encoded)
    if not name or any(c.isspace() or c == "+" for c in name) or not re.fullmatch(
            r"[0-9a-f]{8}", key_hex) or raw is None or len(raw) != 33 or raw[0] != kind:
        raise ValueError(malformed)
    key_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if key_id.hex() != key_hex:
        raise ValueError(mismatch)
    return name, key_id, raw[1:]


def _b64(text: str) -> bytes | None:
    # Strict, padded base64 (RFC 4648 section 4), the one spelling Go's decoder accepts.
    if len(text) % 4 or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text):
        return None
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except binascii.Error:
        return None


def open_note(note: bytes, key: VerifierKey) -> str:
    """The text of a signed note once ``key``'s signature on it verifies (C2SP signed-note)."""
    try:
        decoded = note.decode()
    except UnicodeDecodeError:
        raise NoteError("malformed") from None
    split = note.rfind(b"\n\n")
    if any(c < " " and c != "\n" for c in decoded) or split < 0 or not note.endswith(b"\n"):
        raise NoteError("malformed")
    text, lines = note[: split + 1], note[split + 2 : -1].decode().split("\n")
    signed = False
    for line in lines[:100]:
        name, _, encoded = line.removeprefix("— ").partition(" ")
        raw = _b64(encoded)
        if not line.startswith("— ") or not name or raw is None or len(raw) < 5:
            raise NoteError("malformed")
        if name == key.name and raw[:4] == key.key_id:
            if not ed25519_verify(key.public_key, text, raw[4:]):
                raise NoteError("unsigned")  # a bad signature by the key itself: refused
            signed = True
    if len(lines) > 100:
        raise NoteError("malformed")
    if not signed:
        raise NoteError("unsigned")
    return text.decode()


@dataclass(frozen=True)
class WitnessKey:
    """A witness's key ``<name>+<hex key id>+<base64(0x04 || 32-byte Ed25519 key)>``."""

    name: str
    key_id: bytes
    public_key: bytes


def parse_witness_key(text: str) -> WitnessKey:
    """Parse a witness verifier key (C2SP tlog-cosignature); ValueError if it is not one."""
    return WitnessKey(*_parse_key(
        text, COSIGNATURE_TYPE, "not an Ed25519 cosignature/v1 witness key (signature type "
        "0x04)", "the witness key ID does not match the key"))


def cosignature_valid(key: WitnessKey, body: str, timestamp: int, signature: bytes) -> bool:
    """Whether ``signature`` is ``key``'s cosignature/v1 of checkpoint ``body`` at ``timestamp``."""
    message = f"cosignature/v1\ntime {timestamp}\n{body}".encode()
    return ed25519_verify(key.public_key, message, signature)


def parse_checkpoint(text: str) -> tuple[str, int, str]:
    """``(origin, size, base64 root)`` of a checkpoint text (C2SP tlog-checkpoint)."""
    lines = text[:-1].split("\n")
    if not text.endswith("\n") or len(lines) < 3 or not lines[0] or any(not x for x in lines):
        raise ValueError("malformed checkpoint")
    if not re.fullmatch(r"0|[1-9][0-9]*", lines[1]) or int(lines[1]) >= 2**64:
        raise ValueError("malformed checkpoint size")
    root = _b64(lines[2])
    if root is None or len(root) != 32 or base64.b64encode(root).decode() != lines[2]:
        raise ValueError("malformed checkpoint root")
    return lines[0], int(lines[1]), lines[2]


def parse_tlog_proof(data: bytes) -> tuple[int, list[bytes], bytes]:
    """``(index, proof hashes, signed checkpoint)`` of a C2SP tlog-proof; ValueError else."""
    head, sep, checkpoint = data.partition(b"\n\n")
    if not sep or not checkpoint or not head.isascii() or re.search(b"[\x00-\x09\x0b-\x1f]", head):
        raise ValueError("malformed tlog-proof")
    lines = head.decode().split("\n")
    if lines[0] != TLOG_PROOF_HEADER or len(lines) < 2:
        raise ValueError("malformed tlog-proof")
    rest = lines[2:] if lines[1].startswith("extra ") else lines[1:]
    if lines[1].startswith("extra ") and _b64(lines[1][6:]) is None:
        raise ValueError("malformed tlog-proof extra data")
    index = re.fullmatch(r"index (0|[1-9][0-9]*)", rest[0]) if rest else None
    if index is None or int(index.group(1)) >= 2**64:
        raise ValueError("malformed tlog-proof index")
    hashes = []
    for line in rest[1:]:
        h = _b64(line)
        if h is None or len(h) != 32 or base64.b64encode(h).decode() != line:
            raise ValueError("malformed tlog-proof hash")
        hashes.append(h)
    return int(index.group(1)), hashes, checkpoint


# --- Merkle inclusion, RFC 9162 section 2.1.3.2 (RFC 6962 hashing, section 2.1) ------------
def leaf_hash(entry_hash: bytes) -> bytes:
    """The log's leaves are the entries' SHA-256 hashes: MTH leaf = SHA-256(0x00 || hash)."""
    return hashlib.sha256(b"\x00" + entry_hash).digest()


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes],
                     root: bytes) -> bool:
    """Whether ``proof`` shows ``leaf`` at ``index`` in the tree of ``size`` with ``root``."""
    if not 0 <= index < size or any(len(h) != 32 for h in (leaf, root, *proof)):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


# --- RFC 8785 canonical JSON and the entry envelope (DESIGN.md) -----------------------------
def _refuse_float(text: str) -> object:
    raise ValueError(f"number {text} is not an integer (floats are not allowed)")


def _bounded_int(text: str) -> int:
    if abs(int(text)) > 2**53 - 1:  # RFC 8785 section 3.2.2.3: beyond I-JSON's exact range
        raise ValueError(f"integer {text} exceeds 2^53-1")
    return int(text)


DECODER = json.JSONDecoder(parse_float=_refuse_float, parse_constant=_refuse_float,
                           parse_int=_bounded_int)


def encode_canonical(value: object, *, bmp_keys: bool = False) -> bytes:
    """RFC 8785 for JSON without floats: compact, keys sorted by UTF-16 code units (3.2.3).

    With ``bmp_keys`` (no key holds a character beyond U+FFFF), code point order is UTF-16
    order and the standard library's C encoder gives the same bytes, faster.
    """
    if bmp_keys:
        return json.dumps(value, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode("utf-8")

    def enc(v: object) -> str:
        if isinstance(v, dict):
            keys = sorted(v, key=lambda k: k.encode("utf-16-be"))
            return "{" + ",".join(f"{enc(k)}:{enc(v[k])}" for k in keys) + "}"
        if isinstance(v, list):
            return "[" + ",".join(enc(x) for x in v) + "]"
        return json.dumps(v, ensure_ascii=False)  # 3.2.2.2: the same escapes as JSON.stringify
    return enc(value).encode("utf-8")


def parse_canonical(raw: bytes) -> Any:
    """The JSON value of ``raw``; ValueError unless ``raw`` is its RFC 8785 form."""
    doc = DECODER.decode(raw.decode("utf-8"))
    try:  # no 4-byte UTF-8 sequence in the bytes: every key is in the BMP
        canonical = encode_canonical(doc, bmp_keys=not re.search(b"[\xf0-\xf4]", raw)) == raw
    except UnicodeEncodeError:  # a lone surrogate has no UTF-8 form
        canonical = False
    if not canonical:
        raise ValueError("entry bytes are not in RFC 8785 canonical form")
    return doc


@dataclass(frozen=True)
class Entry:
    """An entry as the bundle holds it: its path, envelope, payload, bytes and hash (hex)."""

    path: str
    stream_type: str
    stream_id: str
    version: int
    event_type: str
    payload: Mapping[str, Any]
    prev: str | None
    hash: str
    raw: bytes


_ENVELOPE = {"v", "id", "stream", "version", "type", "recorded_at", "actor", "context",
             "payload", "prev"}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def decode_entry(path: str, raw: bytes) -> Entry:
    """The entry of ``raw``; ValueError(detail) unless it is canonical with the fixed envelope.

    The checks and their order are those of the ledger's own ``ledger.entry.decode_entry``.
    """
    doc = DECODER.decode(raw.decode("utf-8"))
    if not isinstance(doc, dict) or set(doc) != _ENVELOPE:
        raise ValueError("entry keys differ from the fixed envelope")
    if type(doc["v"]) is not int or doc["v"] != 1:
        raise ValueError(f"unknown entry format version {doc['v']!r}")
    stream, version, prev = doc["stream"], doc["version"], doc["prev"]
    if not isinstance(stream, dict) or set(stream) != {"type", "id"}:
        raise ValueError("stream must be exactly {type, id}")
    if stream["type"] not in STREAM_ORDER:
        raise ValueError(f"unknown stream type {stream['type']!r}")
    if type(version) is not int or version < 1:
        raise ValueError(f"bad version {version!r}")
    for name in ("actor", "context", "payload"):
        if not isinstance(doc[name], dict):
            raise ValueError(f"{name} is not an object")
    if not isinstance(doc["type"], str) or not isinstance(doc["recorded_at"], str):
        raise ValueError("type and recorded_at must be strings")
    if (version == 1) != (prev is None):
        raise ValueError("prev must be null exactly for version 1")
    if prev is not None and not (isinstance(prev, str) and re.fullmatch(r"[0-9a-f]{64}", prev)):
        raise ValueError("prev must be 64 lowercase hex digits")
    parse_canonical(raw)
    for text in (doc["id"], stream["id"]):
        if not isinstance(text, str) or not _UUID.fullmatch(text):
            raise ValueError(f"{text!r} is not a lowercase, hyphenated UUID")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z", doc["recorded_at"]):
        raise ValueError(f"recorded_at {doc['recorded_at']!r} is not RFC 3339 UTC with "
                         "microseconds")
    return Entry(path, stream["type"], stream["id"], version, doc["type"], doc["payload"],
                 prev, hashlib.sha256(raw).hexdigest(), raw)


# --- Step 1: the container, read safely -------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """One line of the verdict: ``ok`` (what passed), ``FAIL`` (what failed) or ``note``."""

    status: str
    text: str

    def line(self) -> str:
        return f"{self.status:<4} {self.text}"


class Stop(Exception):
    """An early step (1 to 4) failed: verification ends there."""


@dataclass
class Bundle:
    """The members read from a bundle: small ones as bytes, attachments as (size, SHA-256)."""

    files: dict[str, bytes] = field(default_factory=dict)
    attachments: dict[str, tuple[int, str]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # a desktop's own files in a folder
    held: int = 0  # bytes of ``files``, bounded by MAX_IN_MEMORY

    def size_and_digest(self, path: str) -> tuple[int, str] | None:
        if path in self.files:
            return len(self.files[path]), hashlib.sha256(self.files[path]).hexdigest()
        return self.attachments.get(path)

    def paths(self) -> list[str]:
        return sorted({*self.files, *self.attachments}, key=lambda p: p.encode())


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _unsafe(name: str) -> bool:
    # Relative, '/'-separated, printable ASCII; no '', '.' or '..' segment, no drive or backslash.
    parts = name.split("/")
    return (not name.isascii() or _CONTROL.search(name) is not None or "\\" in name
            or name.startswith("/") or ":" in parts[0]
            or any(p in ("", ".", "..") for p in parts))


def _limit(name: str) -> int:
    return MAX_ATTACHMENT if name.startswith("files/") else MAX_OTHER


def _read_member(bundle: Bundle, name: str, stream: Any, problems: list[str]) -> int:
    """Read one member (an attachment only hashed, as it streams); its size, or -1 if too
    large."""
    if not name.startswith("files/"):
        # Small members are kept whole and hashed once, against the manifest (step 2).
        room = min(MAX_OTHER, MAX_IN_MEMORY - bundle.held)
        data = stream.read(room + 1)
        if len(data) > room:
            problems.append(f"{name}: too large" if room == MAX_OTHER else "bundle: too large")
            return -1
        bundle.files[name] = data
        bundle.held += len(data)
        return len(data)
    size, digest = 0, hashlib.sha256()
    while chunk := stream.read(1 << 20):
        size += len(chunk)
        if size > MAX_ATTACHMENT:
            problems.append(f"{name}: too large")
            return -1
        digest.update(chunk)
    bundle.attachments[name] = (size, digest.hexdigest())
    return size


def _outside_members(f: Any, archive: zipfile.ZipFile) -> bool:
    """Whether the file ``f`` (open, seekable) holds bytes that are no member's: something
    before the first local header, between members (a local record the central directory
    does not list, which a streaming unzip would still extract), or after the end record
    (APPNOTE.TXT 4.3.6)."""
    expected = 0
    for info in sorted(archive.infolist(), key=lambda i: i.header_offset):
        if info.header_offset != expected:  # (checked before seeking: it may be negative)
            return True
        f.seek(info.header_offset)
        header = f.read(30)
        if header[:4] != b"PK\x03\x04":
            return True
        expected = (info.header_offset + 30 + int.from_bytes(header[26:28], "little")
                    + int.from_bytes(header[28:30], "little") + info.compress_size)
        if info.flag_bits & 0x08:  # a data descriptor follows (APPNOTE.TXT 4.3.9)
            f.seek(expected)
            wide = max(info.compress_size, info.file_size) >= 0xFFFFFFFF
            expected += (8 if wide else 0) + (16 if f.read(4) == b"PK\x07\x08" else 12)
    f.seek(-22, os.SEEK_END)
    end = f.read(22)
    central = getattr(archive, "start_dir", expected)  # where the central directory begins
    return (central != expected or end[:4] != b"PK\x05\x06"
            or int.from_bytes(end[20:22], "little") != 0)


def _inflates(info: zipfile.ZipInfo, max_ratio: int) -> bool:
    """Whether a member claims to inflate beyond ``max_ratio`` (a ZIP bomb's signature)."""
    return (info.file_size > RATIO_FLOOR
            and info.file_size > max_ratio * max(info.compress_size, 1))


def _opened(path: Path) -> Any:
    """The bundle's file, open for reading: read whole into memory when small (one read
    instead of a seek and a read per member), else as a file."""
    f = open(path, "rb")  # noqa: SIM115 (returned open; the caller closes it)
    if os.fstat(f.fileno()).st_size > ZIP_IN_MEMORY:
        return f
    with f:
        return io.BytesIO(f.read())


def read_zip(path: Path, max_total: int = MAX_TOTAL,
             max_ratio: int | None = None) -> tuple[Bundle, list[str]]:
    """The members of a ZIP bundle and the step 1 problems found (docs/bundle-format.md).

    Members are read into memory (attachments only hashed), never written to disk, so no name
    can reach outside; sizes are counted as the bytes come, not taken from the headers. Before
    anything is inflated, the sizes the headers declare (which bound what an unzip produces)
    must stay within ``max_total`` together (and ``max_ratio`` each, when given).
    """
    bundle, problems, seen, total = Bundle(), [], set(), 0
    try:
        with _opened(path) as source, zipfile.ZipFile(source) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS:
                return bundle, ["bundle: too many members"]
            if _outside_members(source, archive):
                return bundle, ["bundle: holds bytes outside its members"]
            if sum(info.file_size for info in infos) > max_total:
                return bundle, ["bundle: too large"]
            if max_ratio and (bombs := [f"{i.filename}: inflates more than {max_ratio} times"
                                        for i in infos if _inflates(i, max_ratio)]):
                return bundle, bombs
            for number, info in enumerate(infos):
                name = info.filename
                if _unsafe(name.rstrip("/") or "/"):
                    problems.append(f"{name}: unsafe path")
                elif name in seen:
                    problems.append(f"{name}: duplicate name")
                elif stat.S_ISLNK(info.external_attr >> 16):
                    problems.append(f"{name}: is a link")
                elif info.is_dir():
                    problems.append(f"{name}: is a directory entry")
                elif info.file_size > _limit(name):
                    problems.append(f"{name}: too large")
                elif name == "mimetype" and (number != 0 or info.extra
                                             or info.compress_type != zipfile.ZIP_STORED):
                    problems.append(MIMETYPE_MESSAGE)
                else:
                    try:
                        with archive.open(info) as member:
                            total += max(_read_member(bundle, name, member, problems), 0)
                    except (zipfile.BadZipFile, EOFError, zlib.error):  # a CRC that fails
                        problems.append(f"{name}: damaged (its bytes fail the ZIP's checks)")
                seen.add(name)
                if total > max_total:
                    return bundle, [*problems, "bundle: too large"]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError,
            RuntimeError, zlib.error):  # damaged, encrypted or of an unknown compression
        return Bundle(), ["bundle: not a ZIP archive"]
    return bundle, problems


DESKTOP_FILES = frozenset({".DS_Store", "__MACOSX", "Thumbs.db", "desktop.ini"})
"""What file managers leave in an unzipped folder; a folder's check skips them, and says so."""


def read_folder(root: Path) -> tuple[Bundle, list[str]]:
    """The files of an unzipped bundle and the step 1 problems found; links are not followed."""
    bundle, problems, count, total = Bundle(), [], 0, 0
    for folder, dirs, names in os.walk(root):
        for name in sorted([*dirs, *names]):
            full = Path(folder, name)
            rel = full.relative_to(root).as_posix()
            if name in DESKTOP_FILES or name.startswith("._"):
                bundle.ignored.append(rel)  # made by a file manager, never part of a bundle
                if full.is_dir() and not full.is_symlink():
                    dirs.remove(name)
                continue
            if full.is_symlink():
                problems.append(f"{rel}: is a link")
            elif full.is_file():
                count += 1
                if count > MAX_MEMBERS:
                    return bundle, ["bundle: too many members"]
                if _unsafe(rel):
                    problems.append(f"{rel}: unsafe path")
                    continue
                with open(full, "rb") as member:
                    total += max(_read_member(bundle, rel, member, problems), 0)
                if total > MAX_TOTAL:
                    return bundle, [*problems, "bundle: too large"]
        dirs[:] = [d for d in dirs if not Path(folder, d).is_symlink()]
    return bundle, problems


def read_bundle(path: Path, max_total: int = MAX_TOTAL,
                max_ratio: int | None = None) -> tuple[Bundle, list[str]]:
    """Step 1: read the bundle (a ZIP, at most ``max_total`` bytes unzipped, or a folder);
    ``mimetype`` must hold the media type."""
    bundle, problems = (read_folder(path) if path.is_dir()
                        else read_zip(path, max_total, max_ratio))
    if not problems and bundle.files.get("mimetype") != MEDIA_TYPE.encode():
        problems.append(MIMETYPE_MESSAGE)
    return bundle, problems


# --- Step 2: the manifest -------------------------------------------------------------------
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP_MEMBER = re.compile(r"META-INF/timestamp-[1-9][0-9]{0,3}\.(tst|pem)")
_MANIFEST_SHAPE: dict[str, type | tuple[type, ...]] = {
    "bundle_format": int, "format_minor": int, "media_type": str, "departure_id": str,
    "generated_at": str, "status": str, "time_zone": str, "checkpoint": dict, "streams": list,
    "with_files": bool, "report_source_sha256": str, "files": list}


def manifest_problem(doc: Any) -> str | None:
    """What is wrong with a parsed manifest of format 1, or None (docs/bundle-format.md)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("bundle_format"), int):
        return "malformed (bundle_format is not an integer)"
    if doc["bundle_format"] != BUNDLE_FORMAT:
        return (f"bundle_format {doc['bundle_format']} is not supported "
                f"(this verifier knows {BUNDLE_FORMAT})")
    for key, kind in _MANIFEST_SHAPE.items():
        if not isinstance(doc.get(key), kind):
            return f"malformed ({key} is missing or of the wrong type)"
    if doc["media_type"] != MEDIA_TYPE or doc["status"] not in ("final", "interim"):
        return "malformed (media_type or status)"
    checkpoint = doc["checkpoint"]
    if not (isinstance(checkpoint.get("origin"), str) and isinstance(checkpoint.get("size"), int)
            and isinstance(checkpoint.get("root"), str)):
        return "malformed (checkpoint)"
    for s in doc["streams"]:
        if not (isinstance(s, dict) and s.get("type") in STREAM_ORDER
                and _UUID.fullmatch(str(s.get("id"))) and isinstance(s.get("versions"), int)
                and s["versions"] >= 1 and _HEX64.fullmatch(str(s.get("head")))):
            return "malformed (streams)"
    for f in doc["files"]:
        if not (isinstance(f, dict) and isinstance(f.get("path"), str)
                and isinstance(f.get("size"), int) and _HEX64.fullmatch(str(f.get("sha256")))):
            return "malformed (files)"
    renderer = doc.get("report_renderer", {})  # format 1.1: what printed report.html
    if not (isinstance(renderer, dict) and all(isinstance(v, str) for v in renderer.values())):
        return "malformed (report_renderer)"
    stamps = doc.get("timestamps", [])  # format 1.2: RFC 3161 tokens over the checkpoint
    if not (isinstance(stamps, list) and all(
            isinstance(t, dict) and _TIMESTAMP_MEMBER.fullmatch(str(t.get("token")))
            and str(t.get("token")).endswith(".tst") and isinstance(t.get("tsa_url"), str)
            and _TIMESTAMP_MEMBER.fullmatch(str(t.get("chain")))
            and isinstance(t.get("gen_time"), str) for t in stamps)):
        return "malformed (timestamps)"
    return None


def check_members(bundle: Bundle, manifest: Mapping[str, Any]) -> list[str]:
    """Every listed member present with its size and SHA-256; none unlisted."""
    problems, listed = [], set()
    for f in manifest["files"]:
        listed.add(f["path"])
        found = bundle.size_and_digest(f["path"])
        if found is None:
            problems.append(f"{f['path']}: missing")
        elif found[0] != f["size"]:
            problems.append(f"{f['path']}: size differs from the manifest")
        elif found[1] != f["sha256"]:
            problems.append(f"{f['path']}: SHA-256 differs from the manifest")
    problems += [f"{p}: not listed in the manifest" for p in bundle.paths()
                 if p not in listed and p not in UNSIGNED]
    return problems


# --- Step 7: replaying the case ---------------------------------------------------------------
# Event types (the pinned topics of ledger/aggregates) and the states each may follow; None is
# "before the stream's first event". Types absent from FOLLOWS may follow any state.
DEPARTURE_EVENTS = (
    "DepartureStarted", "DepartureRequested", "DepartureSubmittedForApproval",
    "DepartureStepApproved", "DepartureStepRejected", "DepartureWithdrawn",
    "DepartureHandedOver", "DepartureSuccessorNamed", "DepartureRequestAccepted",
    "DepartureRequestDeclined", "DepartureLastWorkingDayChanged", "DepartureLeft",
    "DepartureContractTerminated", "DepartureAccessFrozen", "DepartureTemplateApplied",
    "DepartureChecklistSkipped",
    "DepartureItemAdded", "DepartureReminderSent", "DepartureClosed",
    "DepartureConfirmationSigned", "DepartureConfirmationSignatureExcused",
    "DepartureLegalHoldPlaced", "DepartureEvidenceExported")
ITEM_EVENTS = (
    "ItemCreated", "ItemSubmitted", "ItemEvidenceUploaded", "ItemConfirmed", "ItemRejected",
    "ItemSignedOff", "ItemWaived", "ItemReassigned", "ItemSignerReplaced", "ItemDueDateChanged",
    "ItemCommented", "ItemExternalEvidenceRecorded", "ItemRequirementsLinked",
    "ItemConfirmationEscalated", "ItemQuestionAsked", "ItemQuestionAnswered")
_LIVE = ("draft", "pending_approval", "approved", "handing_over", "closed", "requested")
_NOT_DONE = ("open", "submitted", "rejected")
FOLLOWS: dict[str, tuple[str | None, ...]] = {
    "DepartureStarted": (None,), "DepartureRequested": (None,),
    "DepartureSubmittedForApproval": ("draft",),
    "DepartureStepApproved": ("pending_approval",), "DepartureStepRejected": ("pending_approval",),
    "DepartureWithdrawn": ("draft", "pending_approval", "approved", "handing_over", "requested"),
    "DepartureHandedOver": ("draft", "pending_approval", "approved", "handing_over"),
    "DepartureRequestAccepted": ("requested",), "DepartureRequestDeclined": ("requested",),
    "DepartureTemplateApplied": ("pending_approval", "approved", "handing_over"),
    "DepartureItemAdded": ("approved", "handing_over"),
    "DepartureChecklistSkipped": ("approved", "handing_over"),
    "DepartureReminderSent": ("approved", "handing_over"),
    "DepartureClosed": ("handing_over",),
    "DepartureConfirmationSigned": ("handing_over",),
    "DepartureConfirmationSignatureExcused": ("handing_over",),
    "ItemCreated": (None,), "ItemSubmitted": ("open", "rejected"),
    "ItemConfirmed": ("submitted", "open", "rejected"), "ItemRejected": ("submitted",),
    "ItemSignedOff": ("submitted",), "ItemWaived": _NOT_DONE, "ItemEvidenceUploaded": _NOT_DONE,
    "ItemReassigned": _NOT_DONE, "ItemSignerReplaced": _NOT_DONE,
    "ItemDueDateChanged": _NOT_DONE,
}
_ANY: tuple[str | None, ...] = (*_LIVE, "withdrawn", "declined", "open", "submitted",
                                "rejected", "confirmed", "waived")


def may_follow(event_type: str, state: str | None, payload: Mapping[str, Any]) -> bool:
    """Whether an event of ``event_type`` may follow ``state`` (None: the stream's start)."""
    if event_type == "ItemConfirmed" and state != "submitted":
        return payload.get("direct") is True and state in ("open", "rejected")
    return state in FOLLOWS.get(event_type, _ANY)


@dataclass
class Replayed:
    """What replaying a case gives: the departure's state and each item's."""

    departure: str | None
    items: dict[str, str | None]
    problems: list[str]


def _departure_step(e: Entry, state: str | None, facts: dict[str, Any]) -> str | None:
    p, chain = e.payload, facts.get("chain", 0)
    approved = "handing_over" if facts.get("items") else "approved"
    if e.event_type in ("DepartureStarted", "DepartureRequestAccepted"):
        facts["chain"] = len(p.get("approval_chain") or [])
        if e.event_type == "DepartureStarted":
            return "draft"
        return "pending_approval" if facts["chain"] else approved
    if e.event_type == "DepartureSubmittedForApproval":
        return "pending_approval" if chain else approved
    if e.event_type == "DepartureStepApproved":
        step = p.get("step")
        return approved if isinstance(step, int) and step + 1 == chain else state
    if e.event_type in ("DepartureTemplateApplied", "DepartureItemAdded"):
        facts["items"] = facts.get("items") or bool(p.get("item_ids", [p.get("item_id")]))
        return state if state == "pending_approval" else "handing_over"
    return {"DepartureRequested": "requested", "DepartureStepRejected": "draft",
            "DepartureWithdrawn": "withdrawn", "DepartureRequestDeclined": "declined",
            "DepartureClosed": "closed"}.get(e.event_type, state)


_ITEM_STATES = {"ItemCreated": "open", "ItemSubmitted": "submitted", "ItemConfirmed": "confirmed",
                "ItemRejected": "rejected", "ItemWaived": "waived"}


def replay_case(departure: Sequence[Entry], items: Mapping[str, Sequence[Entry]]) -> Replayed:
    """Walk each stream's events through the states they may follow (a simplified replay of
    ledger/aggregates: the departure and its items, not the rules that needed other data)."""
    problems: list[str] = []
    state: str | None = None
    facts: dict[str, Any] = {}
    for e in departure:
        if e.event_type not in DEPARTURE_EVENTS or not may_follow(e.event_type, state, e.payload):
            problems.append(f"{e.path}: {e.event_type} cannot follow the state {state or 'none'}")
        state = _departure_step(e, state, facts)
    item_states: dict[str, str | None] = {}
    for item_id, entries in items.items():
        item: str | None = None
        for e in entries:
            if e.event_type not in ITEM_EVENTS or not may_follow(e.event_type, item, e.payload):
                problems.append(
                    f"{e.path}: {e.event_type} cannot follow the state {item or 'none'}")
            item = _ITEM_STATES.get(e.event_type, item)
        item_states[item_id] = item
    return Replayed(state, item_states, problems)


# --- Steps 2 to 9 ---------------------------------------------------------------------------
class Primitives:
    """The parsing and cryptography the steps rely on, here from the standard library alone.

    ``ledger verify-bundle`` runs the same steps over its own code (``cryptography``, the
    ledger's entry decoder, Merkle proofs and aggregates), so both give the same messages.
    """

    def parse_key(self, text: str) -> Any:
        return parse_verifier_key(text)

    def manifest(self, raw: bytes) -> Any:
        return parse_canonical(raw)

    def open_note(self, note: bytes, key: Any) -> tuple[str, str]:
        """The note's text and the name of the key that signed it; NoteError otherwise."""
        return open_note(note, key), key.name

    def checkpoint(self, text: str) -> tuple[str, int, str]:
        return parse_checkpoint(text)

    def parse_witness_key(self, text: str) -> WitnessKey:
        return parse_witness_key(text)

    def cosigned(self, key: WitnessKey, body: str, timestamp: int, signature: bytes) -> bool:
        return cosignature_valid(key, body, timestamp, signature)

    def entry(self, path: str, raw: bytes) -> Entry:
        return decode_entry(path, raw)

    def tlog_proof(self, data: bytes) -> tuple[int, list[bytes], bytes]:
        return parse_tlog_proof(data)

    def included(self, index: int, size: int, entry_hash: bytes, proof: Sequence[bytes],
                 root: bytes) -> bool:
        return verify_inclusion(index, size, leaf_hash(entry_hash), proof, root)

    def replay(self, departure: Sequence[Entry], items: Mapping[str, Sequence[Entry]]
               ) -> Replayed:
        return replay_case(departure, items)

    def report_checks(self, bundle: Bundle, manifest: Mapping[str, Any]) -> list[Check]:
        return [Check("note", "report.html re-rendered and report.pdf's manifest.json: not "
                              "checked by verify.py; `ledger verify-bundle` checks them")]

    def timestamp(self, token: bytes, chain: bytes | None, checkpoint: bytes,
                  record: Mapping[str, Any]) -> Check:
        """One token's check: here its message imprint and time only (DER read by hand)."""
        problem = token_problem(token, checkpoint, record)
        if problem is not None:
            return Check("FAIL", f"{record['token']}: {problem}")
        return Check("ok", f"{record['token']}: {recorded_by(record)} (its message imprint "
                           "and time checked)")

    def now(self) -> datetime.datetime:
        """The verifier's clock (a token dated later than it is refused)."""
        return datetime.datetime.now(datetime.UTC)

    def no_timestamp_note(self) -> Check | None:
        """What to say of a bundle without RFC 3161 tokens (nothing: they are optional)."""
        return None

    def timestamp_note(self) -> Check | None:
        return Check("note", "timestamps: verify.py checked each token's message imprint and "
                             "time, NOT the authority's signature or certificate chain; "
                             "`ledger verify-bundle --key <vkey> [--tsa-ca <CA file>] BUNDLE` "
                             "checks them")


@dataclass
class Verdict:
    """Every check made, in order, with the bundle and manifest they were made on."""

    checks: list[Check]
    bundle: Bundle
    manifest: dict[str, Any]
    entries: dict[str, Entry] = field(default_factory=dict)
    checkpoint_text: str = ""  # the checkpoint's note text, once step 4 verified it

    @property
    def failures(self) -> list[str]:
        return [c.text for c in self.checks if c.status == "FAIL"]

    def step(self, problems: Iterable[str], ok: str) -> bool:
        failed = [Check("FAIL", p) for p in problems]
        self.checks += failed or [Check("ok", ok)]
        return not failed


def inspect_bundle(path: Path, key_text: str, prim: Primitives | None = None, *,
                   max_total: int = MAX_TOTAL, max_ratio: int | None = None,
                   witnesses: Sequence[str] = (), required: int | None = None) -> Verdict:
    """Run steps 1 to 9 on the bundle at ``path`` with the trusted key ``key_text`` (a ZIP
    unzipping to at most ``max_total`` bytes, each member at most ``max_ratio`` times its
    compressed size when given). With ``witnesses`` (witness key strings), step 4 also needs
    ``required`` of them (default: all) to have cosigned the checkpoint.

    Raises ValueError for a key that is not a verifier key string, or a witness policy that
    cannot be met (a usage error).
    """
    prim = prim or Primitives()
    key = prim.parse_key(key_text)
    witness_keys = [prim.parse_witness_key(w) for w in witnesses]
    need = len(witness_keys) if required is None else required
    if len({(k.name, k.key_id) for k in witness_keys}) != len(witness_keys):
        raise ValueError("a witness key is given more than once")
    if (witness_keys or required is not None) and not 1 <= need <= len(witness_keys):
        raise ValueError(f"cannot require {need} of {len(witness_keys)} witness keys (at "
                         "least 1 and at most the number of keys)")
    bundle, problems = read_bundle(path, max_total, max_ratio)
    v = Verdict([], bundle, {})
    for rel in bundle.ignored:
        v.checks.append(Check("note", f"{rel}: a file manager's own file, not checked"))
    try:
        if not v.step(problems, f"container: {len(bundle.paths())} members, safe paths, "
                                "mimetype holds the media type"):
            raise Stop
        _check_manifest(v, prim)
        _check_signature(v, prim, key)
        _check_checkpoint(v, prim, key)
    except Stop:
        return v
    _check_cosignatures(v, prim, witness_keys, need)
    _check_entries(v, prim)
    _check_proofs(v, prim)
    _check_case(v, prim)
    _check_attachments(v)
    _check_report(v, prim)
    _check_timestamps(v, prim)
    return v


def verify_bundle(path: Path, key_text: str, prim: Primitives | None = None, *,
                  witnesses: Sequence[str] = (), required: int | None = None) -> list[Check]:
    """The checks of ``inspect_bundle``, in order (what both verifiers print)."""
    return inspect_bundle(path, key_text, prim, witnesses=witnesses, required=required).checks


def _check_manifest(v: Verdict, prim: Primitives) -> None:
    name, raw = "META-INF/manifest.json", v.bundle.files.get("META-INF/manifest.json")
    if raw is None:
        v.step([f"{name}: missing"], "")
        raise Stop
    try:
        doc = prim.manifest(raw)
    except (ValueError, RecursionError):
        v.step([f"{name}: not canonical JSON"], "")
        raise Stop from None
    problem = manifest_problem(doc)
    if problem is not None:
        v.step([f"{name}: {problem}"], "")
        raise Stop
    v.manifest = doc
    if not v.step(check_members(v.bundle, doc), f"manifest: bundle_format 1, {len(doc['files'])} "
                  "files listed with their sizes and SHA-256, none unlisted"):
        raise Stop


def _check_signature(v: Verdict, prim: Primitives, key: Any) -> None:
    name, note = "META-INF/signature", v.bundle.files.get("META-INF/signature")
    manifest = v.bundle.files["META-INF/manifest.json"]
    if note is None:
        v.step([f"{name}: missing"], "")
        raise Stop
    try:
        text, signer = prim.open_note(note, key)
    except NoteError:
        v.step([f"{name}: not signed by the given key"], "")
        raise Stop from None
    want = (f"{SIGNATURE_HEADER}\n{v.manifest['departure_id']}\n"
            f"{hashlib.sha256(manifest).hexdigest()}\n")
    if not v.step([] if text == want else [f"{name}: does not name this departure and manifest"],
                  f"signature: {signer} signed this manifest of departure "
                  f"{v.manifest['departure_id']}"):
        raise Stop


def _check_checkpoint(v: Verdict, prim: Primitives, key: Any) -> None:
    note, want = v.bundle.files.get("checkpoint"), v.manifest["checkpoint"]
    if note is None:
        v.step(["checkpoint: missing"], "")
        raise Stop
    try:
        text, signer = prim.open_note(note, key)
        origin, size, root = prim.checkpoint(text)
        if origin != signer:  # tlog-checkpoint: the log's own key is named after its origin
            raise NoteError("unsigned")
    except NoteError as e:
        v.step([f"checkpoint: {'malformed' if e.kind == 'malformed' else _UNSIGNED}"], "")
        raise Stop from None
    except ValueError:
        v.step(["checkpoint: malformed"], "")
        raise Stop from None
    v.checkpoint_text = text
    same = (origin, size, root) == (want["origin"], want["size"], want["root"])
    if not v.step([] if same else ["checkpoint: differs from the manifest"],
                  f"checkpoint: {origin} at size {size}, signed by {signer}"):
        raise Stop


_UNSIGNED = "not signed by the given key"


def _cosignature_lines(v: Verdict) -> list[tuple[str, str]]:
    """(member, line) of every signature line on the checkpoint and in META-INF/cosignatures."""
    note = v.bundle.files["checkpoint"]
    found = [("checkpoint", line) for line in note[note.rfind(b"\n\n") + 2:].decode().splitlines()]
    extra = v.bundle.files.get(COSIGNATURES, b"").decode("utf-8", "replace")
    return found + [(COSIGNATURES, line) for line in extra.splitlines() if line]


def _check_cosignatures(v: Verdict, prim: Primitives, keys: Sequence[WitnessKey],
                        need: int) -> None:
    """Step 4, witnesses: which of ``keys`` cosigned the checkpoint (C2SP tlog-cosignature);
    at least ``need`` must, and a cosignature by one of them that does not verify fails."""
    lines = _cosignature_lines(v)
    if not keys:
        theirs = sum(1 for member, _ in lines if member == COSIGNATURES)
        if theirs:
            v.checks.append(Check("note", f"{COSIGNATURES}: {theirs} witness cosignature(s), "
                                          "not checked: pass --witness keys to check them"))
        return
    known = {(k.name, k.key_id): k for k in keys}
    held: dict[tuple[str, bytes], int] = {}  # (name, key ID) → the cosignature's time
    failed: set[tuple[str, bytes]] = set()  # one failure per key is the verdict: checking
    problems = []  # each of thousands of forged lines would only cost the reader minutes
    for member, line in lines:
        name, _, encoded = line.removeprefix("— ").partition(" ")
        raw = _b64(encoded)
        if not line.startswith("— ") or raw is None or len(raw) < 4:
            problems.append(f"{member}: malformed signature line")
            continue
        key = known.get((name, raw[:4]))
        if key is None or (name, raw[:4]) in held or (name, raw[:4]) in failed:
            continue
        timestamp = int.from_bytes(raw[4:12], "big")
        if len(raw) != 76 or timestamp >= 1 << 63 or not prim.cosigned(
                key, v.checkpoint_text, timestamp, raw[12:]):
            problems.append(f"{member}: the cosignature by witness {name} does not verify")
            failed.add((name, raw[:4]))
            continue
        held[name, raw[:4]] = timestamp
    missing = [k.name for k in keys if (k.name, k.key_id) not in held]
    if not problems and len(held) < need:
        problems.append(f"witnesses: {len(held)} of the {len(keys)} given witnesses cosigned "
                        f"the checkpoint, {need} required; missing: {', '.join(missing)}")
    said = ", ".join(f"{n} at {_utc(t)}" for (n, _), t in held.items()) or "none"
    v.step(problems, f"witnesses: {len(held)} of {len(keys)} cosigned the checkpoint "
                     f"({need} required): {said}" + (f"; not: {', '.join(missing)}"
                                                     if missing else ""))


def _utc(timestamp: int) -> str:
    try:
        return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"POSIX time {timestamp}"


def _streams(entries: Iterable[Entry]) -> dict[tuple[str, str], dict[int, Entry]]:
    streams: dict[tuple[str, str], dict[int, Entry]] = {}
    for e in entries:
        streams.setdefault((e.stream_type, e.stream_id), {})[e.version] = e
    return streams


def _check_entries(v: Verdict, prim: Primitives) -> None:
    problems = []
    for path in sorted(p for p in v.bundle.files if p.startswith("entries/")):
        try:
            e = prim.entry(path, v.bundle.files[path])
        except (ValueError, RecursionError) as x:
            problems.append(f"{path}: not a canonical entry ({x})")
            continue
        if path != f"entries/{e.stream_type}/{e.stream_id}/{e.version:06d}.json":
            problems.append(f"{path}: stream or version differs from its path")
            continue
        v.entries[path] = e
    streams, listed = _streams(v.entries.values()), {
        (s["type"], s["id"]): s for s in v.manifest["streams"]}
    for key in sorted({*streams, *listed}, key=lambda k: (STREAM_ORDER.index(k[0]), k[1])):
        name, present = f"entries/{key[0]}/{key[1]}", streams.get(key, {})
        if key not in listed:
            problems.append(f"{name}: stream not listed in the manifest")
            continue
        versions, head = listed[key]["versions"], listed[key]["head"]
        for n in range(1, max(versions, max(present, default=0)) + 1):
            if n not in present:
                problems.append(f"{name}: version {n} is missing")
            elif n > 1 and n - 1 in present and present[n].prev != present[n - 1].hash:
                problems.append(f"{present[n].path}: prev is not the hash of the previous version")
        if (versions in present and present[versions].hash != head) or max(
                present, default=0) > versions:
            problems.append(f"{name}: head differs from the manifest")
    v.step(problems, f"entries: {len(v.entries)} entries in {len(streams)} streams, canonical, "
                     "chained from version 1 to the manifest's heads")


def _proof_checkpoint_ok(signed: bytes, checkpoint: bytes, cosignatures: bytes) -> bool:
    """Whether a proof's signed checkpoint is the bundle's, alone or followed by witness
    cosignature lines the bundle carries in META-INF/cosignatures (C2SP tlog-proof: a proof's
    checkpoint may include cosignatures, so that a proof read alone can meet a witness
    policy); those lines are checked in step 4, with the policy given."""
    if not signed.startswith(checkpoint):
        return False
    extra = signed[len(checkpoint):]
    known = set(cosignatures.split(b"\n")) - {b""}
    return extra == b"" or (extra.endswith(b"\n") and all(
        line in known for line in extra[:-1].split(b"\n")))


def _check_proofs(v: Verdict, prim: Primitives) -> None:
    problems, checkpoint = [], v.bundle.files["checkpoint"]
    cosignatures = v.bundle.files.get(COSIGNATURES, b"")
    size = v.manifest["checkpoint"]["size"]
    root = base64.b64decode(v.manifest["checkpoint"]["root"])
    for path, e in sorted(v.entries.items()):
        proof_path = f"proofs/{path[len('entries/'):-len('.json')]}.tlog-proof"
        data = v.bundle.files.get(proof_path)
        if data is None:
            problems.append(f"{proof_path}: missing")
            continue
        try:
            index, hashes, signed = prim.tlog_proof(data)
        except ValueError:
            problems.append(f"{proof_path}: malformed")
            continue
        if not _proof_checkpoint_ok(signed, checkpoint, cosignatures):
            problems.append(f"{proof_path}: checkpoint differs from the bundle's")
        elif not prim.included(index, size, bytes.fromhex(e.hash), hashes, root):
            problems.append(f"{proof_path}: inclusion proof does not verify")
    v.step(problems, f"proofs: {len(v.entries)} inclusion proofs verify against the checkpoint "
                     "(RFC 9162 section 2.1.3.2)")



def _named(departure: Sequence[Entry]) -> tuple[list[str], list[tuple[str, int]], list[str]]:
    """The item ids, applied template revisions and dispute ids a departure's events name."""
    items: list[str] = []
    templates: list[tuple[str, int]] = []
    disputes: list[str] = []
    for e in departure:
        p = e.payload
        if e.event_type == "DepartureTemplateApplied":
            items += [str(i) for i in p.get("item_ids") or [] if isinstance(i, str)]
            template = p.get("template", {})
            revision = template.get("revision") if isinstance(template, dict) else None
            templates.append((str(template.get("id")) if isinstance(template, dict) else "",
                              revision if isinstance(revision, int) else 1))
        elif e.event_type == "DepartureItemAdded":
            items.append(str(p.get("item_id")))
        elif e.event_type == "DepartureLegalHoldPlaced":
            disputes.append(str(p.get("dispute_id")))
    return list(dict.fromkeys(items)), templates, list(dict.fromkeys(disputes))


def _check_case(v: Verdict, prim: Primitives) -> None:
    streams, departure_id = _streams(v.entries.values()), v.manifest["departure_id"]

    def stream(kind: str, sid: str) -> list[Entry]:
        # The run of versions from 1 without a gap: a replay cannot skip an event.
        versions, run = streams.get((kind, sid), {}), list[Entry]()
        while len(run) + 1 in versions:
            run.append(versions[len(run) + 1])
        return run

    departure = stream("departure", departure_id)
    items, templates, disputes = _named(departure)
    problems = []
    for item_id in items:
        if not stream("item", item_id):
            problems.append(f"entries/item/{item_id}: item of the departure is missing")
    for kind, sid in sorted(streams):
        first = streams[(kind, sid)].get(1)
        if kind == "item" and first and first.payload.get("departure_id") != departure_id:
            problems.append(f"entries/item/{sid}: belongs to another departure")
    for template_id, revision in templates:
        if any(n not in streams.get(("template", template_id), {})
               for n in range(1, revision + 1)):
            problems.append(f"entries/template/{template_id}: applied template revision "
                            f"{revision} is missing")
    problems += [f"entries/dispute/{d}: dispute is missing" for d in disputes
                 if not stream("dispute", d)]
    replayed = prim.replay(departure, {i: stream("item", i) for i in items if stream("item", i)})
    problems += replayed.problems
    state = replayed.departure
    if v.manifest["status"] == "final" and state not in ("closed", "withdrawn"):
        problems.append(f"META-INF/manifest.json: final, but the departure is {state or 'none'}")
    states = list(replayed.items.values())
    counts = (len(items), states.count("confirmed"), states.count("waived"))
    for e in departure:
        if e.event_type == "DepartureClosed":
            said = tuple(e.payload.get(k) for k in ("items_total", "confirmed", "waived"))
            if said != counts:
                problems.append(f"{e.path}: close counts differ from the items (the close says "
                                f"items {said[0]}, confirmed {said[1]}, waived {said[2]}; the "
                                f"items replay to {counts[0]}, {counts[1]}, {counts[2]})")
    v.step(problems, f"case: departure {state}, {counts[0]} items ({counts[1]} confirmed, "
                     f"{counts[2]} waived), {len(templates)} template revision(s), "
                     f"{len(disputes)} dispute(s)")


def _strings(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _check_attachments(v: Verdict) -> None:
    names = [p for p in v.bundle.paths() if p.startswith("files/")]
    cited = {s for e in v.entries.values() for s in _strings(e.payload)}
    problems = []
    for path in names:
        digest = v.bundle.attachments[path][1]
        if digest != path[len("files/"):]:
            problems.append(f"{path}: SHA-256 differs from its name")
        elif digest not in cited:
            problems.append(f"{path}: no entry cites it")
    v.step(problems, f"attachments: {len(names)} files, each named by its SHA-256 and cited by "
                     "an entry" if names else "attachments: none in this bundle")


# --- Step 10: RFC 3161 timestamps over the checkpoint (format 1.2) -------------------------
# A minimal DER reader (X.690 section 8.1: tag, definite length, contents), enough to find in a
# TimeStampToken (RFC 3161 section 2.4.2, a CMS SignedData, RFC 5652 section 5) the TSTInfo's
# message imprint and genTime. It checks no signature: `ledger verify-bundle` does.
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_TST_INFO = "1.2.840.113549.1.9.16.1.4"
OID_SHA256 = "2.16.840.1.101.3.4.2.1"


def _der(data: bytes, at: int, end: int) -> tuple[int, int, int]:
    """(tag, first content byte, end of contents) of the element at ``at``, within ``end``."""
    if at + 2 > end or data[at] & 0x1F == 0x1F:
        raise ValueError("truncated or multi-byte tag")
    tag, first, at = data[at], data[at + 1], at + 2
    if first & 0x80:
        count = first & 0x7F
        if not 1 <= count <= 4 or at + count > end:
            raise ValueError("bad length")
        first, at = int.from_bytes(data[at:at + count], "big"), at + count
    if at + first > end:
        raise ValueError("truncated")
    return tag, at, at + first


def _inside(data: bytes, start: int, end: int, *tags: int) -> list[tuple[int, int, int]]:
    """The elements from ``start`` to ``end``; their first tags must be ``tags``."""
    found, at = [], start
    while at < end:
        element = _der(data, at, end)
        found.append(element)
        at = element[2]
    if len(found) < len(tags) or any(f[0] != t for f, t in zip(found, tags, strict=False)):
        raise ValueError("unexpected structure")
    return found


def _oid(raw: bytes) -> str:
    parts, value = [], 0
    for byte in raw:
        value = value << 7 | byte & 0x7F
        if not byte & 0x80:
            parts.append(value)
            value = 0
    if not parts:
        raise ValueError("empty OID")
    first = min(parts[0] // 40, 2)
    return ".".join(str(p) for p in [first, parts[0] - 40 * first, *parts[1:]])


def read_tst_info(token: bytes) -> tuple[str, bytes, str]:
    """(imprint algorithm OID, imprint, genTime as RFC 3339 UTC) of a DER TimeStampToken;
    ValueError when it is not one."""
    [(_, s, e)] = _inside(token, 0, len(token), 0x30)
    oid, content = _inside(token, s, e, 0x06, 0xA0)[:2]
    if _oid(token[oid[1]:oid[2]]) != OID_SIGNED_DATA:
        raise ValueError("not CMS SignedData")
    [(_, s, e)] = _inside(token, content[1], content[2], 0x30)
    encap = _inside(token, s, e, 0x02, 0x31, 0x30)[2]
    kind, explicit = _inside(token, encap[1], encap[2], 0x06, 0xA0)[:2]
    if _oid(token[kind[1]:kind[2]]) != OID_TST_INFO:
        raise ValueError("not a TSTInfo")
    [(_, s, e)] = _inside(token, explicit[1], explicit[2], 0x04)
    [(_, s, e)] = _inside(token, s, e, 0x30)
    fields = _inside(token, s, e, 0x02, 0x06, 0x30, 0x02, 0x18)
    algorithm, digest = _inside(token, fields[2][1], fields[2][2], 0x30, 0x04)[:2]
    algorithm_oid = _inside(token, algorithm[1], algorithm[2], 0x06)[0]
    when = token[fields[4][1]:fields[4][2]].decode("ascii")
    m = re.fullmatch(r"(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\.\d+)?Z", when)
    if m is None:
        raise ValueError("genTime")
    fraction = (m.group(7) or "").rstrip("0").rstrip(".")
    return (_oid(token[algorithm_oid[1]:algorithm_oid[2]]), token[digest[1]:digest[2]],
            "{}-{}-{}T{}:{}:{}".format(*m.groups()[:6]) + fraction + "Z")


def token_problem(token: bytes, checkpoint: bytes, record: Mapping[str, Any]) -> str | None:
    """What is wrong with a token's message imprint or time, or None."""
    try:
        algorithm, imprint, when = read_tst_info(token)
    except (ValueError, UnicodeDecodeError):
        return "malformed"
    if algorithm != OID_SHA256 or imprint != hashlib.sha256(checkpoint).digest():
        return "message imprint is not the checkpoint's"
    if when != record["gen_time"]:
        return "time differs from the manifest"
    return None


def recorded_by(record: Mapping[str, Any]) -> str:
    """The sentence a verified token earns."""
    return (f"the checkpoint, and so every event of this bundle, was recorded no later than "
            f"{record['gen_time']}, by TSA {record['tsa_url']}")


# A token's time may lie this far before the newest entry it covers was recorded, or after
# the verifier's clock: the clocks of the ledger, its database and the authority may disagree
# by this much (the ledger's stamper refuses tokens by the same bound, ledger.timestamp.stamper).
GEN_TIME_SKEW = datetime.timedelta(minutes=5)


def gen_time_problem(gen_time: str, recorded: Iterable[str], now: datetime.datetime
                     ) -> str | None:
    """Why a token dated ``gen_time`` (RFC 3339) cannot be over a checkpoint covering entries
    recorded at ``recorded`` when read at ``now``, or None. The checkpoint includes every
    entry of the bundle (step 6), so it cannot have been signed before the newest was
    recorded; and no token is dated after its reading."""
    when = datetime.datetime.fromisoformat(gen_time.replace("Z", "+00:00"))
    newest = max(recorded, default=None)
    if newest is not None and when < datetime.datetime.fromisoformat(
            newest.replace("Z", "+00:00")) - GEN_TIME_SKEW:
        return (f"its time {gen_time} is before an entry it covers was recorded ({newest}): "
                "the authority's clock (or the ledger's) was wrong; it dates nothing")
    if when > now + GEN_TIME_SKEW:
        return (f"its time {gen_time} is in the future (this computer's clock says "
                f"{now.isoformat(timespec='seconds')}): the authority's clock (or this "
                "computer's) is wrong; it dates nothing")
    return None


def _recorded_at(entry: Entry) -> str | None:
    try:
        value = json.loads(entry.raw).get("recorded_at")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _check_timestamps(v: Verdict, prim: Primitives) -> None:
    records = v.manifest.get("timestamps", [])
    recorded = [r for r in map(_recorded_at, v.entries.values()) if r is not None]
    for record in records:
        token = v.bundle.files.get(record["token"])
        if token is None:
            v.checks.append(Check("FAIL", f"{record['token']}: missing"))
            continue
        check = prim.timestamp(token, v.bundle.files.get(record["chain"]),
                               v.bundle.files["checkpoint"], record)
        wrong = None if check.status == "FAIL" else gen_time_problem(
            record["gen_time"], recorded, prim.now())
        v.checks.append(check if wrong is None else Check("FAIL", f"{record['token']}: {wrong}"))
    note = prim.timestamp_note() if records else prim.no_timestamp_note()
    if note is not None:
        v.checks.append(note)


def report_source_sha256(files: Mapping[str, bytes]) -> str:
    """SHA-256 of the ``sha256sum`` listing of ``checkpoint`` and every ``entries/`` member."""
    paths = sorted(p for p in files if p == "checkpoint" or p.startswith("entries/"))
    listing = "".join(f"{hashlib.sha256(files[p]).hexdigest()}  {p}\n" for p in paths)
    return hashlib.sha256(listing.encode("ascii")).hexdigest()


def _check_report(v: Verdict, prim: Primitives) -> None:
    html = v.bundle.files.get("report.html", b"")
    meta = re.search(rb'<meta name="ledger-report-source" content="([0-9a-f]{64})"\s*/?>', html)
    want = v.manifest["report_source_sha256"]
    ok = (meta is not None and meta.group(1).decode() == want
          and report_source_sha256(v.bundle.files) == want)
    v.step([] if ok else ["report.html: not produced from these entries"],
           f"report.html: carries the digest of the entries it was rendered from ({want})")
    v.checks += prim.report_checks(v.bundle, v.manifest)


def summary(v: Verdict) -> str:
    """The last line: ``PASS ...`` or ``FAIL: <n> problem(s)``."""
    if v.failures:
        return f"FAIL: {len(v.failures)} problem(s)"
    m = v.manifest
    return (f"PASS: {m['status']} bundle of departure {m['departure_id']}, "
            f"{len(v.entries)} entries in the log {m['checkpoint']['origin']} at size "
            f"{m['checkpoint']['size']}")


def main(argv: Sequence[str] | None = None) -> int:
    """``verify.py --key <vkey> [BUNDLE]``: exit 0 on pass, 1 on a failed check, 2 on misuse."""
    parser = argparse.ArgumentParser(
        prog="verify.py", description="Verify a Handover Ledger evidence bundle offline.")
    parser.add_argument("--key", required=True,
                        help="the log's verifier key string, or a .vkey file holding it")
    parser.add_argument("--witness", action="append", default=[], metavar="KEY",
                        help="a witness's verifier key (or a file holding it): check its "
                        "cosignature on the checkpoint; repeat for several")
    parser.add_argument("--witnesses-required", type=int, metavar="K",
                        help="how many of the --witness keys must have cosigned (default: all)")
    parser.add_argument("bundle", nargs="?", default=str(Path(__file__).resolve().parent),
                        help="the bundle ZIP, or the folder it was unzipped into")
    args = parser.parse_args(argv)
    key_text = args.key
    if "+" not in key_text:  # not a key string: the name of a file holding one (a .vkey)
        try:
            key_text = Path(key_text).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            print(f"verify.py: --key: {args.key}: not a verifier key string, and not a "
                  f"readable file holding one ({e.strerror if isinstance(e, OSError) else e})",
                  file=sys.stderr)
            return 2
    if not Path(args.bundle).exists():
        print(f"verify.py: {args.bundle}: no such file or folder", file=sys.stderr)
        return 2
    witnesses = []
    for text in args.witness:
        if "+" not in text:
            try:
                text = Path(text).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                print(f"verify.py: --witness: {text}: not a key, nor a file holding one",
                      file=sys.stderr)
                return 2
        witnesses.append(text)
    try:
        verdict = inspect_bundle(Path(args.bundle), key_text, witnesses=witnesses,
                                 required=args.witnesses_required)
    except ValueError as e:
        print(f"verify.py: --key/--witness: {e}", file=sys.stderr)
        return 2
    for check in verdict.checks:
        print(check.line())
    print(summary(verdict))
    return 1 if verdict.failures else 0


if __name__ == "__main__":
    sys.exit(main())
