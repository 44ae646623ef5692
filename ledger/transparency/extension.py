"""Does the log extend a checkpoint it signed before? The question both a monitor (``ledger
audit`` with its state file) and an operator after a restore (``ledger verify
--since-checkpoint``) ask, answered one way (RFC 9162 section 2.1.4).

A trusted checkpoint of size m and root r is extended by the log's current tree of size n
and root R when n >= m, the log's own tree at size m has root r, and the RFC 9162
consistency proof from m to n verifies against r and R. Otherwise the log either lost entries
(``RollbackError``: acknowledged events are missing, say after a restore from an older
backup) or holds another history (``ForkError``: the same key signed two trees that do not
extend one another). The callers word the message; the errors carry the sizes and roots.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from ledger.errors import VerificationError
from ledger.store.log_port import LogStore
from ledger.tlog.checkpoint import Checkpoint, open_checkpoint
from ledger.tlog.note import Verifier
from ledger.tlog.proof import verify_consistency
from ledger.tlog.tree import tree_hash
from ledger.transparency.prefetch import with_hashes
from ledger.transparency.reader import LogReader

RootAt = Callable[[int], Awaitable[bytes]]
ConsistencyProof = Callable[[int, int], Awaitable[Sequence[bytes]]]


class RollbackError(VerificationError):
    """The log has ``size`` entries, fewer than the ``trusted_size`` a checkpoint it signed
    before covers: ``missing`` acknowledged entries are gone."""

    def __init__(self, *, trusted_size: int, size: int) -> None:
        super().__init__(f"the log has {size} entries, fewer than the {trusted_size} of the "
                         "trusted checkpoint", index=size)
        self.trusted_size = trusted_size
        self.size = size

    @property
    def missing(self) -> int:
        """How many entries the trusted checkpoint covers that the log does not hold."""
        return self.trusted_size - self.size


class ForkError(VerificationError):
    """Within the first ``trusted_size`` entries the log holds another history: its tree
    there has root ``found`` (None when only the consistency proof failed, ``detail`` says
    how), the trusted checkpoint ``expected``."""

    def __init__(self, *, trusted_size: int, expected: bytes, found: bytes | None,
                 detail: str = "") -> None:
        super().__init__(f"the log's history differs from the trusted checkpoint's within "
                         f"its first {trusted_size} entries{': ' + detail if detail else ''}",
                         index=trusted_size)
        self.trusted_size = trusted_size
        self.expected = expected
        self.found = found
        self.detail = detail


async def prove_extension(trusted_size: int, trusted_root: bytes, size: int, root: bytes,
                          root_at: RootAt, consistency_proof: ConsistencyProof) -> None:
    """Return when the tree (``size``, ``root``) extends the trusted (``trusted_size``,
    ``trusted_root``); raise ``RollbackError`` or ``ForkError`` when it does not.

    ``root_at(m)`` is the log's own tree hash at size m (recomputed or from stored hashes),
    ``consistency_proof(m, n)`` the log's RFC 9162 proof, unverified: both are checked here.
    """
    if size < trusted_size:
        raise RollbackError(trusted_size=trusted_size, size=size)
    if trusted_size == 0:  # the empty tree is a prefix of every tree
        return
    found = await root_at(trusted_size)
    if found != trusted_root:
        raise ForkError(trusted_size=trusted_size, expected=trusted_root, found=found)
    proof = await consistency_proof(trusted_size, size)
    try:
        verify_consistency(trusted_size, size, proof, trusted_root, root)
    except VerificationError as e:
        raise ForkError(trusted_size=trusted_size, expected=trusted_root, found=None,
                        detail=str(e)) from e


@dataclass(frozen=True)
class Extension:
    """A published checkpoint the stored log was proved to extend."""

    published: Checkpoint
    size: int  # the stored log's latest signed checkpoint
    proof_hashes: int  # how many hashes the consistency proof had


async def verify_log_extends(log: LogStore, note: bytes, verifiers: Sequence[Verifier],
                             origin: str) -> Extension:
    """Prove that the stored log extends the published checkpoint ``note``: its signature
    by one of ``verifiers`` (named ``origin``) first, then ``prove_extension`` against the
    stored log's latest signed checkpoint, over the stored hashes (``ledger verify`` checks
    those against the entries). Raises VerificationError (a bad note), RollbackError or
    ForkError."""
    try:
        published = open_checkpoint(note, verifiers, origin)
    except VerificationError as e:
        raise VerificationError(f"the published checkpoint does not verify with the log's "
                                f"keys: {e}") from e
    latest = await log.latest_checkpoint()
    size, root = (0, b"") if latest is None else (latest.size, latest.root)
    reader = LogReader(log)
    hashes = 0

    async def root_at(m: int) -> bytes:
        return await with_hashes(lambda r: tree_hash(m, r), log.read_hashes)

    async def proof(m: int, n: int) -> Sequence[bytes]:
        nonlocal hashes
        found = (await reader.consistency(m, n)).proof
        hashes = len(found)
        return found

    await prove_extension(published.size, published.root_hash, size, root, root_at, proof)
    return Extension(published, size, hashes)
