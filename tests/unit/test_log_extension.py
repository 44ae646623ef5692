"""``prove_extension``, the one answer to "does the log extend a checkpoint it signed
before?": trees and proofs from the naive reference implementation (ledger.tlog.reference),
so the check is tested against an independent computation of RFC 6962's hashes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest

from ledger.errors import VerificationError
from ledger.tlog.reference import mth, proof
from ledger.transparency.extension import ForkError, RollbackError, prove_extension


def _entries(count: int, salt: bytes = b"") -> list[bytes]:
    return [hashlib.sha256(salt + i.to_bytes(4, "big")).digest() for i in range(count)]


async def _check(trusted: Sequence[bytes], log: Sequence[bytes],
                 proof_for: Sequence[bytes] | None = None) -> None:
    async def root_at(m: int) -> bytes:
        return mth(log[:m])

    async def consistency(m: int, n: int) -> Sequence[bytes]:
        return proof(m, log[:n]) if proof_for is None else proof_for

    await prove_extension(len(trusted), mth(trusted), len(log), mth(log), root_at, consistency)


@pytest.mark.parametrize(("old", "new"), [(0, 5), (1, 1), (1, 9), (8, 8), (7, 300), (256, 257)])
async def test_a_log_that_grew_from_the_checkpoint_extends_it(old: int, new: int) -> None:
    entries = _entries(new)
    await _check(entries[:old], entries)


async def test_a_log_smaller_than_the_checkpoint_is_a_rollback_naming_the_missing_count(
        ) -> None:
    entries = _entries(40)
    with pytest.raises(RollbackError) as lost:
        await _check(entries, entries[:33])
    assert (lost.value.missing, lost.value.size, lost.value.trusted_size) == (7, 33, 40)


async def test_another_history_of_the_same_size_or_longer_is_a_fork_with_both_roots() -> None:
    trusted = _entries(20)
    other = [*trusted[:12], *_entries(30, salt=b"rewritten")]
    with pytest.raises(ForkError) as fork:
        await _check(trusted, other)
    assert fork.value.trusted_size == 20
    assert (fork.value.expected, fork.value.found) == (mth(trusted), mth(other[:20]))


async def test_a_proof_that_does_not_lead_to_both_roots_is_a_fork() -> None:
    entries = _entries(50)
    forged = [hashlib.sha256(b"forged").digest()] * len(proof(21, entries))
    with pytest.raises(ForkError, match=r"differs .* first 21 entries") as fork:
        await _check(entries[:21], entries, proof_for=forged)
    assert fork.value.found is None and fork.value.detail
    assert isinstance(fork.value, VerificationError)
