"""An aggregate as one bytes object and back, for the in-process caches that hold thousands.

Held as objects, a verified aggregate costs ~3.8 KiB (its attribute dict, lists, dicts,
strings, UUID, times: a sales checklist item under scripts/load.py) and a dozen objects that
the cyclic collector walks on every full collection; packed, ~1.6 KiB in one bytes object the
collector never looks at. Unpacking costs ~15 µs where a clone costs ~1-3 µs, and gives a new,
independent aggregate each time, so a caller may change what it unpacked.

The bytes are pickles: they never leave the process, and ``unpack`` is only ever given what
``pack`` made here from a ledger aggregate (nothing read from the store, the network or a
file is unpacked; entries are decoded through ``ledger.aggregates.codec``'s allow-list).
"""

from __future__ import annotations

import pickle

from eventsourcing.domain import Aggregate


def pack(aggregate: Aggregate) -> bytes:
    """``aggregate``'s state as bytes, without its pending events (as ``clone_aggregate``).

    Precondition: none; a cache packs what was verified or committed."""
    state = dict(aggregate.__dict__)
    state["_pending_events"] = []
    return pickle.dumps((type(aggregate), state), protocol=pickle.HIGHEST_PROTOCOL)


def unpack(packed: bytes) -> Aggregate:
    """A new aggregate with the state ``pack`` kept.

    Precondition: ``packed`` is what ``pack`` returned in this process."""
    cls, state = pickle.loads(packed)  # noqa: S301 - only ``pack``'s output (see the module)
    aggregate: Aggregate = object.__new__(cls)
    aggregate.__dict__.update(state)
    return aggregate
