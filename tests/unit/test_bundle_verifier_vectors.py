"""The bundle's own ``verify.py`` against the shared known-answer vectors (``shared/vectors``).

Its Ed25519 verifier must give `cryptography`'s verdict on every case of Wycheproof, CCTV and
ed25519-speccheck (SOURCE.md there: 151 + 914 + 12 cases, copied unchanged from upstream), and
its Merkle inclusion check must reproduce transparency-dev/merkle's vectors (wantErr false:
verifies; true: does not). The vectors live beside the repository; without them the tests
skip, except in CI, where their absence is a failure.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.bundle.verify import ed25519_verify, verify_inclusion

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors"


@pytest.fixture(autouse=True)
def _require_vectors() -> None:
    if not VECTORS.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"test vectors not found at {VECTORS} (required in CI)")
        pytest.skip(f"test vectors not found at {VECTORS}")


def _ed25519_cases() -> list[Any]:
    folder = VECTORS / "ed25519"
    if not folder.is_dir():
        return []
    cases = []
    for c in json.loads((folder / "cctv_ed25519vectors.json").read_text()):
        cases.append(pytest.param(c["key"], c["msg"].encode().hex(), c["sig"],
                                  id=f"cctv-{c['number']}"))
    for i, c in enumerate(json.loads((folder / "speccheck_cases.json").read_text())):
        cases.append(pytest.param(c["pub_key"], c["message"], c["signature"],
                                  id=f"speccheck-{i}"))
    wycheproof = json.loads((folder / "wycheproof_ed25519_test.json").read_text())
    for group in wycheproof["testGroups"]:
        for t in group["tests"]:
            cases.append(pytest.param(group["publicKey"]["pk"], t["msg"], t["sig"],
                                      id=f"wycheproof-{t['tcId']}"))
    return cases


def _cryptography_verdict(key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def test_every_ed25519_vector_file_is_read() -> None:
    assert len(_ed25519_cases()) == 914 + 12 + 151  # CCTV, speccheck, Wycheproof


@pytest.mark.parametrize(("key", "message", "signature"), _ed25519_cases())
def test_ed25519_verdict_equals_cryptography(key: str, message: str, signature: str) -> None:
    args = bytes.fromhex(key), bytes.fromhex(message), bytes.fromhex(signature)
    assert ed25519_verify(*args) is _cryptography_verdict(*args)


def test_speccheck_verdicts_are_openssl_s() -> None:
    """SOURCE.md: OpenSSL 3 / PyCA accept speccheck cases 0-3 and 11 and reject 4-10."""
    cases = json.loads((VECTORS / "ed25519" / "speccheck_cases.json").read_text())
    accepted = [i for i, c in enumerate(cases) if ed25519_verify(
        bytes.fromhex(c["pub_key"]), bytes.fromhex(c["message"]), bytes.fromhex(c["signature"]))]
    assert accepted == [0, 1, 2, 3, 11]


def _inclusion_cases() -> list[Any]:
    folder = VECTORS / "merkle" / "inclusion"
    files = sorted(folder.rglob("*.json")) if folder.is_dir() else []
    return [pytest.param(f, id=str(f.relative_to(folder))) for f in files]


def test_inclusion_vectors_are_present() -> None:
    assert len(_inclusion_cases()) >= 90


@pytest.mark.parametrize("path", _inclusion_cases())
def test_inclusion_vector_verifies_exactly_when_expected(path: Path) -> None:
    case = json.loads(path.read_text())
    proof = [base64.b64decode(h) for h in case["proof"] or []]  # Go marshals nil as null
    verified = verify_inclusion(case["leafIdx"], case["treeSize"],
                                base64.b64decode(case["leafHash"]), proof,
                                base64.b64decode(case["root"]))
    assert verified is not case["wantErr"]
