"""Coverage-guided fuzz targets (atheris, libFuzzer) for what the ledger parses from outside.

    python -m tests.fuzz.targets TARGET SEED_FOLDER [libFuzzer flags, e.g. -runs=2000]

Each target feeds fuzz bytes to a real parser and holds one property: only the documented
errors escape (the ledger's error tree, ``ledger.errors.LedgerError``, where the function
documents it; for the bundle verifiers, whose contract is a verdict, nothing at all). Any
other exception is a crash that libFuzzer reports (exit 1, the input saved as ``crash-*``);
a hang past ``-timeout`` and memory past ``-rss_limit_mb`` are reported likewise.

Targets: ``entry`` (ledger.entry.decode_entry, strict), ``tile`` (tile paths and entry
bundles, a hash read from a tile), ``proof`` (tlog-proof text, parsed and verified),
``note`` (signed notes and checkpoints), ``bundle`` (a ZIP given to both bundle verifiers:
verify.py's own and ``ledger verify-bundle``'s), ``multipart`` (an upload's multipart body
through api/file_transfer.py's ``file_part`` and ``store_part`` into a real blob store).
``tests/fuzz/seeds.py`` writes each target's seeds from real, valid inputs; ``KEY`` in the
seed folder is the verifier key the ``bundle`` and ``proof``/``note`` targets trust.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import atheris

# Only the parsers are instrumented (instrumenting all the ledger's imports costs minutes).
with atheris.instrument_imports(include=["ledger.entry", "ledger.canonical", "ledger.tlog",
                                        "ledger.bundle.verify", "ledger.bundle.verifier",
                                        "api.file_transfer", "aiohttp.multipart"]):
    from aiohttp import streams, web
    from aiohttp.test_utils import make_mocked_request

    from api.file_transfer import file_part, store_part
    from ledger.bundle import verifier as ledger_verifier
    from ledger.bundle import verify as bundle_verify
    from ledger.entry import decode_entry
    from ledger.errors import LedgerError
    from ledger.store.blob_fs import FilesystemBlobStore
    from ledger.tlog.checkpoint import open_checkpoint, parse_checkpoint
    from ledger.tlog.note import open_note, parse_verifier_key
    from ledger.tlog.proof_text import parse_tlog_proof, verify_tlog_proof
    from ledger.tlog.tile import decode_entry_bundle, hash_from_tile, parse_tile_path

ORIGIN = "fuzz.example/log"
BOUNDARY = "fuzzboundary"


class Context:
    """What a target needs besides the bytes: the trusted key, a scratch folder, a loop."""

    def __init__(self, seeds: Path) -> None:
        self.key_text = (seeds / "KEY").read_text().strip() if (seeds / "KEY").exists() else ""
        self.verifiers = [parse_verifier_key(self.key_text)] if self.key_text else []
        self.scratch = Path(tempfile.mkdtemp(prefix="fuzz-"))
        self.blobs = FilesystemBlobStore(self.scratch / "blobs")
        self.loop = asyncio.new_event_loop()
        self.members: list[tuple[str, bytes]] = []
        seed_bundle = seeds / "bundle.zip"
        if seed_bundle.exists():
            with zipfile.ZipFile(seed_bundle) as z:
                self.members = [(i.filename, z.read(i)) for i in z.infolist()]


def entry(ctx: Context, data: bytes) -> None:
    with contextlib.suppress(LedgerError):  # VerificationError, documented
        decode_entry(data, strict=True)


def tile(ctx: Context, data: bytes) -> None:
    """``<tile path> NUL <5-byte stored hash index> <tile or entry bundle bytes>``."""
    path_bytes, _, rest = data.partition(b"\0")
    path = path_bytes.decode("utf-8", "surrogateescape")
    index, body = int.from_bytes(rest[:5], "big"), rest[5:]
    with contextlib.suppress(LedgerError):
        hash_from_tile(parse_tile_path(path), body, index)
    with contextlib.suppress(LedgerError):
        decode_entry_bundle(body)


def proof(ctx: Context, data: bytes) -> None:
    with contextlib.suppress(LedgerError):
        parse_tlog_proof(data)
    with contextlib.suppress(LedgerError):
        verify_tlog_proof(data, bytes(32), ctx.verifiers, ORIGIN)


def note(ctx: Context, data: bytes) -> None:
    with contextlib.suppress(LedgerError):
        open_note(data, ctx.verifiers)
    with contextlib.suppress(LedgerError):
        open_checkpoint(data, ctx.verifiers, ORIGIN)
    with contextlib.suppress(LedgerError):
        parse_checkpoint(data.decode("utf-8", "surrogateescape"))


def bundle(ctx: Context, data: bytes) -> None:
    """A ZIP from the bytes themselves (mode 0), or the seed bundle with one member's bytes
    replaced (mode 1), so that the checks past the container see well-formed ZIPs too."""
    if not data:
        return
    mode, rest = data[0] % 2, data[1:]
    if mode == 1 and ctx.members and rest:
        target, body = rest[0] % len(ctx.members), rest[1:]
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for number, (name, member) in enumerate(ctx.members):
                z.writestr(name, body if number == target else member)
        rest = out.getvalue()
    path = ctx.scratch / "bundle.zip"
    path.write_bytes(rest)
    key = ctx.key_text or "fuzz.example+00000000+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    # Both verifiers: their contract is a verdict, whatever the file (ValueError only for a
    # malformed key, which this one is not).
    bundle_verify.inspect_bundle(path, key)
    ledger_verifier.verify_bundle(path, key, max_ratio=bundle_verify.MAX_RATIO)


def multipart(ctx: Context, data: bytes) -> None:
    """An upload's body as the upload endpoints parse it; only InvalidInputError escapes.
    ``NUL <body>`` is sent as multipart/form-data with boundary BOUNDARY; anything else as
    ``<Content-Type> LF <body>``."""
    if data.startswith(b"\0"):
        content_type, body = f"multipart/form-data; boundary={BOUNDARY}", data[1:]
    else:
        head, _, body = data.partition(b"\n")
        content_type = head[:200].decode("latin-1")
    ctx.loop.run_until_complete(_upload(ctx, content_type, body))


async def _upload(ctx: Context, content_type: str, body: bytes) -> None:
    protocol = _Protocol()
    payload = streams.StreamReader(protocol, 2**16, loop=asyncio.get_running_loop())
    payload.feed_data(body)
    payload.feed_eof()
    try:
        request = make_mocked_request("POST", "/v1/items/x/evidence", payload=payload,
                                      headers={"Content-Type": content_type}, app=web.Application())
    except ValueError:  # a Content-Type header no client could send (a line break in it)
        return
    with contextlib.suppress(LedgerError):  # InvalidInputError: a malformed body, name, type
        await store_part(await file_part(request), ctx.blobs)


class _Protocol:
    """What aiohttp's StreamReader calls on its protocol (flow control), doing nothing: the
    whole body is fed at once."""

    _reading_paused = False

    def pause_reading(self, **_: object) -> None:
        pass

    def resume_reading(self, **_: object) -> None:
        pass


TARGETS: dict[str, Callable[[Context, bytes], None]] = {
    "entry": entry, "tile": tile, "proof": proof, "note": note, "bundle": bundle,
    "multipart": multipart}


def main() -> None:
    name, seeds = sys.argv[1], Path(sys.argv[2])
    ctx, target = Context(seeds), TARGETS[name]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], lambda data: target(ctx, data))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
