"""A verifier's witness policy, "k of these n witness keys": pure.

``check`` says which cosignatures held and which keys did not cosign; a forged cosignature by
a listed key is never counted as missing: it fails the check (VerificationError)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.errors import InvalidInputError, VerificationError
from ledger.witness.cosignature import (
    Cosignature,
    WitnessKey,
    parse_witness_vkey,
    verify_cosignatures,
)


@dataclass(frozen=True)
class PolicyOutcome:
    """What a policy found on one checkpoint."""

    required: int
    held: tuple[Cosignature, ...]
    missing: tuple[WitnessKey, ...]

    @property
    def satisfied(self) -> bool:
        return len(self.held) >= self.required

    def describe(self) -> str:
        """One line: ``2 of 3 witness cosignatures held (needed 2): a, b; missing: c``."""
        held = ", ".join(f"{c.key.name} at {_utc(c.timestamp)}" for c in self.held) or "none"
        text = (f"{len(self.held)} of {len(self.held) + len(self.missing)} witness "
                f"cosignatures held (needed {self.required}): {held}")
        if self.missing:
            text += "; missing: " + ", ".join(k.name for k in self.missing)
        return text


def _utc(timestamp: int) -> str:
    """A cosignature's time (POSIX seconds) as the other verifiers print it (ISO 8601, UTC)."""
    try:
        return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):  # beyond what a date can hold: as sent
        return str(timestamp)


@dataclass(frozen=True)
class WitnessPolicy:
    """At least ``required`` of ``keys`` must cosign; requires distinct keys and
    1 <= required <= len(keys)."""

    keys: tuple[WitnessKey, ...]
    required: int

    def __post_init__(self) -> None:
        if len({(k.name, k.key_id) for k in self.keys}) != len(self.keys):
            raise InvalidInputError("witness policy lists a witness key more than once",
                                    field="witness_policy")
        if not 1 <= self.required <= len(self.keys):
            raise InvalidInputError(
                f"witness policy needs {self.required} of {len(self.keys)} keys (at least 1 "
                "and at most the number of keys)", field="witness_policy")

    @classmethod
    def parse(cls, vkeys: Sequence[str], required: int | None = None) -> WitnessPolicy:
        """A policy over witness vkeys; ``required`` defaults to all of them."""
        keys = tuple(parse_witness_vkey(v) for v in vkeys)
        return cls(keys, len(keys) if required is None else required)

    def check(self, body: str, lines: Sequence[str]) -> PolicyOutcome:
        """Which of the keys cosigned ``body`` among ``lines``; VerificationError for a forged
        cosignature by a listed key."""
        held = verify_cosignatures(body, lines, self.keys)
        cosigned = {(c.key.name, c.key.key_id) for c in held}
        missing = tuple(k for k in self.keys if (k.name, k.key_id) not in cosigned)
        return PolicyOutcome(self.required, tuple(held), missing)

    def require(self, body: str, lines: Sequence[str]) -> PolicyOutcome:
        """``check``, raising VerificationError when fewer than ``required`` held."""
        outcome = self.check(body, lines)
        if not outcome.satisfied:
            raise VerificationError(outcome.describe())
        return outcome
