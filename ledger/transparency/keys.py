"""Checkpoint signing keys on disk: ``<key dir>/<key id>.skey`` (mode 0600) and ``.vkey``.

Rotation: every ``.skey`` in the folder signs; ``retire`` moves a signing key to
``retired/`` and keeps its ``.vkey`` so old checkpoints still verify.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable
from pathlib import Path

from ledger.durable import write_durably
from ledger.errors import ConfigurationError, NotFoundError
from ledger.tlog.note import (
    Signer,
    Verifier,
    generate_key,
    parse_signer_key,
    parse_verifier_key,
)


def write_private(path: Path, text: str) -> None:
    """Write a new secret file, mode 0600 from creation, durably (ledger.durable: temporary
    file, fsync, published by ``link``, folder fsynced); never overwrites one
    (FileExistsError), and a crash leaves no half-written key under ``path``."""
    write_durably(path, (text + "\n").encode("ascii"), mode=0o600, overwrite=False)


def create_key(key_dir: Path, origin: str) -> tuple[Path, str]:
    """Generate a signing key named ``origin``; return (its .skey path, verifier key string)."""
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    skey, vkey = generate_key(origin)
    key_id = vkey.split("+")[1]
    path = key_dir / f"{key_id}.skey"
    write_private(path, skey)
    (key_dir / f"{key_id}.vkey").write_text(vkey + "\n", encoding="ascii")
    return path, vkey


def load_signers(key_dir: Path, origin: str) -> list[Signer]:
    """Every active signing key; refuses keys readable by others or named for another log."""
    signers = []
    for path in sorted(key_dir.glob("*.skey")):
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            raise ConfigurationError(f"{path} is readable by others; chmod 600 it")
        signer = parse_signer_key(path.read_text(encoding="ascii").strip())
        if signer.name != origin:
            raise ConfigurationError(
                f"{path} signs for {signer.name!r}, but the log origin is {origin!r}")
        signers.append(signer)
    return signers


def ensure_signers(key_dir: Path, origin: str) -> list[Signer]:
    """The active signing keys, generating one on first run; ConfigurationError naming
    LEDGER_KEY_DIR when the folder cannot be read or made."""
    try:
        if not list(key_dir.glob("*.skey")):
            create_key(key_dir, origin)
        return load_signers(key_dir, origin)
    except OSError as e:
        raise ConfigurationError(f"LEDGER_KEY_DIR {key_dir}: {e.strerror or e}") from e


def load_verifiers(key_dir: Path, extra: list[str] | None = None) -> list[Verifier]:
    """Every known public key (active and retired) plus ``extra`` verifier key strings, each
    key once."""
    texts = [p.read_text(encoding="ascii").strip() for p in sorted(key_dir.glob("*.vkey"))]
    return unique_verifiers(parse_verifier_key(t) for t in [*texts, *(extra or [])])


def require_verifiers(key_dir: Path, extra: list[str] | None = None) -> list[Verifier]:
    """``load_verifiers``, refusing to go on with none: every checkpoint would then fail as
    if tampered with, when what is missing is the key to check it with."""
    verifiers = load_verifiers(key_dir, extra)
    if not verifiers:
        raise ConfigurationError(
            f"no verifier key to check the log's checkpoints with: {key_dir} "
            "(LEDGER_KEY_DIR) holds no .vkey file; pass the log's published verifier key "
            "with --key (the string, or a .vkey file)")
    return verifiers


def unique_verifiers(verifiers: Iterable[Verifier]) -> list[Verifier]:
    """``verifiers`` in order, each identical key (name and public key) kept once.

    Passing the service's own verifier key with ``--key`` while it is also in the key folder
    must not make every checkpoint "ambiguous": the same key twice is one key. Two different
    public keys that share a name and key ID stay, so open_note still refuses them as
    ambiguous (C2SP signed-note: a verifier cannot tell which one signed).
    """
    seen: set[tuple[str, bytes]] = set()
    unique = []
    for verifier in verifiers:
        if (verifier.name, verifier.public_key) not in seen:
            seen.add((verifier.name, verifier.public_key))
            unique.append(verifier)
    return unique


def retire_key(key_dir: Path, key_id: str) -> Path:
    """Stop signing with ``key_id`` (its verifier key stays trusted)."""
    source = key_dir / f"{key_id}.skey"
    if not source.exists():
        raise NotFoundError(f"no active signing key {key_id} in {key_dir}")
    retired = key_dir / "retired"
    retired.mkdir(mode=0o700, exist_ok=True)
    return source.rename(retired / source.name)
