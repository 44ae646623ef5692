"""Failed authentication, limited per client address across the whole deployment.

A client address (IPv6: its /64) that presents ``limit`` bad credentials within ``window``
seconds is refused (429 + Retry-After) for every request carrying credentials, valid or not,
until the oldest of those failures leaves the window. Refusing valid tokens too is deliberate:
if a correct guess still got through, the limit would not slow guessing at all; and the refusal
comes before the token lookup. Successful requests never count, requests without credentials
are not limited (they learn nothing), and other addresses are unaffected.

The count is the deployment's (``SharedAuthFailureLimiter``): every failure is written to the
ledger's database (``auth_failures``), which every ``ledger serve`` process shares, so N
processes still allow ``limit`` failures per window, not N times that. Each process keeps two
fast paths that only ever refuse earlier, never later: its own sliding window
(``AuthFailureLimiter``: what it saw itself is part of what the deployment saw) and, per
address, when a refusal it read from the database ends; a flood from a limited address is
then refused without touching the database, and the writes one address can cause are bounded
by ``limit`` per window. Credentials sent at once are not all checked before any fails:
a process looks up at most ``limit`` less the failures it saw at once per address, and a
request beyond that waits for one of those lookups to end and is checked again
(``attempt``; at most ``wait_seconds``, 2 s, then 503 + Retry-After, so lookups that hang
on the database hold no queue behind them), so a burst gets no more guesses than a sequence.
Expired failures are deleted
as new ones are written; the table only holds live windows.

So that a request with good credentials costs no database read, a process that read an
address's count below the limit trusts that answer for ``clean_seconds`` (1 s), and every
failure it records reads the count again. Once the deployment's count reaches the limit, each
other process therefore learns it at its next failure from that address or within a second,
whichever comes first: across N processes an address gets at most N - 1 guesses past the
limit (one per process), and a token guessed right in that second is let through.

The address is the TCP peer (``request.remote``): behind a reverse proxy every client shares
the proxy's address, so limit there instead.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import math
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable

from ledger.errors import PushbackError, RateLimitedError
from ledger.store.auth_failure_port import AuthFailureStore

DEFAULT_MAX_ADDRESSES = 10_000
DEFAULT_CLEAN_SECONDS = 1.0  # how long a process trusts the database's "not limited"
DEFAULT_WAIT_SECONDS = 2.0  # then a request waiting for one of its address's lookups gets 503


def _remember(memo: OrderedDict[str, float], address: str, until: float, bound: int) -> None:
    """``memo[address] = until``, the oldest entries dropped past ``bound`` addresses."""
    memo.pop(address, None)
    while len(memo) >= bound:
        memo.popitem(last=False)
    memo[address] = until


# RFC 6052's well-known prefix: a NAT64/SIIT gateway's IPv4 clients, the address in the low
# 32 bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@functools.lru_cache(maxsize=4096)  # asked on every request: parse each address once
def client_key(address: str) -> str:
    """What failures are counted under: an IPv4 address, or the /64 of an IPv6 one (one
    host usually holds a whole /64, so counting single IPv6 addresses would limit nothing).
    An IPv6 address that stands for an IPv4 client is that client's IPv4 address: mapped
    (``::ffff:a.b.c.d``), translated by a NAT64/SIIT gateway (RFC 6052's ``64:ff9b::/96``,
    where every IPv4 client shares one /64) or a Teredo client (RFC 4380)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv4Address):
        return str(parsed)
    if (ipv4 := _ipv4_client(parsed)) is not None:
        return str(ipv4)
    return str(ipaddress.IPv6Network(f"{parsed}/64", strict=False))


def _ipv4_client(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.teredo is not None:
        return address.teredo[1]
    return None


def _refusal(retry_after: float) -> RateLimitedError:
    seconds = max(1, math.ceil(retry_after))
    return RateLimitedError(
        f"too many failed authentications from this address; retry in {seconds} s",
        retry_after=seconds)


class AuthFailureLimiter:
    """Sliding-window count of authentication failures per client address, in this process
    (memory bounded: at most ``limit`` timestamps per address and ``max_addresses``
    addresses, the least recently failing forgotten first)."""

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
            raise _refusal(failures[0] + self.window - now)

    def count(self, address: str) -> int:
        """How many failures from ``address`` this process saw within the window."""
        failures = self._failures.get(address)
        if failures is None:
            return 0
        now = self.clock()
        return sum(1 for at in failures if at > now - self.window)

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


class SharedAuthFailureLimiter:
    """The deployment's limit: failures counted in ``store`` (the database every process
    shares) on wall-clock time, with this process's fast paths in front (module docstring)."""

    def __init__(self, store: AuthFailureStore, limit: int, window: float,
                 max_addresses: int = DEFAULT_MAX_ADDRESSES,
                 clock: Callable[[], float] = time.time,
                 on_failure: Callable[[], None] | None = None,
                 clean_seconds: float = DEFAULT_CLEAN_SECONDS,
                 wait_seconds: float = DEFAULT_WAIT_SECONDS) -> None:
        self.store = store
        self.wait_seconds = wait_seconds  # the longest a request waits for a lookup slot
        self.limit = limit
        self.window = window
        self.clock = clock
        self.local = AuthFailureLimiter(limit, window, max_addresses, clock=clock,
                                        on_failure=on_failure)
        self.max_addresses = max_addresses
        self.clean_seconds = clean_seconds
        self._refused_until: OrderedDict[str, float] = OrderedDict()
        self._clean_until: OrderedDict[str, float] = OrderedDict()
        self._in_flight: dict[str, int] = {}  # credentials of an address being looked up
        self._settled = asyncio.Event()  # set (and replaced) whenever a lookup ends

    @contextlib.asynccontextmanager
    async def attempt(self, address: str) -> AsyncIterator[None]:
        """``check(address)``, then hold one of the address's lookups until the block ends
        (record a failure within it). This process looks up at most ``limit`` less the
        failures it saw in the window at once for one address; a request beyond waits for one
        of them to end and is checked again, so a burst of bad credentials sent at once gets
        no more guesses than the same sent one by one (each was checked before any failed)."""
        give_up = time.monotonic() + self.wait_seconds
        while True:  # waiting costs the database nothing: a burst reads it `limit` at a time
            self.local.check(address)
            if self._in_flight.get(address, 0) + self.local.count(address) < self.limit:
                break
            try:  # lookups that do not end (a hung database) hold no one longer than this
                await asyncio.wait_for(self._settled.wait(), give_up - time.monotonic())
            except TimeoutError:
                raise PushbackError("too many authentications from this address are "
                                    "being checked; try again") from None
        self._in_flight[address] = self._in_flight.get(address, 0) + 1
        try:
            await self._check_shared(address)  # this process's count was checked just now
            yield
        finally:
            left = self._in_flight[address] - 1
            if left:
                self._in_flight[address] = left
            else:
                del self._in_flight[address]
            settled, self._settled = self._settled, asyncio.Event()
            settled.set()

    async def check(self, address: str) -> None:
        """Raise RateLimitedError while the deployment has seen ``limit`` failures from
        ``address`` in the window."""
        self.local.check(address)  # this process alone saw enough: so did the deployment
        await self._check_shared(address)

    async def _check_shared(self, address: str) -> None:
        """The deployment's count: a refusal or a clean answer remembered, else the store."""
        now = self.clock()
        until = self._refused_until.get(address)
        if until is not None:
            if until > now:
                raise _refusal(until - now)
            del self._refused_until[address]
        clean = self._clean_until.get(address)
        if clean is not None and clean > now:
            return  # the database showed no limit a moment ago (module docstring)
        await self._read(address, now)

    async def _read(self, address: str, now: float) -> None:
        """Ask the database; remember a refusal until it ends, or a clean answer briefly."""
        recent = await self.store.recent_failures(address, now - self.window, self.limit)
        if len(recent) >= self.limit:
            # Refused until the limit-th most recent failure leaves the window; failures are
            # never taken back, so no process can learn of an earlier end.
            until = recent[-1] + self.window
            self._clean_until.pop(address, None)
            _remember(self._refused_until, address, until, self.max_addresses)
            raise _refusal(until - now)
        _remember(self._clean_until, address, now + self.clean_seconds, self.max_addresses)

    async def record_failure(self, address: str) -> None:
        """Count one failed authentication from ``address``, for every process."""
        self.local.record_failure(address)
        now = self.clock()
        await self.store.add_failure(address, now, now - self.window)
        # what this failure makes of the count, whichever processes saw the others: the next
        # request from the address is refused here at once, without waiting out a clean answer
        self._clean_until.pop(address, None)
        with contextlib.suppress(RateLimitedError):  # this request is answered as a failure;
            await self._read(address, now)  # the refusal starts with the next
