"""The failed-authentication limiter: a sliding window per address, bounded memory."""

from __future__ import annotations

import pytest

from api.ratelimit import AuthFailureLimiter, client_key
from ledger.errors import ConfigurationError, RateLimitedError
from ledger.settings import Settings


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_is_limited_after_limit_failures_until_the_oldest_leaves_the_window(
        ) -> None:
    clock = Clock()
    limiter = AuthFailureLimiter(3, 60, clock=clock)
    for moment in (1000.0, 1010.0, 1020.0):
        clock.now = moment
        limiter.check("10.0.0.1")
        limiter.record_failure("10.0.0.1")
    with pytest.raises(RateLimitedError) as refused:
        limiter.check("10.0.0.1")
    assert refused.value.retry_after == 40  # the failure at 1000 leaves the window at 1060
    limiter.check("10.0.0.2")
    clock.now = 1059.5
    with pytest.raises(RateLimitedError, match="retry in 1 s"):
        limiter.check("10.0.0.1")
    clock.now = 1060.0
    limiter.check("10.0.0.1")  # two failures left in the window (1010, 1020): below the limit
    limiter.record_failure("10.0.0.1")
    with pytest.raises(RateLimitedError):
        limiter.check("10.0.0.1")


def test_memory_is_bounded_per_address_and_in_addresses() -> None:
    clock = Clock()
    limiter = AuthFailureLimiter(2, 60, max_addresses=3, clock=clock)
    for _ in range(100):
        limiter.record_failure("10.0.0.1")
    assert len(limiter._failures["10.0.0.1"]) == 2
    for n in range(2, 10):
        limiter.record_failure(f"10.0.0.{n}")
    assert len(limiter) == 3
    assert list(limiter._failures) == ["10.0.0.7", "10.0.0.8", "10.0.0.9"]
    limiter.check("10.0.0.1")  # forgotten, least recently failing first


def test_an_address_whose_failures_all_expired_is_forgotten() -> None:
    clock = Clock()
    limiter = AuthFailureLimiter(5, 60, clock=clock)
    limiter.record_failure("10.0.0.1")
    clock.now += 61
    limiter.check("10.0.0.1")
    assert len(limiter) == 0


def test_the_token_lifetime_and_the_limit_are_read_from_the_environment() -> None:
    settings = Settings.from_env({"LEDGER_TOKEN_TTL_DAYS": "30",
                                  "LEDGER_AUTH_FAILURE_LIMIT": "20",
                                  "LEDGER_AUTH_FAILURE_WINDOW_SECONDS": "120"})
    assert (settings.token_ttl.days, settings.auth_failure_limit,
            settings.auth_failure_window) == (30, 20, 120)
    defaults = Settings.from_env({})
    assert (defaults.token_ttl.days, defaults.auth_failure_limit,
            defaults.auth_failure_window) == (90, 10, 60)
    for bad in ("0", "-3", "ninety", "1e3", "٣", "99999"):
        with pytest.raises(ConfigurationError, match="LEDGER_TOKEN_TTL_DAYS"):
            Settings.from_env({"LEDGER_TOKEN_TTL_DAYS": bad})


def test_ipv6_clients_are_counted_per_64_and_mapped_ipv4_as_ipv4() -> None:
    assert client_key("2001:db8:1:2:3:4:5:6") == client_key("2001:db8:1:2:ffff::1") == (
        "2001:db8:1:2::/64")
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:10.0.0.1") == client_key("10.0.0.1") == "10.0.0.1"
    assert client_key("") == ""


def test_ipv4_clients_reaching_an_ipv6_server_through_a_translator_are_counted_apart() -> None:
    # Behind a stateless NAT64/SIIT gateway (RFC 6052's well-known prefix 64:ff9b::/96) every
    # IPv4 client arrives from the same /64: counted per /64, one client's bad tokens locked
    # every IPv4 client out. Each is its embedded IPv4 address, as a mapped one is; a Teredo
    # client is its own (obfuscated) IPv4 address, not its relay server's /64.
    assert client_key("64:ff9b::10.0.0.1") == client_key("10.0.0.1") == "10.0.0.1"
    assert client_key("64:ff9b::10.0.0.1") != client_key("64:ff9b::10.0.0.2")
    teredo = "2001:0:4136:e378:8000:63bf:3fff:fdd2"  # RFC 4380's example: client 192.0.2.45
    assert client_key(teredo) == "192.0.2.45"
    assert client_key("64:ff9b:0:0:1::1") == "64:ff9b::/64"  # not the /96: an IPv6 host
