"""An upload whose process is killed mid-way (SIGKILL) leaves its temporary file in the
filesystem blob store; the next start removes it, and never one of a live process, of
another host, or a stored blob."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import stat
import sys
import time
from pathlib import Path

from ledger.store.blob_fs import FilesystemBlobStore
from tests.support.evidence import chunks_of
from tests.support.fleet import ROOT

# A process that stores a file whose last chunk never comes (a client stalled mid-upload).
_STALLED_UPLOAD = """
import asyncio, sys
from pathlib import Path
from ledger.store.blob_fs import FilesystemBlobStore

async def chunks():
    yield b"the first half of a file"
    await asyncio.sleep(3600)
    yield b"the second half"

asyncio.run(FilesystemBlobStore(Path(sys.argv[1])).put(chunks()))
"""


async def _stalled_upload(root: Path) -> tuple[asyncio.subprocess.Process, Path]:
    """A process part-way through an upload into ``root``, and its temporary file."""
    before = set((root / "tmp").glob("*")) if (root / "tmp").exists() else set()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _STALLED_UPLOAD, str(root), cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if (root / "tmp").exists() and (new := set((root / "tmp").glob("*")) - before):
            return process, new.pop()
        await asyncio.sleep(0.02)
    process.kill()
    raise AssertionError("the upload did not begin")


async def test_an_upload_killed_mid_way_is_swept_at_the_next_start(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = FilesystemBlobStore(root)
    kept, _ = await store.put(chunks_of(b"a whole file"))
    killed, abandoned = await _stalled_upload(root)
    killed.send_signal(signal.SIGKILL)
    await killed.wait()
    live, under_way = await _stalled_upload(root)
    try:
        elsewhere = root / "tmp" / "4242@another-host@abc123"  # a folder shared by hosts
        elsewhere.write_bytes(b"another host's upload under way")
        assert len(list((root / "tmp").glob("*"))) == 3

        assert await FilesystemBlobStore(root).sweep_abandoned() == 1

        assert not abandoned.exists() and abandoned.name.startswith(f"{killed.pid}@")
        assert set((root / "tmp").glob("*")) == {elsewhere, under_way}
        assert hashlib.sha256(b"".join([c async for c in store.read(kept)])).hexdigest() == kept
    finally:
        live.kill()
        await live.wait()


async def test_nothing_is_swept_from_a_store_that_never_had_an_upload(tmp_path: Path) -> None:
    assert await FilesystemBlobStore(tmp_path / "blobs").sweep_abandoned() == 0


async def test_the_store_s_folder_is_its_owner_s_only(tmp_path: Path) -> None:
    """The files are 0600, and the folder too is closed to other local users (the folder
    names are the evidence's SHA-256): made 0700 whatever the umask, a wider one narrowed."""
    old = os.umask(0o022)
    try:
        root = tmp_path / "blobs"
        await FilesystemBlobStore(root).put(chunks_of(b"a leaver's handover notes"))
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
        assert stat.S_IMODE((root / "tmp").stat().st_mode) == 0o700
        wider = tmp_path / "wider"
        wider.mkdir(mode=0o755)
        os.chmod(wider, 0o755)  # noqa: S103 - the wider folder an older release made
        await FilesystemBlobStore(wider).put(chunks_of(b"another file"))
        assert stat.S_IMODE(wider.stat().st_mode) == 0o700
    finally:
        os.umask(old)
