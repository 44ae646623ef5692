"""The files beside the database: evidence files of a filesystem blob store, and the signing
key folder (only when asked). Listing and copying, no database."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ledger.errors import ConfigurationError

_BLOB_NAME = re.compile(r"[0-9a-f]{64}")


def blob_files(root: Path) -> list[tuple[Path, str]]:
    """Every stored blob under a filesystem blob store's ``root`` as (file, part path);
    unfinished uploads (``tmp/``) and anything not named like a blob are left out."""
    found: list[tuple[Path, str]] = []
    if not root.is_dir():
        return found
    for first in sorted(root.iterdir()):
        if first.name == "tmp" or not first.is_dir():
            continue
        for second in sorted(first.iterdir()):
            if not second.is_dir():
                continue
            for blob in sorted(second.iterdir()):
                if _BLOB_NAME.fullmatch(blob.name) and blob.is_file() and \
                        blob.name[:2] == first.name and blob.name[2:4] == second.name:
                    found.append((blob, f"blobs/{first.name}/{second.name}/{blob.name}"))
    return found


def key_files(key_dir: Path) -> list[tuple[Path, str]]:
    """Every file of the signing key folder (keys, verifier keys, the log binding, retired
    keys) as (file, part path under ``keys/``); ConfigurationError when it holds no signing
    key (there is then nothing to include)."""
    if not list(key_dir.glob("*.skey")):
        raise ConfigurationError(f"no signing key in {key_dir} to include (LEDGER_KEY_DIR)")
    found: list[tuple[Path, str]] = []
    for folder, _, names in os.walk(key_dir):
        for name in sorted(names):
            path = Path(folder) / name
            if not name.startswith(".") and path.is_file() and not path.is_symlink():
                found.append((path, "keys/" + path.relative_to(key_dir).as_posix()))
    return found


def verifier_keys(key_dir: Path) -> list[str]:
    """The verifier key strings in the key folder (active and retired), public."""
    paths = [*key_dir.glob("*.vkey"), *key_dir.glob("retired/*.vkey")]
    return sorted({p.read_text(encoding="ascii").strip() for p in paths})


def install_keys(backup: Path, relatives: list[str], key_dir: Path) -> None:
    """Copy the backup's ``keys/…`` parts into an empty ``key_dir``: folders 0700, files
    0600, never overwriting (ConfigurationError when the folder already holds a key)."""
    if list(key_dir.glob("*.skey")) or (key_dir / "log-id").exists():
        raise ConfigurationError(f"{key_dir} already holds signing keys or a log binding: "
                                 "restoring keys never overwrites or mixes keys; point "
                                 "LEDGER_KEY_DIR at an empty folder")
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for relative in relatives:
        target = key_dir / relative.removeprefix("keys/")
        if target.parent != key_dir:
            target.parent.mkdir(exist_ok=True, mode=0o700)  # retired/: one level
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write((backup / relative).read_bytes())
            out.flush()
            os.fsync(out.fileno())
