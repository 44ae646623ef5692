"""Tampering with stored evidence files as an operator with disk or database access could:
around the ledger, straight in the blob store's folder or tables (their guards dropped)."""

from __future__ import annotations

import asyncpg

from ledger.store.blob_fs import FilesystemBlobStore
from ledger.store.blob_port import BlobStore

_GUARDED = ("blobs", "blob_chunks")


async def _run(dsn: str, *statements: tuple[str, tuple[object, ...]]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for table in _GUARDED:
            await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        for sql, args in statements:
            await conn.execute(sql, *args)
    finally:
        await conn.close()


async def change_blob(blobs: BlobStore, dsn: str, sha256: str) -> None:
    """Flip one bit of the file's last byte (the size stays the same)."""
    if isinstance(blobs, FilesystemBlobStore):
        path = blobs.path_for(sha256)
        data = bytearray(path.read_bytes())
        data[-1] ^= 1
        path.write_bytes(bytes(data))
        return
    await _run(dsn, (
        "UPDATE blob_chunks SET data = overlay(data placing "
        "decode(lpad(to_hex(get_byte(data, length(data) - 1) # 1), 2, '0'), 'hex') "
        "from length(data)) WHERE sha256 = $1 AND n = "
        "(SELECT max(n) FROM blob_chunks WHERE sha256 = $1)", (sha256,)))


async def delete_blob(blobs: BlobStore, dsn: str, sha256: str) -> None:
    """Remove the file altogether."""
    if isinstance(blobs, FilesystemBlobStore):
        blobs.path_for(sha256).unlink()
        return
    await _run(dsn, ("DELETE FROM blob_chunks WHERE sha256 = $1", (sha256,)),
               ("DELETE FROM blobs WHERE sha256 = $1", (sha256,)))
