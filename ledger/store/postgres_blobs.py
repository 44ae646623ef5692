"""PostgreSQL blob store (the default with PostgreSQL): every API process sees the same files.

A blob is a ``blobs`` row (name, size, chunk count) and its ``blob_chunks`` rows of up to
``CHUNK_BYTES`` each. An upload is spooled to a temporary file while it is hashed (its name is
only known at the end), then written in one transaction, so a blob is either whole or absent;
a full disk on either side (the spool's temporary folder, or the database's: SQLSTATE
53100) is StorageFullError, and the spool, an unnamed temporary file, vanishes with it. Reads
fetch a few chunks per round trip, so a download never holds the whole file in memory
nor a pooled connection for its whole duration. Both tables are append-only by trigger, like
the events: a stored blob is never rewritten (same content, same name).
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from collections.abc import AsyncIterator
from typing import IO

from ledger.errors import StorageFullError, TooLargeError
from ledger.store.blob_port import CHUNK_BYTES, MAX_BLOB_BYTES, NO_SPACE, BlobMissingError
from ledger.store.postgres import PG_ERRORS, PostgresEventStore, map_postgres_error

SPOOL_IN_MEMORY = 1024 * 1024  # uploads up to this size never touch the disk
CHUNKS_PER_READ = 4

_INSERT_BLOB = """
INSERT INTO blobs (sha256, size, chunks) VALUES ($1, $2, $3)
ON CONFLICT (sha256) DO NOTHING RETURNING sha256
"""
_INSERT_CHUNK = "INSERT INTO blob_chunks (sha256, n, data) VALUES ($1, $2, $3)"
_SELECT_CHUNKS = """
SELECT n, data FROM blob_chunks WHERE sha256 = $1 AND n > $2 ORDER BY n LIMIT $3
"""


class PostgresBlobStore:
    """Attachments by SHA-256 in the ledger's database (``ledger.store.blob_port.BlobStore``)."""

    def __init__(self, events: PostgresEventStore) -> None:
        self.pool = events.pool

    async def put(self, chunks: AsyncIterator[bytes],
                  max_bytes: int = MAX_BLOB_BYTES) -> tuple[str, int]:
        """Store a stream; return (sha256 hex, size). TooLargeError past ``max_bytes``."""
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            digest, size = hashlib.sha256(), 0
            try:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLargeError(f"attachment exceeds {max_bytes} bytes")
                    digest.update(chunk)
                    await asyncio.to_thread(spool.write, chunk)
                await asyncio.to_thread(spool.seek, 0)
            except OSError as e:  # the spool's disk (the temporary folder) is full
                if e.errno in NO_SPACE:
                    raise StorageFullError() from e
                raise
            sha256 = digest.hexdigest()
            try:
                await self._write(sha256, size, spool)
            except PG_ERRORS as e:
                raise map_postgres_error(e) from e
        return sha256, size

    async def _write(self, sha256: str, size: int, spool: IO[bytes]) -> None:
        count = -(-size // CHUNK_BYTES)
        async with self.pool.acquire() as conn, conn.transaction():
            # ON CONFLICT waits for a concurrent upload of the same bytes to commit or roll
            # back: then exactly one of them writes the chunks.
            if await conn.fetchval(_INSERT_BLOB, sha256, size, count) is None:
                return  # already stored: same content, same name
            for n in range(count):
                data = await asyncio.to_thread(spool.read, CHUNK_BYTES)
                await conn.execute(_INSERT_CHUNK, sha256, n, data)

    async def sweep_abandoned(self) -> int:
        """Nothing to sweep: a blob is written in one transaction, and an upload cut short
        (its process killed) leaves only a temporary file the kernel removes with it."""
        return 0

    async def size_of(self, sha256: str) -> int | None:
        """The recorded size of the stored blob, or None."""
        try:
            size = await self.pool.fetchval("SELECT size FROM blobs WHERE sha256 = $1", sha256)
        except PG_ERRORS as e:
            raise map_postgres_error(e) from e
        return None if size is None else int(size)

    async def read(self, sha256: str) -> AsyncIterator[bytes]:
        """Every chunk row of the blob in order (BlobMissingError when there is no blob). Rows
        are read as stored, so a changed, missing or extra chunk changes the bytes' hash."""
        if await self.size_of(sha256) is None:
            raise BlobMissingError(sha256)
        last = -1
        while True:
            try:
                rows = await self.pool.fetch(_SELECT_CHUNKS, sha256, last, CHUNKS_PER_READ)
            except PG_ERRORS as e:
                raise map_postgres_error(e) from e
            for n, data in rows:
                last = n
                yield bytes(data)
            if len(rows) < CHUNKS_PER_READ:
                return
