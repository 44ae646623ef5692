"""The token cache answers only while enabled, for a bounded time, never past a token's expiry,
and never with a lookup that began before an invalidation."""

from __future__ import annotations

import datetime as dt

from ledger.principals import Principal
from ledger.store.token_cache import TokenCache

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=1)
LI = Principal("li.na", "李娜", ("hr",))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def enabled_cache() -> TokenCache:
    cache = TokenCache(clock=Clock())
    cache.enable()
    return cache


def test_answers_a_kept_lookup_while_enabled() -> None:
    cache = enabled_cache()
    cache.put(b"h" * 32, LI, LATER, cache.generation)
    assert cache.get(b"h" * 32, NOW) == LI
    assert cache.get(b"x" * 32, NOW) is None


def test_answers_nothing_and_keeps_nothing_while_disabled() -> None:
    cache = TokenCache()
    cache.put(b"h" * 32, LI, LATER, cache.generation)
    assert len(cache) == 0
    cache.enable()
    cache.put(b"h" * 32, LI, LATER, cache.generation)
    cache.disable()
    assert cache.get(b"h" * 32, NOW) is None
    cache.enable()
    assert cache.get(b"h" * 32, NOW) is None  # what was kept before is gone


def test_refuses_a_lookup_that_began_before_an_invalidation() -> None:
    cache = enabled_cache()
    began = cache.generation
    cache.invalidate()  # a revocation noticed while the lookup ran
    cache.put(b"h" * 32, LI, LATER, began)
    assert cache.get(b"h" * 32, NOW) is None


def test_invalidation_forgets_every_entry() -> None:
    cache = enabled_cache()
    cache.put(b"h" * 32, LI, LATER, cache.generation)
    cache.invalidate()
    assert cache.get(b"h" * 32, NOW) is None


def test_trusts_a_lookup_for_the_ttl_only() -> None:
    clock = Clock()
    cache = TokenCache(ttl_seconds=2.0, clock=clock)
    cache.enable()
    cache.put(b"h" * 32, LI, LATER, cache.generation)
    clock.now += 1.9
    assert cache.get(b"h" * 32, NOW) == LI
    clock.now += 0.1
    assert cache.get(b"h" * 32, NOW) is None


def test_never_answers_past_the_tokens_own_expiry() -> None:
    cache = enabled_cache()
    cache.put(b"h" * 32, LI, NOW + dt.timedelta(seconds=1), cache.generation)
    assert cache.get(b"h" * 32, NOW) == LI
    assert cache.get(b"h" * 32, NOW + dt.timedelta(seconds=1)) is None


def test_keeps_at_most_max_entries_dropping_the_oldest() -> None:
    cache = TokenCache(max_entries=3)
    cache.enable()
    hashes = [bytes([i]) * 32 for i in range(5)]
    for h in hashes:
        cache.put(h, LI, LATER, cache.generation)
    assert len(cache) == 3
    assert cache.get(hashes[0], NOW) is None and cache.get(hashes[1], NOW) is None
    assert all(cache.get(h, NOW) == LI for h in hashes[2:])
