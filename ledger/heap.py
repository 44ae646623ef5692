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
"""

from __future__ import annotations

import gc

# Young collections every 20,000 net allocations (CPython: 700), a middle one every 20 of
# those and a full one every 20 middle ones (CPython: 10 and 10).
THRESHOLDS = (20_000, 20, 20)


def settle_heap() -> None:
    """Collect once, freeze what survives, and space collections out (see the module).

    Precondition: the process has started what it serves with (call it after startup, once);
    calling it again freezes what has been built since.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
