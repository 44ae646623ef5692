"""Obtain, verify and store RFC 3161 timestamps over one signed checkpoint.

``stamp`` asks the configured authorities in ``LEDGER_TSA_URLS`` order: in mode ``first`` until
one answers with a token that verifies, in mode ``all`` every one. A token is stored only once
it verified (ledger.timestamp.token.verify_response, with the request's nonce); an authority
that is down or answers a token that does not verify is a failure of this round, named in the
outcome, and never an error of the caller: the writes and the log go on without it.

A token that verifies is still refused when its time (genTime) cannot be right: more than
``GEN_TIME_SKEW`` before the checkpoint was signed (the note did not exist yet), or more than
``GEN_TIME_SKEW`` after this process's clock when the answer arrived (a time to come). Either
means the authority's clock is wrong (or ours is): such a token would date the log falsely.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography import x509

from ledger.errors import VerificationError
from ledger.log_format import fields
from ledger.store.log_port import StoredCheckpoint
from ledger.store.timestamp_port import StoredTimestamp, TimestampStore
from ledger.timestamp.client import TsaClient, TsaUnavailableError
from ledger.timestamp.settings import TimestampSettings
from ledger.timestamp.token import build_query, verify_response

log = logging.getLogger("ledger.timestamp")
# How far a token's time may lie before the checkpoint's signing or after the local clock: the
# clocks of the ledger's host, its database and the authority may disagree by this much.
GEN_TIME_SKEW = dt.timedelta(minutes=5)


def gen_time_problem(gen_time: dt.datetime, signed_at: dt.datetime | None,
                     now: dt.datetime) -> str | None:
    """Why a token dated ``gen_time`` cannot be over a checkpoint signed at ``signed_at``
    (None: not known) when read at ``now``, or None (see the module docstring)."""
    if signed_at is not None and gen_time < signed_at - GEN_TIME_SKEW:
        return (f"its time {_iso(gen_time)} is before the checkpoint was signed "
                f"({_iso(signed_at)}): the authority's clock is wrong")
    if gen_time > now + GEN_TIME_SKEW:
        return (f"its time {_iso(gen_time)} is in the future (the local clock says "
                f"{_iso(now)}): the authority's clock, or this host's, is wrong")
    return None


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class StampOutcome:
    """The timestamps checkpoint ``size`` has after a round (stored before or just now), and
    why each authority that gave none gave none."""

    size: int
    stamps: list[StoredTimestamp] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0  # the round trips of this round (0 when nothing was asked)


class Stamper:
    """Asks authorities for tokens over checkpoints and keeps the ones that verify."""

    def __init__(self, settings: TimestampSettings, client: TsaClient, store: TimestampStore,
                 roots: Sequence[x509.Certificate],
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.settings = settings
        self.client = client
        self.store = store
        self.roots = list(roots)
        self._now = now

    async def stamp(self, checkpoint: StoredCheckpoint, within: float) -> StampOutcome:
        """Obtain what ``checkpoint`` still lacks (per the mode), each authority asked within
        ``within`` seconds."""
        stamps = await self.store.for_size(checkpoint.size)
        have = {s.tsa_url for s in stamps}
        failures: list[str] = []
        started = time.perf_counter()
        for url in self.settings.urls:
            if self.settings.mode == "first" and stamps:
                break
            if url in have:
                continue
            try:
                stamps.append(await self._ask(url, checkpoint, within))
            except (TsaUnavailableError, VerificationError) as e:
                failures.append(str(e))
                log.warning("timestamp of checkpoint %d: %s", checkpoint.size, e,
                            extra=fields(action="timestamp_failed", size=checkpoint.size))
        return StampOutcome(checkpoint.size, stamps, failures,
                            time.perf_counter() - started if failures or len(stamps) > len(have)
                            else 0.0)

    async def _ask(self, url: str, checkpoint: StoredCheckpoint,
                   within: float) -> StoredTimestamp:
        query = build_query(checkpoint.note)
        response = await self.client.fetch(url, query.der, within)
        try:
            verified = verify_response(response, checkpoint.note, self.roots, nonce=query.nonce)
        except VerificationError as e:
            raise VerificationError(f"time-stamping authority {url} answered a token that "
                                    f"does not verify: {e}") from e
        wrong = gen_time_problem(verified.gen_time, checkpoint.signed_at, self._now())
        if wrong is not None:
            raise VerificationError(f"time-stamping authority {url} answered a token for "
                                    f"checkpoint {checkpoint.size} refused: {wrong}")
        stamp = StoredTimestamp(checkpoint.size, url, verified.gen_time, response)
        await self.store.add(stamp)
        log.info("checkpoint %d timestamped by %s at %s", checkpoint.size, url,
                 verified.gen_time.isoformat(), extra=fields(
                     action="timestamped", size=checkpoint.size))
        return stamp

    async def ensure(self, checkpoint: StoredCheckpoint, within: float) -> StampOutcome:
        """The timestamps of ``checkpoint``, asking for one now (at most ``within`` seconds
        in all) when it has none: for an evidence bundle about to use it. A bundle goes on
        without one when no authority answers in time (``failures`` says why)."""
        stored = await self.store.for_size(checkpoint.size)
        if stored:
            return StampOutcome(checkpoint.size, stored)
        try:
            return await asyncio.wait_for(self.stamp(checkpoint, within), within)
        except TimeoutError:
            return StampOutcome(checkpoint.size, await self.store.for_size(checkpoint.size),
                                [f"no time-stamping authority answered within {within:g} s"],
                                within)
