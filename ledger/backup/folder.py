"""The backup folder on disk: built under a temporary name and renamed into place only once
complete (never a half-written backup under the real name), and checked against its manifest
before a restore trusts a byte of it.

Everything in it is private: the folder is 0700 and every file 0600 (it holds the ledger's
personal data, its evidence files and, when asked, its signing keys).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ledger.backup.manifest import MANIFEST, MAX_MANIFEST_BYTES, Manifest, Part
from ledger.backup.signature import MAX_SIGNATURE_BYTES, SIGNATURE
from ledger.errors import ConfigurationError, VerificationError

CHUNK = 1 << 20
_FLUSHERS = 16
Bytes = Callable[[int], None]  # called with the bytes just read or written


def hash_file(path: Path, progress: Bytes | None = None) -> tuple[int, str]:
    """(size, SHA-256 hex) of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if progress is not None:
                progress(len(chunk))
    return size, digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StagedBackup:
    """A backup being written: files go into a private temporary folder beside ``dest``;
    ``commit`` adds the manifest and renames it to ``dest`` (``abandon`` removes it)."""

    def __init__(self, dest: Path) -> None:
        if dest.exists() or dest.is_symlink():
            raise ConfigurationError(f"{dest} already exists: a backup never overwrites "
                                     "anything; choose a new name")
        if not dest.parent.exists():
            raise ConfigurationError(f"{dest.parent} does not exist: make the folder the "
                                     "backup goes into first (the backup itself is a new "
                                     f"folder inside it, {dest.name})")
        if not dest.parent.is_dir():
            raise ConfigurationError(f"{dest.parent} is not a folder")
        self.dest = dest
        self.root = dest.parent / f".{dest.name}.partial-{secrets.token_hex(4)}"
        self.root.mkdir(mode=0o700)
        self.parts: list[Part] = []

    def path(self, relative: str) -> Path:
        """Where a part is written (its folders made, private)."""
        target = self.root / relative
        folder = self.root
        for name in Path(relative).parts[:-1]:
            folder = folder / name
            folder.mkdir(mode=0o700, exist_ok=True)
        return target

    def add(self, relative: str, kind: str) -> Part:
        """Record a part already written at ``path(relative)``: made 0600 and hashed."""
        target = self.root / relative
        target.chmod(0o600)
        size, sha256 = hash_file(target)
        part = Part(relative, kind, size, sha256)
        self.parts.append(part)
        return part

    def copy_in(self, source: Path, relative: str, kind: str, progress: Bytes | None = None
                ) -> Part:
        """Copy ``source`` into the backup as a part, hashing it on the way (one read)."""
        target = self.path(relative)
        digest, size = hashlib.sha256(), 0
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with source.open("rb") as f, os.fdopen(fd, "wb") as out:
            while chunk := f.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                if progress is not None:
                    progress(len(chunk))
        part = Part(relative, kind, size, digest.hexdigest())
        self.parts.append(part)
        return part

    def commit(self, manifest: bytes, signature: bytes) -> Path:
        """Flush every part to disk, write the manifest and its signature, flush every
        folder, and rename the backup into place."""
        for name, data in ((MANIFEST, manifest), (SIGNATURE, signature)):
            fd = os.open(self.root / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        # Many small evidence files: flushed concurrently, the disk merges the writes (about
        # four times faster here than one fsync after another).
        folders = [Path(folder) for folder, _, _ in os.walk(self.root)]
        with ThreadPoolExecutor(_FLUSHERS) as pool:
            list(pool.map(_fsync, [self.root / MANIFEST, self.root / SIGNATURE,
                                   *(self.root / p.path for p in self.parts), *folders]))
        if self.dest.exists():
            raise ConfigurationError(f"{self.dest} appeared while the backup was written")
        self.root.rename(self.dest)
        _fsync(self.dest.parent)
        return self.dest

    def abandon(self) -> None:
        """Remove the temporary folder (a failed or interrupted backup leaves nothing)."""
        shutil.rmtree(self.root, ignore_errors=True)


def read_manifest_bytes(source: Path) -> bytes:
    """The manifest file's bytes; ConfigurationError when ``source`` is no backup folder."""
    path = source / MANIFEST
    if not source.is_dir() or not path.is_file():
        raise ConfigurationError(f"{source} is not a backup folder (no {MANIFEST}): give the "
                                 "folder `ledger backup` wrote")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise VerificationError(f"{path} is larger than any manifest we write")
    return path.read_bytes()


def read_signature_bytes(source: Path) -> bytes | None:
    """The manifest signature's bytes; None when the backup has none (a backup made before
    manifests were signed, or one whose signature was removed). One that is there but is no
    plain file (a symbolic link, a folder) is refused, not taken for a missing one, which
    --allow-unsigned would let through."""
    path = source / SIGNATURE
    if not path.is_symlink() and not path.exists():
        return None
    if path.is_symlink() or not path.is_file():
        raise VerificationError(f"{path} is not a plain file (a symbolic link or a folder): "
                                "the backup's signature is not one `ledger backup` wrote")
    if path.stat().st_size > MAX_SIGNATURE_BYTES:
        raise VerificationError(f"{path} is larger than any signature we write")
    return path.read_bytes()


def _linked(source: Path, relative: str) -> bool:
    """Whether the part or any folder on its way down from ``source`` is a symbolic link
    (which could take a restore's reads outside the backup)."""
    path = source
    for name in Path(relative).parts:
        path = path / name
        if path.is_symlink():
            return True
    return False


def check_parts(source: Path, manifest: Manifest, progress: Bytes | None = None) -> None:
    """Every part is present with its size and SHA-256, and nothing else is in the folder;
    raises VerificationError listing each difference (a restore then refuses)."""
    problems: list[str] = []
    listed = {part.path for part in manifest.parts}
    for part in manifest.parts:
        path = source / part.path
        if not path.is_file() or _linked(source, part.path):
            problems.append(f"{part.path} is missing")
            continue
        size, sha256 = hash_file(path, progress)
        if (size, sha256) != (part.size, part.sha256):
            problems.append(f"{part.path} differs from the manifest (size {size}, sha256 "
                            f"{sha256}; the manifest says {part.size}, {part.sha256}): "
                            "damaged or altered")
    for folder, _, files in os.walk(source):
        for name in files:
            relative = (Path(folder) / name).relative_to(source).as_posix()
            if relative not in (MANIFEST, SIGNATURE) and relative not in listed:
                problems.append(f"{relative} is not listed in the manifest")
    if problems:
        shown = "; ".join(problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise VerificationError(f"backup {source} failed its integrity check: {shown}{more}")
