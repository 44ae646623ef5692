"""Facts a view shows with their moment: check the moment, compare the rest."""

from __future__ import annotations

from typing import Any

from ledger.entry import parse_time


def timeless(fact: Any) -> Any:
    """``fact`` (a dict, or a list of them) without its ``recorded_at``, which must be the
    entry form of a time (RFC 3339 UTC with microseconds)."""
    if isinstance(fact, list):
        return [timeless(f) for f in fact]
    assert isinstance(fact, dict), fact
    parse_time(fact["recorded_at"])
    return {k: v for k, v in fact.items() if k != "recorded_at"}
