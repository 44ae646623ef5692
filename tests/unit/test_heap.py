"""A serving process freezes what it built while starting and spaces collections out."""

from __future__ import annotations

import gc

from ledger.heap import THRESHOLDS, settle_heap


def test_settling_freezes_the_startup_heap_and_raises_the_thresholds() -> None:
    before = gc.get_threshold()
    kept = [object() for _ in range(10)]  # something alive to freeze
    try:
        settle_heap()
        assert gc.get_freeze_count() >= len(kept)
        assert gc.get_threshold() == THRESHOLDS
        assert THRESHOLDS[0] > before[0]
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
