"""The witness's own state: the latest cosigned (size, root) per log origin, in a small SQLite
file, and its key file.

``add`` checks a submission against the recorded state and records the accepted checkpoint in
one ``BEGIN IMMEDIATE`` transaction (tlog-witness: the check and the update must be atomic, or
two racing requests could roll a log back), so two witness processes sharing the file are safe
too. Durability: every commit is fsynced (WAL, ``synchronous=FULL``: a cosigned size survives a
power cut, so the witness never cosigns a rollback after one), and the folder is fsynced once
the file is first created. The key file holds
``PRIVATE+KEY+<name>+<key id>+base64(0x04 ‖ seed)``, mode 0600 from creation, written through
a temporary file, fsync and link (ledger.transparency.keys.write_private).
"""

from __future__ import annotations

import asyncio
import base64
import sqlite3
import stat
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from ledger.durable import fsync_dir
from ledger.errors import ConfigurationError, InvalidInputError
from ledger.tlog.checkpoint import Checkpoint
from ledger.tlog.note import Verifier, decode_base64, parse_signature_line, split_note
from ledger.transparency.keys import write_private
from ledger.witness.cosignature import SIGNATURE_TYPE_COSIGNATURE_V1, WitnessSigner
from ledger.witness.protocol import Recorded, Refusal, Submission, judge

_SCHEMA = """
CREATE TABLE IF NOT EXISTS witnessed (
    origin     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL CHECK (size >= 0),
    root       BLOB    NOT NULL,
    note       BLOB    NOT NULL,
    updated_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE IF NOT EXISTS conflicts (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    origin      TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    old_size    INTEGER NOT NULL,
    request     BLOB    NOT NULL,
    received_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
"""
# A refusal of a checkpoint the log really signed that contradicts what the witness holds
# (``_is_evidence``) may prove a fork: its signed note is kept (tlog-witness allows it).
_MAX_SQLITE_SIZE = 2**63 - 1


class WitnessState:
    """The witnessed logs' latest checkpoints in ``path`` (created on first use)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        created = not path.exists()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        if created:  # SQLite fsyncs the folder for its journals, not for a new main file
            fsync_dir(path.parent)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def recorded(self, origin: str) -> Recorded | None:
        """The latest (size, root) cosigned for ``origin``, if any."""
        row = self._db.execute("SELECT size, root FROM witnessed WHERE origin = ?",
                               (origin,)).fetchone()
        return None if row is None else Recorded(int(row[0]), bytes(row[1]))

    def add_sync(self, submission: Submission,
                 trusted: Mapping[str, Sequence[Verifier]]) -> Checkpoint | Refusal:
        """Judge ``submission`` against the recorded state and record it if accepted, in one
        transaction; returns what ``judge`` returned."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                recorded = self.recorded(submission.origin)
                outcome = judge(submission, trusted, recorded)
                if isinstance(outcome, Refusal) and _is_evidence(outcome, submission, recorded):
                    self._keep_evidence(outcome, submission, trusted[submission.origin])
                if isinstance(outcome, Checkpoint):
                    if outcome.size > _MAX_SQLITE_SIZE:
                        outcome = Refusal(400, "tree size too large for this witness\n")
                    else:
                        self._db.execute(
                            "INSERT INTO witnessed (origin, size, root, note) VALUES (?, ?, ?, ?)"
                            " ON CONFLICT (origin) DO UPDATE SET size = excluded.size,"
                            " root = excluded.root, note = excluded.note,"
                            " updated_at = excluded.updated_at",
                            (outcome.origin, outcome.size, outcome.root_hash, submission.note))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return outcome

    def _keep_evidence(self, refusal: Refusal, submission: Submission,
                       verifiers: Sequence[Verifier]) -> None:
        """Keep the log-signed note of a refusal, once: only the trusted log's own signature
        lines are kept (anyone may pad a genuine note with lines by unknown keys, or replay it
        with another unsigned proof), so the table grows with the log's signed checkpoints,
        not with the requests an attacker sends."""
        note = _log_signed(submission.note, verifiers)
        self._db.execute(
            "INSERT INTO conflicts (origin, status, reason, old_size, request) "
            "SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM conflicts WHERE origin = ?"
            " AND status = ? AND old_size = ? AND request = ?)",
            (submission.origin, refusal.status, _reason(refusal), submission.old_size, note,
             submission.origin, refusal.status, submission.old_size, note))

    def conflicts(self, origin: str) -> list[tuple[int, str, bytes]]:
        """The refusals kept as evidence for ``origin``: (status, reason, signed note)."""
        return [(int(r[0]), str(r[1]), bytes(r[2])) for r in self._db.execute(
            "SELECT status, reason, request FROM conflicts WHERE origin = ? ORDER BY seq",
            (origin,))]

    async def add(self, submission: Submission,
                  trusted: Mapping[str, Sequence[Verifier]]) -> Checkpoint | Refusal:
        """``add_sync`` off the event loop (it waits for the file's write lock and fsyncs)."""
        return await asyncio.to_thread(self.add_sync, submission, trusted)


def _is_evidence(refusal: Refusal, submission: Submission, recorded: Recorded | None) -> bool:
    """A 422, or a 409 for another root at the size the witness holds: the log signed a
    checkpoint that contradicts what the witness saw (a 409 for a stale old size is not)."""
    if refusal.status == 422:
        return True
    return (refusal.status == 409 and recorded is not None
            and submission.old_size == recorded.size)


def _log_signed(note: bytes, verifiers: Sequence[Verifier]) -> bytes:
    """``note`` with only the signature lines of ``verifiers`` (the note was opened with them,
    so it is well formed and at least one of those lines verified)."""
    text, lines = split_note(note)
    keys = {(v.name, v.key_id) for v in verifiers}
    signed = ((line, parse_signature_line(line)[0]) for line in lines)
    kept = [line for line, sig in signed if (sig.name, sig.key_id) in keys]
    return (text + "\n" + "".join(line + "\n" for line in dict.fromkeys(kept))).encode()


def _reason(refusal: Refusal) -> str:
    if refusal.status == 409:  # the body is the size held, as the spec wants
        return f"another root at the size this witness holds ({refusal.text.strip()})"
    return refusal.text.strip()


def ensure_witness_key(path: Path, name: str) -> tuple[WitnessSigner, bool]:
    """The witness key in ``path``, generated (mode 0600) on first run; and whether it was.

    Refuses a key file readable by others or one made for another witness name."""
    created = False
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            signer, seed = WitnessSigner.generate(name)
            key = base64.b64encode(bytes([SIGNATURE_TYPE_COSIGNATURE_V1]) + seed).decode()
            write_private(path, f"PRIVATE+KEY+{name}+{signer.key.key_id:08x}+{key}")
            created = True
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            raise ConfigurationError(f"{path} is readable by others; chmod 600 it")
        text = path.read_text(encoding="ascii").strip()
    except OSError as e:
        raise ConfigurationError(f"witness key {path}: {e.strerror or e}") from e
    signer = _parse_witness_skey(text)
    if signer.key.name != name:
        raise ConfigurationError(f"{path} is the key of witness {signer.key.name!r}, not {name!r}")
    return signer, created


def _parse_witness_skey(text: str) -> WitnessSigner:
    parts = text.split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise ConfigurationError("malformed witness key file")
    _, _, name, key_id, encoded = parts
    try:
        raw = decode_base64(encoded)
        signer = WitnessSigner(name, raw[1:]) if raw[:1] == b"\x04" else None
    except InvalidInputError as e:
        raise ConfigurationError(f"malformed witness key file: {e}") from e
    if signer is None or f"{signer.key.key_id:08x}" != key_id:
        raise ConfigurationError("malformed witness key file (type or key ID)")
    return signer
