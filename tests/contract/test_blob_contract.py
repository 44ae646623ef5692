"""One contract, every blob store adapter: the filesystem and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ledger.errors import TooLargeError
from ledger.store.blob_fs import FilesystemBlobStore
from ledger.store.blob_port import CHUNK_BYTES, BlobMissingError, BlobStore, stored_digest
from ledger.store.postgres import PostgresEventStore
from ledger.store.postgres_blobs import PostgresBlobStore
from tests.support.evidence import chunks_of


@pytest.fixture(params=["filesystem", "postgres"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "filesystem":
        return FilesystemBlobStore(tmp_path / "blobs")
    store: PostgresEventStore = request.getfixturevalue("postgres_store")
    return PostgresBlobStore(store)


async def read_all(blobs: BlobStore, sha256: str) -> list[bytes]:
    return [chunk async for chunk in blobs.read(sha256)]


async def test_a_stored_file_is_named_by_its_sha256_and_read_back_in_bounded_chunks(
        blobs: BlobStore) -> None:
    content = os.urandom(2 * CHUNK_BYTES + 12345)

    sha256, size = await blobs.put(chunks_of(content, 70_000))

    assert (sha256, size) == (hashlib.sha256(content).hexdigest(), len(content))
    chunks = await read_all(blobs, sha256)
    assert b"".join(chunks) == content
    assert len(chunks) >= 3 and max(len(c) for c in chunks) <= CHUNK_BYTES
    assert await blobs.size_of(sha256) == len(content)
    assert await stored_digest(blobs, sha256) == (sha256, len(content))


async def test_an_empty_file_is_a_file(blobs: BlobStore) -> None:
    sha256, size = await blobs.put(chunks_of(b""))

    assert (sha256, size) == (hashlib.sha256(b"").hexdigest(), 0)
    assert await blobs.size_of(sha256) == 0
    assert await read_all(blobs, sha256) == []
    assert await stored_digest(blobs, sha256) == (sha256, 0)


async def test_storing_the_same_bytes_again_or_concurrently_keeps_one_blob(
        blobs: BlobStore) -> None:
    content = b"minutes of the handover meeting\n" * 1000

    results = await asyncio.gather(*(blobs.put(chunks_of(content)) for _ in range(4)))
    again = await blobs.put(chunks_of(content, 7))

    assert set(results) == {again} == {(hashlib.sha256(content).hexdigest(), len(content))}
    assert b"".join(await read_all(blobs, again[0])) == content


async def test_an_unknown_name_is_absent(blobs: BlobStore) -> None:
    missing = "0" * 64

    assert await blobs.size_of(missing) is None
    with pytest.raises(BlobMissingError):
        await read_all(blobs, missing)
    assert await stored_digest(blobs, missing) is None


async def test_a_file_past_the_limit_is_refused_and_nothing_is_stored(
        blobs: BlobStore) -> None:
    content = b"x" * 5000

    with pytest.raises(TooLargeError, match="exceeds 4096 bytes"):
        await blobs.put(chunks_of(content), max_bytes=4096)

    assert await blobs.size_of(hashlib.sha256(content).hexdigest()) is None
    assert await blobs.size_of(hashlib.sha256(content[:4096]).hexdigest()) is None


async def test_an_upload_that_breaks_off_stores_nothing(blobs: BlobStore) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"the first half"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await blobs.put(broken())

    assert await blobs.size_of(hashlib.sha256(b"the first half").hexdigest()) is None
