"""The bundle's ZIP container, written deterministically (docs/bundle-format.md, "Files").

Every member has the modification time of ``generated_at`` (UTC), Unix attributes 0644, no
extra field, no comment and no directory entry; ``mimetype`` comes first and is stored (the
ASiC / ODF convention, so ``file`` and ZIP tools recognise the media type at offset 38).
Written to a seekable file, so every local header carries its sizes and CRC (no data
descriptors); attachments are copied chunk by chunk and re-hashed on the way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zipfile
from collections.abc import AsyncIterator
from typing import IO

from ledger.bundle.layout import MIMETYPE, REPORT_PDF
from ledger.errors import VerificationError

_UNIX = 3  # "made by": Unix, so the attributes below mean what they say
_FILE_MODE = 0o100644


def zip_time(generated_at: dt.datetime) -> tuple[int, int, int, int, int, int]:
    """The DOS date and time of ``generated_at`` in UTC (two-second resolution)."""
    t = generated_at.astimezone(dt.UTC)
    return (t.year, t.month, t.day, t.hour, t.minute, t.second)


class BundleArchive:
    """Appends members in the order they are given; ``close`` writes the central directory.

    Precondition: the first member written is ``mimetype``.
    """

    def __init__(self, out: IO[bytes], generated_at: dt.datetime) -> None:
        self._zip = zipfile.ZipFile(out, "w", allowZip64=True)
        self._time = zip_time(generated_at)

    def _info(self, path: str, stored: bool) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(path, date_time=self._time)
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        info.create_system = _UNIX
        info.external_attr = _FILE_MODE << 16
        return info

    def add(self, path: str, data: bytes) -> None:
        """One member from bytes in memory: ``mimetype``, the proofs (base64 hashes hardly
        shrink, and a deflate stream per small member costs more than it saves) and
        ``report.pdf`` (its streams are deflated already: a second pass saved 7% for the time
        of the rest of the export without it) stored, the rest deflated."""
        stored = path in (MIMETYPE, REPORT_PDF) or path.startswith("proofs/")
        self._zip.writestr(self._info(path, stored), data, compresslevel=None if stored else 6)

    async def add_stream(self, path: str, chunks: AsyncIterator[bytes], sha256: str,
                         size: int) -> None:
        """One member copied from ``chunks``; VerificationError unless its bytes have the
        SHA-256 and size the manifest already lists for it (a tampered blob store)."""
        digest, copied = hashlib.sha256(), 0
        info = self._info(path, False)
        info.file_size = size  # known in advance: no ZIP64 extra field for a small member
        with self._zip.open(info, "w") as member:
            async for chunk in chunks:
                digest.update(chunk)
                copied += len(chunk)
                member.write(chunk)
        if (digest.hexdigest(), copied) != (sha256, size):
            raise VerificationError(f"attachment {sha256} in the blob store does not match "
                                    "its name and size; run ledger verify")

    def close(self) -> None:
        self._zip.close()
