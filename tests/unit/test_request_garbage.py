"""What a command computes leaves nothing for the cyclic garbage collector: under load its
collections come a minute or more apart, and one freeing a minute of cycles at once held the
serving event loop for 100-450 ms (scripts/load.py; README "Load test")."""

from __future__ import annotations

import gc

from ledger.aggregates.dependency import find_cycle
from ledger.service.item_flow import creation_order


def test_finding_a_cycle_leaves_no_garbage() -> None:
    gc.collect()
    assert find_cycle({"a": ["b"], "b": ["c"], "c": []}) is None
    assert find_cycle({"a": ["b"], "b": ["a"]}) == ["a", "b", "a"]
    assert gc.collect() == 0


def test_ordering_a_checklist_leaves_no_garbage() -> None:
    specs = [{"key": "a", "requires": ["b"]}, {"key": "b"}, {"key": "c", "requires": ["a"]}]
    gc.collect()
    assert creation_order(specs) == [1, 0, 2]
    assert gc.collect() == 0
