"""Content-addressed attachment store on the filesystem: ``<root>/<aa>/<bb>/<sha256>``.

Uploads stream to a temporary file while being hashed, then move into place atomically; a
blob is never overwritten (same content, same name), and a failed upload leaves nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from ledger.errors import TooLargeError

MAX_BLOB_BYTES = 50 * 1024 * 1024


def _move_into_place(temp: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temp.replace(target)


class BlobStore:
    """Attachments by SHA-256."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        """Where a blob lives (precondition: ``sha256`` is 64 lowercase hex digits)."""
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def put(self, chunks: AsyncIterator[bytes],
                  max_bytes: int = MAX_BLOB_BYTES) -> tuple[str, int]:
        """Store a stream; return (sha256 hex, size). TooLargeError past ``max_bytes``."""
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        fd, temp_text = tempfile.mkstemp(dir=self.root / "tmp")
        temp_name = Path(temp_text)
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as temp:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLargeError(f"attachment exceeds {max_bytes} bytes")
                    digest.update(chunk)
                    await asyncio.to_thread(temp.write, chunk)
            sha256 = digest.hexdigest()
            await asyncio.to_thread(_move_into_place, temp_name, self.path_for(sha256))
            return sha256, size
        finally:
            await asyncio.to_thread(temp_name.unlink, missing_ok=True)

