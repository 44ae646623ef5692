"""The garbage collector's settings for a serving process (``ledger serve``).

CPython's cyclic collector runs a young collection every 700 net allocations and, every
hundred of those, a full one that walks every tracked object. A server holds tens of
thousands of long-lived objects (modules, the app, and its caches of aggregates, board
folds, tokens and recent entries), so under load the full walks cost it a tenth or more of
its CPU and stall every request in flight for as long as they last. Once the process is up,
what it built while starting is moved out of the collector's sight (``gc.freeze``: it lives
as long as the process) and the young generation is allowed to grow larger before it is
collected, so fewer objects survive into the older generations to be walked again.
Reference counting still frees everything that is not in a cycle at once; this only changes
how often cycles are looked for.

Memory the process frees is another matter. Under ``scripts/load.py`` the resident size grew
while Python's objects and blocks, and the C allocator's bytes in use (glibc's ``mallinfo2``),
stayed flat: glibc's free bytes grew from 7 to 35 MiB in two minutes (request bodies, rows and
documents larger than Python's 512-byte small blocks, freed but kept by the allocator, which
returns only the top of its heap by itself). ``Trimmer`` asks it (``malloc_trim``) to return
every free page, every ``TRIM_SECONDS``, in a thread (ctypes lets go of the interpreter's lock,
so the event loop runs meanwhile). Elsewhere than glibc it does nothing.

Trimming returns whole free pages only. Blocks of a few KiB and more that live for a moment
(request and upload bodies of 8-64 KiB, rows, response buffers) were still carved out of the
heap between blocks that live long (cache entries, recent entries), and the holes they left
were reused only in part: under ``scripts/load.py`` glibc's free bytes grew from 9 to 45 MiB in
160 s in spite of the trims, and RSS with them. ``map_large_blocks`` has glibc serve every
block of ``MMAP_THRESHOLD`` bytes or more from a mapping of its own, returned to the system
when it is freed (``mallopt(M_MMAP_THRESHOLD)``; glibc's own threshold starts at 128 KiB and
rises to 32 MiB as such blocks are freed): the free bytes then stayed at 1-2 MiB. An
operator's own ``MALLOC_MMAP_THRESHOLD_`` or ``GLIBC_TUNABLES`` setting is left as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import gc
import os
import sys
from collections.abc import Callable

# Young collections every 20,000 net allocations (CPython: 700), a middle one every 2 of
# those and a full one every 200 middle ones (CPython: 10 and 10). A middle collection walks
# every object that survived a young one since the last: while the caches fill nearly all do,
# and at 20 young ones a middle one walked some 440,000 objects, 200-450 ms with the event
# loop waiting (scripts/load.py, every ~4 minutes); at 2 it walks at most ~80,000, and full
# collections stay as rare (every 400-600 young ones). What a collection frees costs too: keep
# requests from making cycles (README "Load test").
THRESHOLDS = (20_000, 2, 200)


def settle_heap() -> None:
    """Collect once, freeze what survives, and space collections out (see the module).

    Precondition: the process has started what it serves with (call it after startup, once);
    calling it again freezes what has been built since.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


TRIM_SECONDS = 30.0


@functools.cache
def _glibc(name: str) -> Callable[..., int] | None:
    """glibc's function ``name``, or None elsewhere (not Linux, or a libc without it: musl
    has no ``malloc_trim``)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function: Callable[..., int] = getattr(ctypes.CDLL("libc.so.6"), name)
        return function
    except (OSError, AttributeError):
        return None


# glibc's mallopt parameter (malloc.h), and the size from which a block gets its own mapping:
# above every short-lived buffer's common size, far above Python's 512-byte small blocks and
# the ~1-2 KiB entries and packed aggregates the caches keep.
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 8 * 1024


def map_large_blocks(threshold: int = MMAP_THRESHOLD) -> bool:
    """Have glibc serve blocks of ``threshold`` bytes or more from mappings of their own (see
    the module); False where there is no such call, or the operator set the threshold.

    Precondition: call it once, early in a serving process (blocks allocated before keep
    their place)."""
    mallopt = _glibc("mallopt")
    if mallopt is None or "MALLOC_MMAP_THRESHOLD_" in os.environ or (
            "mmap_threshold" in os.environ.get("GLIBC_TUNABLES", "")):
        return False
    return mallopt(_M_MMAP_THRESHOLD, threshold) == 1


def release_free_memory() -> bool:
    """Return the C allocator's free pages to the system (glibc's ``malloc_trim(0)``);
    False where there is no such call. Blocks for milliseconds: call it off the event loop."""
    trim = _glibc("malloc_trim")
    if trim is None:
        return False
    trim(0)
    return True


class Trimmer:
    """Calls ``release_free_memory`` in a thread every ``interval`` seconds until stopped."""

    def __init__(self, interval: float = TRIM_SECONDS) -> None:
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Begin (once); nothing runs where the allocator cannot be asked."""
        if self._task is None and _glibc("malloc_trim") is not None:
            self._task = asyncio.create_task(self._run(), name="heap-trim")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await asyncio.to_thread(release_free_memory)

    async def stop(self) -> None:
        """Stop trimming."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
