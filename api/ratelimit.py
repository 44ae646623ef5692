"""Failed authentication, limited per client address.

A client address (IPv6: its /64) that presents ``limit`` bad credentials within ``window``
seconds is refused (429 + Retry-After) for every request carrying credentials, valid or not,
until the oldest of those failures leaves the window. Refusing valid tokens too is deliberate:
if a correct guess still got through, the limit would not slow guessing at all; and the refusal
comes before the token lookup, so a flood costs the database nothing. Successful requests never
count, requests without credentials are not limited (they learn nothing), and other addresses
are unaffected.

Memory is bounded: at most ``limit`` timestamps per address and ``max_addresses`` addresses,
the least recently failing forgotten first. The address is the TCP peer (``request.remote``):
behind a reverse proxy every client shares the proxy's address, so limit there instead. The
count lives in each API process (they share no state), so N processes allow up to N times the
limit: still a fixed bound on guessing, kept out of the database on purpose (a flood of bad
tokens must not turn into a flood of writes).
"""

from __future__ import annotations

import functools
import ipaddress
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from ledger.errors import RateLimitedError

DEFAULT_MAX_ADDRESSES = 10_000


@functools.lru_cache(maxsize=4096)  # asked on every request: parse each address once
def client_key(address: str) -> str:
    """What failures are counted under: an IPv4 address, or the /64 of an IPv6 one (one
    host usually holds a whole /64, so counting single IPv6 addresses would limit nothing)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is None:
        return str(ipaddress.IPv6Network(f"{parsed}/64", strict=False))
    return str(parsed.ipv4_mapped if isinstance(parsed, ipaddress.IPv6Address) else parsed)


class AuthFailureLimiter:
    """Sliding-window count of authentication failures per client address."""

    def __init__(self, limit: int, window: float, max_addresses: int = DEFAULT_MAX_ADDRESSES,
                 clock: Callable[[], float] = time.monotonic,
                 on_failure: Callable[[], None] | None = None) -> None:
        self.limit = limit
        self.on_failure = on_failure  # told of every failure (the metrics' counter)
        self.window = window
        self.max_addresses = max_addresses
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def check(self, address: str) -> None:
        """Raise RateLimitedError while ``address`` has ``limit`` failures in the window."""
        failures = self._failures.get(address)
        if failures is None:
            return
        now = self.clock()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[address]
        elif len(failures) >= self.limit:
            retry_after = max(1, math.ceil(failures[0] + self.window - now))
            raise RateLimitedError(
                f"too many failed authentications from this address; retry in {retry_after} s",
                retry_after=retry_after)

    def record_failure(self, address: str) -> None:
        """Count one failed authentication from ``address``."""
        if self.on_failure is not None:
            self.on_failure()
        failures = self._failures.pop(address, None)
        if failures is None:
            failures = deque(maxlen=self.limit)
            while len(self._failures) >= self.max_addresses:
                self._failures.popitem(last=False)
        failures.append(self.clock())
        self._failures[address] = failures  # most recently failing last

    def __len__(self) -> int:
        """How many addresses are tracked."""
        return len(self._failures)
