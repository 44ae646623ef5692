"""A checkpoint as served and bundled: the log's signed note followed by the witness
cosignature lines stored for its size (extra signature lines of the same C2SP signed note;
verifiers that do not know the witnesses' keys ignore them)."""

from __future__ import annotations

from ledger.store.cosignatures import CosignatureStore
from ledger.store.log_port import StoredCheckpoint


async def cosigned(checkpoint: StoredCheckpoint, cosignatures: CosignatureStore) -> bytes:
    """The checkpoint's note with its cosignature lines appended (by witness label)."""
    lines = await cosignatures.of_size(checkpoint.size)
    return checkpoint.note + "".join(lines.values()).encode()
