"""Filesystem blob store (the default with SQLite): ``<root>/<aa>/<bb>/<sha256>``.

Uploads stream to a temporary file while being hashed, then move into place atomically; a
blob is never overwritten (same content, same name), and a failed upload leaves nothing: the
temporary file is removed whatever stopped it (a full disk is StorageFullError). A process
killed mid-upload (SIGKILL, a crash) leaves its temporary file behind, named after the process
(``tmp/<pid>@<host>@…``): ``sweep_abandoned``, at the next start, removes those of processes on
this host that are gone.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from ledger.errors import StorageFullError, TooLargeError
from ledger.store.blob_port import CHUNK_BYTES, MAX_BLOB_BYTES, NO_SPACE, BlobMissingError

log = logging.getLogger("ledger.blobs")


def _move_into_place(temp: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temp.replace(target)  # atomic; the bytes are the ones ``target`` is named after


def _private_folders(root: Path) -> None:
    """Make the store's folder (and its ``tmp``) reachable by its owner only: the files are
    0600 already, but the folder names are the evidence's SHA-256, which another local user
    must not list either, whatever the umask. A folder made wider earlier is narrowed."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    if root.stat().st_mode & 0o077:
        os.chmod(root, 0o700)
    (root / "tmp").mkdir(mode=0o700, exist_ok=True)


def _flush_to_disk(temp: BinaryIO) -> None:
    temp.flush()
    os.fsync(temp.fileno())


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def _open(path: Path) -> BinaryIO | None:
    try:
        return path.open("rb")
    except FileNotFoundError:
        return None


def _temp_prefix() -> str:
    """An upload's temporary file names its process and host (``@`` is in no host name)."""
    return f"{os.getpid()}@{socket.gethostname()}@"


def _abandoned(name: str, host: str) -> bool:
    """Whether the temporary file ``name`` was left by a process of ``host`` that is gone."""
    parts = name.split("@")
    if len(parts) != 3 or parts[1] != host or not parts[0].isdigit():
        return False  # another host's (a shared folder) or not ours: not ours to judge
    if int(parts[0]) == os.getpid():  # a former process's pid, reused (a container's 1)
        return True
    try:
        os.kill(int(parts[0]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def _sweep(folder: Path) -> int:
    host, removed = socket.gethostname(), 0
    for temp in folder.glob("*@*@*"):
        if _abandoned(temp.name, host):
            temp.unlink(missing_ok=True)
            removed += 1
    return removed


class FilesystemBlobStore:
    """Attachments by SHA-256 in a folder (``ledger.store.blob_port.BlobStore``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        """Where a blob lives (precondition: ``sha256`` is 64 lowercase hex digits)."""
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def put(self, chunks: AsyncIterator[bytes],
                  max_bytes: int = MAX_BLOB_BYTES) -> tuple[str, int]:
        """Store a stream; return (sha256 hex, size). TooLargeError past ``max_bytes``,
        StorageFullError when the disk is full."""
        temp_name: Path | None = None
        try:
            await asyncio.to_thread(_private_folders, self.root)
            fd, temp_text = await asyncio.to_thread(tempfile.mkstemp, dir=self.root / "tmp",
                                                    prefix=_temp_prefix())
            temp_name = Path(temp_text)
            digest, size = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as temp:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLargeError(f"attachment exceeds {max_bytes} bytes")
                    digest.update(chunk)
                    await asyncio.to_thread(temp.write, chunk)
                # The upload event is committed next and says the file exists: make it so.
                await asyncio.to_thread(_flush_to_disk, temp)
            sha256 = digest.hexdigest()
            await asyncio.to_thread(_move_into_place, temp_name, self.path_for(sha256))
            return sha256, size
        except OSError as e:
            if e.errno in NO_SPACE:  # the one OS error this adapter maps: a full disk
                raise StorageFullError() from e
            raise  # any other failure is the server's: a 500 with a logged id
        finally:
            if temp_name is not None:
                await asyncio.to_thread(temp_name.unlink, missing_ok=True)

    async def sweep_abandoned(self) -> int:
        """Remove the temporary files of uploads whose process (on this host) is gone
        (precondition: this process has not begun an upload: its own pid counts as gone)."""
        removed = await asyncio.to_thread(_sweep, self.root / "tmp")
        if removed:
            log.warning("removed %d unfinished upload(s) of processes that ended mid-upload",
                        removed)
        return removed

    async def size_of(self, sha256: str) -> int | None:
        """The stored file's size, or None."""
        return await asyncio.to_thread(_size, self.path_for(sha256))

    async def read(self, sha256: str) -> AsyncIterator[bytes]:
        """The file, chunk by chunk (BlobMissingError when absent)."""
        opened = await asyncio.to_thread(_open, self.path_for(sha256))
        if opened is None:
            raise BlobMissingError(sha256)
        try:
            while chunk := await asyncio.to_thread(opened.read, CHUNK_BYTES):
                yield chunk
        finally:
            opened.close()
