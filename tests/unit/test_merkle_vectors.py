"""Known-answer tests: transparency-dev/merkle's proof vectors (``shared/vectors/merkle``).

The JSON files were produced by transparency-dev/merkle's test-data generator (commit 417fb0c,
``testdata/``, see SOURCE.md there): ``inclusion/**`` holds leafIdx, treeSize, root, leafHash,
proof and wantErr; ``consistency/**`` holds size1, size2, root1, root2, proof and wantErr. Every
case with wantErr false must verify, every other must raise VerificationError.
"""

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import VerificationError
from ledger.tlog.proof import RootMismatchError, verify_consistency, verify_inclusion

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "merkle"


def _cases(kind: str) -> list[Any]:
    files = sorted((VECTORS / kind).rglob("*.json")) if VECTORS.is_dir() else []
    return [pytest.param(f, id=str(f.relative_to(VECTORS))) for f in files]


def _decode(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text())
    case["proof"] = [_decode(h) for h in case["proof"] or []]  # Go marshals nil as null
    return case


@pytest.fixture(autouse=True)
def _require_vectors() -> None:
    if not VECTORS.is_dir():
        pytest.skip(f"merkle vectors not found at {VECTORS}")


def test_vector_folders_are_present_and_complete() -> None:
    assert len(_cases("inclusion")) >= 90
    assert len(_cases("consistency")) >= 90


@pytest.mark.parametrize("path", _cases("inclusion"))
def test_inclusion_vector_verifies_exactly_when_expected(path: Path) -> None:
    case = _load(path)
    args = (
        case["leafIdx"],
        case["treeSize"],
        _decode(case["leafHash"]),
        case["proof"],
        _decode(case["root"]),
    )
    if case["wantErr"]:
        with pytest.raises(VerificationError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", _cases("consistency"))
def test_consistency_vector_verifies_exactly_when_expected(path: Path) -> None:
    case = _load(path)
    args = (
        case["size1"],
        case["size2"],
        case["proof"],
        _decode(case["root1"]),
        _decode(case["root2"]),
    )
    if case["wantErr"]:
        with pytest.raises(VerificationError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_wrong_root_reports_expected_and_calculated_roots() -> None:
    case = _load(VECTORS / "inclusion" / "1" / "happy-path.json")
    wrong_root = bytes(32)
    with pytest.raises(RootMismatchError, match="root hash at tree size 8 mismatched") as info:
        verify_inclusion(
            case["leafIdx"], case["treeSize"], _decode(case["leafHash"]), case["proof"], wrong_root
        )
    assert info.value.expected == wrong_root
    assert info.value.calculated == _decode(case["root"])


def test_rejects_proof_for_wrong_tree_size() -> None:
    case = _load(VECTORS / "inclusion" / "1" / "happy-path.json")
    with pytest.raises(VerificationError, match="wrong proof size 3, want 4"):
        verify_inclusion(0, 9, _decode(case["leafHash"]), case["proof"], _decode(case["root"]))


def test_rejects_leaf_index_beyond_tree_size() -> None:
    with pytest.raises(VerificationError, match="leaf index 8 out of range for tree size 8"):
        verify_inclusion(8, 8, bytes(32), [], bytes(32))


def test_rejects_consistency_proof_from_empty_tree() -> None:
    with pytest.raises(VerificationError, match="from an empty tree is meaningless"):
        verify_consistency(0, 5, [], bytes(32), bytes(32))
