"""One signing key never signs two different logs (and a log is signed only by its own keys).

Two records bind a key folder to a database's log, each naming the other:

- in the database, ``log_meta`` holds a random log id drawn when its schema was created, and
  ``log_keys`` the verifier keys that have signed the log (the first ones began it);
- in the key folder, ``log-id`` (JSON: log id, origin, the database it was bound to, its
  password never written) names the log its keys sign.

Without them, one ``./ledger-data`` pointed first at SQLite, then at PostgreSQL, signs two
different logs under one name and key; an auditor's monitor then sees a rollback or a fork and
cannot tell an honest mistake from a split view. So a process refuses to start when its keys
already signed another log, or when the database's log was begun under other keys. Rotation
stays possible: ``ledger keygen`` adds a key to a folder already bound to the log, and the new
key is recorded at the next start.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import ConfigurationError, VerificationError
from ledger.store.log_port import LogStore
from ledger.tlog.note import Signer, open_note

MARKER = "log-id"
"""File in the key folder naming the log its keys sign."""

_ADVICE = ("give each database its own LEDGER_DATA_DIR (or LEDGER_KEY_DIR), so that its log "
           "gets its own signing key")


@dataclass(frozen=True)
class BoundLog:
    """What a key folder's marker says: the log id, its origin and where that log lives."""

    log_id: str
    origin: str
    database: str


def describe_database(url: str) -> str:
    """``url`` without its user and password (it is written to a file and to messages)."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return url


def read_marker(key_dir: Path) -> BoundLog | None:
    """The log the key folder is bound to, or None before its first start."""
    path = key_dir / MARKER
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return BoundLog(str(doc["log_id"]), str(doc["origin"]), str(doc["database"]))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigurationError(f"{path} is not a log binding ({type(e).__name__}); restore "
                                 "it from a backup of the key folder") from e


def _write_marker(key_dir: Path, bound: BoundLog) -> BoundLog:
    """Bind the folder to ``bound`` unless it already is bound; return its binding."""
    # Written whole to a private temporary file, then hard-linked into place: the link fails
    # if a marker exists, so two processes starting at once bind the folder once, and the
    # loser reads the winner's complete marker (and is refused if it names another log).
    text = json.dumps({"log_id": bound.log_id, "origin": bound.origin,
                       "database": bound.database}) + "\n"
    temporary = key_dir / f".{MARKER}.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:  # a read-only mount of keys never bound to a log
        raise ConfigurationError(
            f"the key folder {key_dir} is not yet bound to a log and cannot be written "
            f"({e.strerror}): run `ledger migrate --keys` once with it writable (the "
            "docker-compose migrate service does), then mount it read-only") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.link(temporary, key_dir / MARKER)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    found = read_marker(key_dir)
    if found is None:
        raise ConfigurationError(f"{key_dir / MARKER} vanished while binding the key folder")
    return found


def _key_ids(vkeys: Sequence[str]) -> str:
    return ", ".join(v.split("+")[1] for v in vkeys) or "none"


async def _begun_by_others(log: LogStore, signers: Sequence[Signer]) -> bool:
    """Whether the database's log already has a signer other than ``signers``: recorded
    keys, or (a database from before the records existed) a checkpoint none of them signed."""
    recorded = await log.signing_keys()
    if recorded:
        return not {s.verifier.vkey for s in signers} & set(recorded)
    latest = await log.latest_checkpoint()
    if latest is None:
        return False
    try:
        open_note(latest.note, [s.verifier for s in signers])
    except VerificationError:
        return True
    return False


def refuse_new_database_for_bound_keys(key_dir: Path, database_url: str,
                                       new_database: bool) -> None:
    """Before a database is created: keys already bound to a log never begin another, so a
    start that would create a new database for them is refused before it leaves an empty
    one behind (which a later ``ledger verify`` would find intact, and empty)."""
    bound = read_marker(key_dir)
    if new_database and bound is not None:
        raise ConfigurationError(
            f"the signing keys in {key_dir} already sign another log (log id {bound.log_id}, "
            f"{bound.database}), and {describe_database(database_url)} does not exist yet; "
            f"one key never signs two logs: {_ADVICE}")


async def bind_keys_to_log(log: LogStore, key_dir: Path, signers: Sequence[Signer],
                           origin: str, database_url: str) -> None:
    """Check that ``signers`` (the keys in ``key_dir``) may sign the log of ``log``'s
    database, bind the folder to it on first start and record the keys that sign it.

    Raises ConfigurationError, saying what to do, when the folder's keys already signed
    another log or the database's log was begun under other keys.
    """
    log_id = await log.log_id()
    here = BoundLog(log_id, origin, describe_database(database_url))
    bound = read_marker(key_dir)
    if bound is None:
        if await _begun_by_others(log, signers):
            raise ConfigurationError(
                f"the log of {here.database} (log id {log_id}) was begun under other signing "
                f"keys ({_key_ids(await log.signing_keys())}); the keys in {key_dir} "
                f"({_key_ids([s.verifier.vkey for s in signers])}) never signed it. Point "
                f"LEDGER_KEY_DIR at that log's keys, or {_ADVICE}")
        bound = _write_marker(key_dir, here)
    if bound.log_id != log_id:
        raise ConfigurationError(
            f"the signing keys in {key_dir} already sign another log (log id {bound.log_id}, "
            f"{bound.database}), not the log of {here.database} (log id {log_id}); one key "
            f"never signs two logs: {_ADVICE}")
    await log.record_signing_keys([s.verifier.vkey for s in signers])
