"""Uploading evidence through the ledger's own path: the blob store, then ``RecordUpload``
(what the upload route does, without HTTP)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.ledger import Ledger
from ledger.store.blob_port import BlobStore


async def chunks_of(content: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    """``content`` as a stream of ``size``-byte chunks."""
    for start in range(0, len(content), size):
        yield content[start:start + size]


async def upload(ledger: Ledger, blobs: BlobStore, actor: Actor, item_id: uuid.UUID | str,
                 content: bytes, name: str = "evidence.txt",
                 media_type: str = "text/plain") -> c.Evidence:
    """Store ``content`` and record its upload to the item as ``actor``; return what to cite."""
    sha256, size = await blobs.put(chunks_of(content))
    await ledger.execute(c.RecordUpload(item_id=uuid.UUID(str(item_id)), sha256=sha256,
                                        size=size, name=name, media_type=media_type), actor)
    return c.Evidence(sha256=sha256, size=size, name=name, media_type=media_type)
