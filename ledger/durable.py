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


# An SQLite database's companions: SQLite makes them with the main file's permissions, but one
# left by an earlier, wider-moded run keeps its own.
_SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_sqlite_file(database: Path) -> None:
    """Make ``database`` (created empty if absent) and its WAL, shared-memory and journal
    files readable and writable by their owner only: it holds webhook signing secrets and
    every case's personal data, which another local user must not read whatever the umask.
    SQLite creates its companion files with the main file's mode, so one made 0600 here
    keeps them 0600; a file already wider (made before this rule) is narrowed."""
    if str(database) == ":memory:":  # no file at all
        return
    os.close(os.open(database, os.O_RDWR | os.O_CREAT, 0o600))
    for path in (database, *(database.with_name(database.name + s)
                             for s in _SQLITE_COMPANIONS)):
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)
