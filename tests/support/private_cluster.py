"""A throwaway PostgreSQL cluster of the test's own, on another loopback port, that a test may
stop, restart and kill: the machine's shared server is never touched (others test against
it). Made with the server programs tests/support/streaming_replica.py finds; run as root,
they run as the ``postgres`` user."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.streaming_replica import free_ports, postgres_folder

_SERVER_CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{folder}'
shared_buffers = 32MB
max_connections = 100
fsync = off
"""


@dataclass
class PrivateCluster:
    """One cluster under ``folder`` serving on 127.0.0.1:``port``."""

    programs: Path
    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.programs / program), *args]
        if os.geteuid() == 0:  # the server refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def _pg_ctl(self, action: str, *args: str) -> float:
        """Run ``pg_ctl action`` and wait for it; the seconds it took."""
        began = time.monotonic()
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"),
                  "-w", "-t", "60", *args, action)
        return time.monotonic() - began

    def create(self) -> None:
        """initdb the cluster and start it."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E",
                  "UTF8", "--no-sync")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(_SERVER_CONF.format(port=self.port, folder=self.folder))
        self.start()

    def start(self) -> float:
        """Start the server (waiting until it accepts connections); seconds taken."""
        return self._pg_ctl("start")

    def stop(self, mode: str = "fast") -> float:
        """Stop the server: ``fast`` (sessions ended, a clean shutdown) or ``immediate`` (no
        shutdown checkpoint: crash recovery at the next start); seconds taken."""
        return self._pg_ctl("stop", "-m", mode)

    def restart(self, mode: str = "fast") -> float:
        """``pg_ctl restart -m mode``: stop, then start; seconds until it accepts again."""
        return self._pg_ctl("restart", "-m", mode)

    def processes(self) -> list[int]:
        """The postmaster's pid, then its children's (the backends, the checkpointer, ...);
        none when the server is not running."""
        try:
            postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, IndexError, ValueError):
            return []
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                # /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                    children.append(int(entry.name))
        return [postmaster, *children]

    def freeze(self) -> int:
        """SIGSTOP every process of the server, the postmaster first (so it forks no new
        backend meanwhile): a hung database, as a network partition or a frozen host looks
        to its clients (connections accepted by the kernel, then no answer). How many."""
        stopped = 0
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                stopped += 1
        return stopped

    def thaw(self) -> None:
        """SIGCONT every process of the server (harmless when none is stopped)."""
        for pid in reversed(self.processes()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def remove(self) -> None:
        """Stop the server (immediately: nothing in it is kept) and delete the folder."""
        self.thaw()  # a frozen postmaster would never act on pg_ctl's signal
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def make_cluster(programs: Path) -> PrivateCluster:
    """A started cluster under a new folder in the system's temporary directory (readable by
    the postgres user, unlike pytest's own tmp folders)."""
    folder = postgres_folder("ledger-pg-")
    cluster = PrivateCluster(programs, folder, free_ports(1)[0])
    try:
        cluster.create()
    except BaseException:
        cluster.remove()
        raise
    return cluster
