"""Small files written so that a crash leaves either the old file or the whole new one, and
the new one survives a power cut once the call returns: a temporary file in the same folder
(mode given from creation, ``mkstemp``), written, flushed and fsynced, then renamed into
place, then the folder fsynced (a rename is durable only once its directory is; POSIX
``rename(2)``, ext4/XFS behave so)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def fsync_dir(folder: Path) -> None:
    """fsync ``folder`` itself, so the names created or renamed in it are on disk."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes, *, mode: int = 0o600,
                  overwrite: bool = True) -> None:
    """Write ``data`` to ``path`` as the module docstring says, mode ``mode`` from creation.
    ``overwrite`` False: FileExistsError when ``path`` exists (published with ``link``, which
    never replaces a name, instead of ``os.replace``), so a key is never overwritten."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)  # mkstemp creates 0600; a wider mode only where asked
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(temp, path)
        else:
            os.link(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    fsync_dir(path.parent)
