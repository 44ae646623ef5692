"""A serving process freezes what it built while starting, spaces collections out, and
gives the C allocator's free pages back to the system."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import cast

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


# Run in a process of its own: the allocator's settings last as long as the process.
_MAPPED_AFTER = """
import ctypes, json, sys
from ledger import heap

class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info

def mapped_for(size):
    before = libc.mallinfo2().hblkhd
    blocks = [bytearray(size) for _ in range(50)]
    return (libc.mallinfo2().hblkhd - before) / len(blocks)

asked = heap.map_large_blocks() if sys.argv[1] == "map" else None
print(json.dumps({"asked": asked, "large": mapped_for(16 * 1024), "small": mapped_for(2000)}))
"""


def _mapped(how: str, **env: str) -> dict[str, float | bool | None]:
    done = subprocess.run([sys.executable, "-c", _MAPPED_AFTER, how], capture_output=True,
                          text=True, check=True, env={**os.environ, **env},
                          cwd=Path(__file__).resolve().parents[2])
    found: dict[str, float | bool | None] = json.loads(done.stdout)
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_large_blocks_get_mappings_of_their_own_returned_when_freed() -> None:
    assert _mapped("default")["large"] == 0  # glibc's own threshold: carved from the heap
    mapped = _mapped("map")
    assert mapped["asked"] is True
    assert cast(float, mapped["large"]) >= 16 * 1024  # a mapping each, unmapped on free
    assert mapped["small"] == 0  # entries and packed aggregates stay in the heap


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_an_operators_own_mmap_threshold_is_left_as_it_is() -> None:
    mapped = _mapped("map", MALLOC_MMAP_THRESHOLD_="1048576")
    assert mapped["asked"] is False and mapped["large"] == 0
