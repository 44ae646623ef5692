"""A real PostgreSQL streaming replica for the read-replica tests: two throwaway clusters on
loopback ports under a temporary folder, the second made from the first with
``pg_basebackup -R -X stream`` and started as a hot standby.

The pair has a primary of its own (initdb's defaults allow replication connections from
127.0.0.1) instead of streaming from the machine's shared server, which is neither restarted
nor reconfigured for this. Run as root, the server programs run as the ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

_SERVER_CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{folder}'
shared_buffers = 16MB
max_connections = 60
fsync = off
hot_standby = on
"""


def server_programs() -> Path | None:
    """The folder holding initdb, pg_ctl and pg_basebackup (``pg_config --bindir``, else
    Debian's newest /usr/lib/postgresql/N/bin), or None when they are not installed."""
    candidates: list[Path] = []
    if (pg_config := shutil.which("pg_config")) is not None:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.append(Path(found.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for folder in candidates:
        if all((folder / p).is_file() for p in ("initdb", "pg_ctl", "pg_basebackup")):
            return folder
    return None


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports free now (each held until all are chosen)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class StreamingPair:
    """A primary and its streaming hot standby, each on a loopback port."""

    programs: Path
    folder: Path
    primary_port: int
    replica_port: int

    def dsn(self, port: int, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{database}"

    def primary_dsn(self, database: str = "postgres") -> str:
        return self.dsn(self.primary_port, database)

    def replica_dsn(self, database: str = "postgres") -> str:
        return self.dsn(self.replica_port, database)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.programs / program), *args]
        if os.geteuid() == 0:  # the server refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def _pg_ctl(self, name: str, action: str) -> None:
        self._run("pg_ctl", "-D", str(self.folder / name), "-l", str(self.folder / f"{name}.log"),
                  "-w", "-t", "60", "-m", "fast", action)

    def start(self) -> None:
        """Make both clusters and start them (the replica streaming from the primary)."""
        self._run("initdb", "-D", str(self.folder / "primary"), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-sync")
        with (self.folder / "primary" / "postgresql.conf").open("a") as conf:
            conf.write(_SERVER_CONF.format(port=self.primary_port, folder=self.folder))
        self._pg_ctl("primary", "start")
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary_port),
                  "-U", "postgres", "-D", str(self.folder / "replica"), "-R", "-X", "stream",
                  "-c", "fast")
        with (self.folder / "replica" / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"port = {self.replica_port}\n")
        self.start_replica()

    def stop_replica(self) -> None:
        """Stop the standby (as its operator would: fast shutdown)."""
        self._pg_ctl("replica", "stop")

    def start_replica(self) -> None:
        """Start the standby; it resumes streaming where it stopped."""
        self._pg_ctl("replica", "start")

    def replica_sql(self, statement: str) -> object:
        """Run one statement on the replica (``pg_wal_replay_pause()``, say); its value."""
        with psycopg.connect(self.replica_dsn(), autocommit=True) as conn:
            row = conn.execute(statement).fetchone()
            return row[0] if row else None

    def create_database(self, name: str) -> None:
        """A new database on the primary (the replica has it once it has replayed)."""
        with psycopg.connect(self.primary_dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def remove(self) -> None:
        """Stop both servers (immediately: nothing in them is kept) and delete the folder."""
        for name in ("replica", "primary"):
            if (self.folder / name / "postmaster.pid").exists():
                with contextlib.suppress(subprocess.CalledProcessError):
                    self._run("pg_ctl", "-D", str(self.folder / name), "-m", "immediate",
                              "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def postgres_folder(prefix: str) -> Path:
    """A new folder in the system's temporary directory that a cluster run as the postgres
    user can write (pytest's own tmp folders are not readable by it)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    return folder


def make_pair(programs: Path) -> StreamingPair:
    """A started pair under a new folder in the system's temporary directory (readable by
    the postgres user, unlike pytest's own tmp folders)."""
    folder = postgres_folder("ledger-replica-")
    pair = StreamingPair(programs, folder, *free_ports(2))
    try:
        pair.start()
    except BaseException:
        pair.remove()
        raise
    return pair
