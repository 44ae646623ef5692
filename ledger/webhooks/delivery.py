"""One HTTP attempt (the aiohttp adapter): POST the body, never follow a redirect, read at
most a little of the answer, and say what happened. aiohttp's exceptions are mapped to an
outcome in exactly one place (``_failure``)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiohttp

from ledger.webhooks.destination import DestinationRefusedError
from ledger.webhooks.formats import Outgoing, robot_refusal

ANSWER_BYTES = 4096
USER_AGENT = "handover-ledger-webhooks/1"


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    delivered: bool
    status_code: int | None
    duration_ms: int
    error: str | None = None
    refused: bool = False  # the allow-list stopped it before any request
    retry_after: float | None = None
    gone: bool = False  # 410: the receiver wants no more (the subscription is disabled)


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isascii() and value.isdigit() else None


def _failure(e: BaseException) -> str:
    if isinstance(e, TimeoutError):
        return "timed out"
    if isinstance(e, aiohttp.ClientConnectorError):
        return f"could not connect: {e.os_error}"[:300]
    if isinstance(e, aiohttp.ClientError):
        return f"{type(e).__name__}: {e}"[:300]
    return f"{type(e).__name__}: {e}"[:300]


async def post(session: aiohttp.ClientSession, request: Outgoing, fmt: str,
               limits: aiohttp.ClientTimeout) -> Outcome:
    """Send ``request``; a 2xx (and, for a robot, an answer saying it took the message) is
    delivered, anything else (3xx included: redirects are not followed) is a failure."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **request.headers}
    try:
        async with session.post(request.url, data=request.body, headers=headers,
                                allow_redirects=False, timeout=limits) as response:
            answer = await response.content.read(ANSWER_BYTES)
            status = response.status
            if not 200 <= status < 300:
                return Outcome(False, status, took(), f"HTTP {status}",
                               retry_after=_retry_after(response), gone=status == 410)
            refusal = robot_refusal(fmt, answer) if fmt != "json" else None
            return Outcome(refusal is None, status, took(), refusal)
    except DestinationRefusedError as e:
        return Outcome(False, None, took(), str(e), refused=True)
    except (aiohttp.ClientError, TimeoutError, OSError) as e:
        return Outcome(False, None, took(), _failure(e))
