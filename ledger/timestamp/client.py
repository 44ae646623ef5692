"""The HTTP side of RFC 3161 (section 3.4, "Time-Stamp Protocol via HTTP"): POST a DER
TimeStampReq as ``application/timestamp-query``, read a ``application/timestamp-reply``.

aiohttp's exceptions, a non-200 status and an oversized answer are mapped to one error,
``TsaUnavailableError``, in exactly one function (``_unavailable``): the timestamper treats
them alike (retry later, with backoff).
"""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from ledger.errors import PushbackError

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MAX_REPLY_BYTES = 64 * 1024  # a token with a certificate chain is a few KiB


class TsaUnavailableError(PushbackError):
    """A time-stamping authority did not answer with a time-stamp reply (down, timed out,
    refused, answered an error status or too much): try again later. ``url`` names it."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message, retry_after=5)
        self.url = url


class TsaClient:
    """Posts time-stamp queries through the process's one HTTP client (``http`` makes or
    returns it, inside the running event loop)."""

    def __init__(self, http: Callable[[], aiohttp.ClientSession]) -> None:
        self._http = http

    async def fetch(self, url: str, query: bytes, within: float) -> bytes:
        """The reply body to ``query`` from the TSA at ``url`` within ``within`` seconds;
        TsaUnavailableError when there is none (the reply itself is not checked here)."""
        try:
            async with self._http().post(
                    url, data=query, headers={"Content-Type": QUERY_TYPE},
                    timeout=aiohttp.ClientTimeout(total=within),
                    allow_redirects=False) as answer:
                if answer.status != 200:
                    raise _unavailable(url, f"answered HTTP {answer.status}")
                body = await answer.content.read(MAX_REPLY_BYTES + 1)
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            raise _unavailable(url, _describe(e)) from e
        if len(body) > MAX_REPLY_BYTES:
            raise _unavailable(url, f"answered more than {MAX_REPLY_BYTES} bytes")
        return body


def _describe(e: BaseException) -> str:
    if isinstance(e, TimeoutError):
        return "did not answer in time"
    return f"could not be reached ({type(e).__name__}: {str(e)[:200]})"


def _unavailable(url: str, what: str) -> TsaUnavailableError:
    """The one mapping of a failed exchange to the ledger's error tree."""
    return TsaUnavailableError(f"time-stamping authority {url} {what}", url=url)
