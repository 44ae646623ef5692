"""A ``ledger serve`` process whose data folder (its SQLite file, its blobs, its temporary
files) lies on a small filesystem of its own, for the full-disk fault tests
(tests/support/full_disk.py): a tmpfs of a few MiB mounted in a private mount namespace
(``unshare --mount``, also ``--map-root-user`` when not run as root), so the mount exists
for that process alone and vanishes with it however it ends: nothing to unmount, nothing
left mounted on the machine. The test reaches into it through ``/proc/<pid>/root`` to fill
it with a ballast file, free it again, and look for what an upload left behind."""

from __future__ import annotations

import errno
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.fleet import Served

# sh -c SCRIPT <mount point> <size> <command...>: mount, make the temporary folder, run.
_SCRIPT = 'mount -t tmpfs -o size="$1" tmpfs "$0" && mkdir "$0/tmp" && shift && exec "$@"'
BALLAST = "ballast"


def _unshare() -> tuple[str, ...]:
    return ("unshare", "--mount") if os.geteuid() == 0 else (
        "unshare", "--mount", "--map-root-user")


def small_disk_prefix(mount: Path, size: int) -> tuple[str, ...]:
    """The command prefix that runs a process with a ``size``-byte tmpfs at ``mount`` (an
    existing empty folder) and ``mount/tmp`` made on it."""
    return (*_unshare(), "sh", "-c", _SCRIPT, str(mount), str(size))


def why_no_small_disk() -> str | None:
    """None when this machine lets a process mount a tmpfs of its own; else why not."""
    with tempfile.TemporaryDirectory(prefix="small-disk-probe-") as probe:
        try:
            done = subprocess.run([*small_disk_prefix(Path(probe), 1 << 20), "true"],
                                  capture_output=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"unshare: {e}"
    return None if done.returncode == 0 else done.stderr.decode(errors="replace").strip()


@dataclass(frozen=True)
class SmallDisk:
    """The small filesystem at ``mount`` as ``served`` (which runs on it) sees it."""

    served: Served
    mount: Path

    def path(self, *parts: str) -> Path:
        """A path on the small filesystem, reached from outside its mount namespace."""
        return Path(f"/proc/{self.served.process.pid}/root", *self.mount.parts[1:], *parts)

    def enter(self) -> tuple[str, ...]:
        """The command prefix that runs a process in ``served``'s mount namespace, where the
        small filesystem is mounted (SQLite resolves ``/proc/<pid>/root`` to this
        namespace's ``/``, so it cannot open the file from outside)."""
        user = () if os.geteuid() == 0 else ("--user", "--preserve-credentials")
        return ("nsenter", "--target", str(self.served.process.pid), "--mount", *user)

    def fill(self, leave: int = 0) -> int:
        """Write a ballast file until the disk is full, then give back ``leave`` bytes (to a
        page); the ballast's size."""
        ballast = self.path(BALLAST)
        block = b"\0" * 65536
        with ballast.open("ab", buffering=0) as out:
            try:
                while out.write(block):
                    pass
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
        size = ballast.stat().st_size
        os.truncate(ballast, max(0, size - leave))
        return max(0, size - leave)

    def free(self) -> None:
        """Remove the ballast: the space returns."""
        self.path(BALLAST).unlink(missing_ok=True)

    def free_bytes(self) -> int:
        """What the filesystem still has room for."""
        stat = os.statvfs(self.path())
        return stat.f_bavail * stat.f_frsize

    def files(self, folder: str) -> list[str]:
        """Every file under ``folder`` of the small filesystem, relative to it."""
        root = self.path(folder)
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
