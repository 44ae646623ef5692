"""Seed corpora for tests/fuzz/targets.py, made from real, valid inputs: a real entry, a real
tile and entry bundle, a tlog-proof that verifies against a signed checkpoint, a real
multipart upload, and (given by the caller) a real exported evidence bundle."""

from __future__ import annotations

import datetime as dt
import io
import uuid
import zipfile
from pathlib import Path

from ledger.entry import encode_entry
from ledger.tlog.checkpoint import Checkpoint, format_checkpoint
from ledger.tlog.hashing import hash_children, hash_leaf
from ledger.tlog.note import generate_key, parse_signer_key, sign_note
from ledger.tlog.proof_text import format_tlog_proof
from ledger.tlog.tile import Tile, encode_entry_bundle, tile_path
from tests.fuzz.targets import BOUNDARY, ORIGIN

SKEY, VKEY = generate_key(ORIGIN)


def _entry(version: int, prev: bytes | None) -> tuple[bytes, bytes]:
    return encode_entry(
        event_id=uuid.UUID("0b8f9c2e-3d4a-4f6b-8c1d-2e3f4a5b6c7d"), stream_type="item",
        stream_id=uuid.UUID("1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5"), version=version,
        event_type="ItemSubmitted", recorded_at=dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC),
        actor={"id": "wang.lei", "role": "employee", "name": "王磊"},
        context={"auth": "token", "request_id": "r-1"},
        payload={"note": "交接完成", "evidence": [], "on_behalf": False, "n": 3}, prev=prev)


def _signed_checkpoint(size: int, root: bytes) -> bytes:
    return sign_note(format_checkpoint(Checkpoint(ORIGIN, size, root)),
                     [parse_signer_key(SKEY)])


def write_seeds(folder: Path, target: str, bundle: tuple[bytes, str] | None = None) -> Path:
    """Write ``target``'s seeds (and its trusted ``KEY``) into ``folder``; return it."""
    folder.mkdir(parents=True, exist_ok=True)
    seeds: list[bytes] = []
    key = VKEY
    first, first_hash = _entry(1, None)
    second, second_hash = _entry(2, first_hash)
    leaves = [hash_leaf(bytes(32)), hash_leaf(second_hash)]
    root = hash_children(*leaves)
    if target == "entry":
        seeds = [first, second]
    elif target == "tile":
        hashes = b"".join(leaves)
        seeds = [tile_path(Tile(8, 0, 0, 2)).removeprefix("tile/").encode() + b"\0"
                 + (0).to_bytes(5, "big") + hashes,
                 b"entries/000.p/2\0" + bytes(5) + encode_entry_bundle(
                     [bytes(32), second_hash]),
                 b"1/x001/234\0" + (70000).to_bytes(5, "big") + bytes(32 * 256)]
    elif target == "proof":
        seeds = [format_tlog_proof(0, [leaves[1]], _signed_checkpoint(2, root)),
                 format_tlog_proof(0, [], _signed_checkpoint(1, leaves[0]), extra=b"x")]
    elif target == "note":
        seeds = [_signed_checkpoint(2, root), _signed_checkpoint(0, bytes(32))]
    elif target == "multipart":
        part = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"交接.pdf\"; filename*=UTF-8''%E4%BA%A4.pdf\r\n"
                f"Content-Type: application/pdf\r\n\r\n").encode()
        seeds = [b"\0" + part + b"%PDF-1.7 minutes\r\n--" + BOUNDARY.encode() + b"--\r\n",
                 f"multipart/form-data; boundary=\"{BOUNDARY}\"\n".encode() + part
                 + b"x" * 300 + f"\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; "
                 f"name=\"note\"\r\n\r\nhi\r\n--{BOUNDARY}--\r\n".encode()]
    elif target == "bundle":
        assert bundle is not None, "the bundle target seeds from a real exported bundle"
        data, key = bundle
        (folder / "bundle.zip").write_bytes(data)
        seeds = [b"\0" + data]
        # Mode 1: one member replaced (here by its own bytes), the ZIP rebuilt around it.
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            for number, name in enumerate(names):
                if name in ("META-INF/manifest.json", "META-INF/signature", "checkpoint") or (
                        name.startswith(("entries/departure/", "proofs/departure/"))):
                    seeds.append(b"\x01" + bytes([number]) + archive.read(name))
    else:
        raise ValueError(f"no target {target!r}")
    (folder / "KEY").write_text(key + "\n")
    for number, seed in enumerate(seeds):
        (folder / f"seed-{number}").write_bytes(seed)
    return folder
