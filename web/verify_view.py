"""The Verify page's "check a bundle": an uploaded evidence bundle checked by the same code and
with the same lines as ``ledger verify-bundle`` (ledger.bundle.verifier, steps 1 to 9), part by
part, against the log's own verifier keys.

The bundle is read as the CLI reads it (the verifier's safe unzip: members held in memory or
only hashed, never written out, sizes counted as they come). Synchronous and CPU-bound: a
handler runs it in a thread (``asyncio.to_thread``) so the event loop keeps serving.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ledger.bundle.verifier import verify_bundle
from ledger.bundle.verify import MAX_RATIO, Check, Verdict, summary
from ledger.errors import TooLargeError

DEFAULT_MAX_BYTES = 256 << 20
# What an uploaded bundle may unzip to (the offline verifiers allow 4 GiB): ~3 s of inflating.
DEFAULT_MAX_UNZIPPED = 1 << 30
_UNSIGNED = "not signed by the given key"


@dataclass(frozen=True)
class Part:
    """One line of the verdict: ``name`` is what it is about (``container``, ``signature``, an
    entry's path...), ``status`` is ``ok``, ``FAIL`` or ``note`` and ``line`` is the line
    exactly as ``ledger verify-bundle`` prints it."""

    name: str
    status: str
    message: str
    line: str

    @property
    def passed(self) -> bool:
        return self.status != "FAIL"


@dataclass(frozen=True)
class BundleCheck:
    """Every part checked, in order, and the last line (``PASS: ...`` or ``FAIL: n problem(s)``).
    ``key`` is the verifier key the bundle was checked against."""

    parts: tuple[Part, ...]
    summary: str
    key: str

    @property
    def passed(self) -> bool:
        return all(p.passed for p in self.parts)

    @property
    def failed(self) -> tuple[Part, ...]:
        return tuple(p for p in self.parts if not p.passed)


def part_of(check: Check) -> Part:
    """A verifier's check as a part: its subject is what its text says before the first ': '."""
    name, _, rest = check.text.partition(": ")
    return Part(name if rest else "", check.status, check.text, check.line())


def check_bundle(upload: bytes | Path, keys: Sequence[str], *,
                 max_bytes: int = DEFAULT_MAX_BYTES,
                 max_unzipped: int = DEFAULT_MAX_UNZIPPED) -> BundleCheck:
    """Check ``upload`` (the bundle's bytes, or the path of the file it was spooled to) against
    the log's verifier keys ``keys`` (non-empty, as ``GET /log/key`` serves them).

    With several keys (a rotated log) the bundle is checked against each in turn until one
    signed it; if none did, the result is the first key's. Raises TooLargeError (field
    ``bundle``) for a bundle larger than ``max_bytes``; one that would unzip to more than
    ``max_unzipped`` bytes, or a member inflating beyond the verifier's ratio, fails step 1
    before anything is inflated; ValueError for a malformed key (the
    server's own configuration, not the uploader's doing).
    """
    if not keys:
        raise ValueError("no verifier key to check the bundle against")
    if isinstance(upload, Path) and not upload.is_file():
        raise ValueError(f"{upload}: not a file")
    size = len(upload) if isinstance(upload, bytes) else upload.stat().st_size
    if size > max_bytes:
        raise TooLargeError(f"the bundle is larger than {max_bytes} bytes", field="bundle")
    if isinstance(upload, bytes):
        with tempfile.TemporaryDirectory(prefix="hl-verify-") as folder:
            path = Path(folder, "bundle.zip")
            path.write_bytes(upload)
            return _against(path, keys, max_unzipped)
    return _against(upload, keys, max_unzipped)


def _against(path: Path, keys: Sequence[str], max_unzipped: int) -> BundleCheck:
    first = verify_bundle(path, keys[0], max_total=max_unzipped, max_ratio=MAX_RATIO)
    for key in keys[1:]:
        if not any(f.endswith(_UNSIGNED) for f in first.failures):
            break
        verdict = verify_bundle(path, key, max_total=max_unzipped, max_ratio=MAX_RATIO)
        if not any(f.endswith(_UNSIGNED) for f in verdict.failures):
            return _result(verdict, key)
    return _result(first, keys[0])


def _result(verdict: Verdict, key: str) -> BundleCheck:
    return BundleCheck(tuple(part_of(c) for c in verdict.checks), summary(verdict), key)
