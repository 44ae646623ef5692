"""The attachment store port: content-addressed blobs by SHA-256 (DESIGN.md "Storage").

Two adapters pass one contract suite (tests/contract/test_blob_contract.py): the filesystem
(``blob_fs``, the default with SQLite) and PostgreSQL (``postgres_blobs``, the default with
PostgreSQL, so that several API processes see the same files). A blob is named by the SHA-256
of its bytes and never rewritten; only tampering can make its bytes disagree with its name,
which ``stored_digest`` (used by ``ledger verify``) finds.
"""

from __future__ import annotations

import errno
import hashlib
from collections.abc import AsyncIterator
from typing import Protocol

MAX_BLOB_BYTES = 50 * 1024 * 1024
CHUNK_BYTES = 256 * 1024  # the unit the adapters read, write and stream in
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)  # a full disk, a used-up quota


class BlobStore(Protocol):
    """Attachments by SHA-256 (every ``sha256`` argument is 64 lowercase hex digits)."""

    async def put(self, chunks: AsyncIterator[bytes],
                  max_bytes: int = MAX_BLOB_BYTES) -> tuple[str, int]:
        """Store a stream, hashing it on the way; return (sha256 hex, size).

        TooLargeError past ``max_bytes``, StorageFullError when the disk (or the database)
        has no space left; either way nothing is stored, not even part of a file. Storing
        bytes already held is harmless: same content, same name.
        """

    async def size_of(self, sha256: str) -> int | None:
        """The size of the stored blob, or None when there is none."""

    def read(self, sha256: str) -> AsyncIterator[bytes]:
        """The stored bytes, chunk by chunk, never the whole blob in memory.

        BlobMissingError (raised on the first iteration) when there is no such blob. The bytes
        are what is stored, unchecked: a caller that must trust them hashes them.
        """


    async def sweep_abandoned(self) -> int:
        """Remove what uploads of processes that are gone left unfinished (none of it is a
        blob: it has no name yet); how many were removed. Uploads under way in live
        processes are left alone. Precondition: this process has begun no upload yet (at
        start)."""


class BlobMissingError(LookupError):
    """No blob is stored under this name (an adapter-level fact, not an HTTP answer: the
    caller decides what a missing blob means)."""


async def stored_digest(blobs: BlobStore, sha256: str,
                        limit: int | None = None) -> tuple[str, int] | None:
    """Re-hash what is stored under ``sha256``: (actual sha256 hex, actual size), or None when
    nothing is stored. Equal to ``(sha256, size)`` exactly when the blob is intact. Reading
    stops past ``limit`` bytes (a planted endless file cannot hang the audit); a blob that
    cannot be read at all (a folder in its place) gives ``("unreadable: <why>", -1)``."""
    digest, size = hashlib.sha256(), 0
    try:
        async for chunk in blobs.read(sha256):
            digest.update(chunk)
            size += len(chunk)
            if limit is not None and size > limit:
                break
    except BlobMissingError:
        return None
    except OSError as e:
        return f"unreadable: {type(e).__name__}", -1
    return digest.hexdigest(), size
