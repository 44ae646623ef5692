"""A serving process freezes what it built while starting, spaces collections out, and
gives the C allocator's free pages back to the system."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from pathlib import Path

import pytest

from ledger import heap
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


def test_a_middle_collection_walks_a_bounded_young_heap_while_caches_fill() -> None:
    # Every object a young collection sees survives (a cache filling): a middle collection
    # walks what piled up since the last, with the event loop waiting meanwhile.
    before, walked = gc.get_threshold(), []

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 1:
            walked.append(len(gc.get_objects(0)) + len(gc.get_objects(1)))

    gc.collect()
    gc.set_threshold(*THRESHOLDS)
    gc.callbacks.append(watch)
    try:
        kept = [[] for _ in range(600_000)]
    finally:
        gc.callbacks.remove(watch)
        gc.set_threshold(*before)
    assert len(kept) == 600_000
    assert walked and max(walked) <= 100_000  # 80,000 here; 440,000 at 20/20/20
    assert THRESHOLDS[1] * THRESHOLDS[2] >= 400  # full collections no more often than before


def _resident_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_free_memory_the_allocator_kept_goes_back_to_the_system() -> None:
    # Blocks over Python's 512-byte limit come from malloc; one in 16 kept alive pins the
    # heap's top, so glibc keeps the freed ones between them resident until asked.
    blocks = [bytes(2000) for _ in range(40_000)]
    kept = blocks[::16]
    del blocks
    held = _resident_mib()
    assert heap.release_free_memory() is True
    assert _resident_mib() < held - 40
    assert len(kept) == 2500


async def test_the_trimmer_trims_in_a_thread_until_stopped() -> None:
    trimmer = heap.Trimmer(interval=0.01)
    await trimmer.start()
    await asyncio.sleep(0.05)
    await trimmer.stop()
