"""The log's side of C2SP tlog-witness: submit each new checkpoint to every configured witness
with the size the witness last cosigned and a consistency proof from it, and keep the
cosignatures they return (ledger.store.cosignatures).

A 409 names the witness's size: the submission is resent from there (once per answer; a 409
at the size just sent means the witness holds another tree of that size: a fork, reported).
403, 404, 422, other answers and unreachable witnesses are reported (the server log, the
worker's ``/readyz`` detail, ``ledger_witness_*`` metrics) and retried with backoff. Nothing
here is on the write path: the sequencer signs and serves checkpoints whether or not any
witness answers; the worker only adds cosignatures when they come.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ledger.errors import TooLargeError, VerificationError
from ledger.log_format import fields
from ledger.store.cosignatures import CosignatureStore
from ledger.store.log_port import StoredCheckpoint
from ledger.tlog.note import split_note
from ledger.transparency.reader import LogReader
from ledger.witness.cosignature import WitnessKey, verify_cosignatures
from ledger.witness.protocol import SIZE_CONTENT_TYPE, format_submission
from ledger.workers import LoopWorker

log = logging.getLogger("ledger.witness")
_RESENDS = 3  # 409s followed per round: the first request may not know the witness's size
PACE_SECONDS = 1.0
MAX_ANSWER = 64 * 1024  # a few cosignature lines; a witness answering more is refused


@dataclass
class WitnessState:
    """What the log knows of one witness."""

    url: str
    key: WitnessKey
    size: int | None = None  # the size the witness holds, once it said or cosigned
    outcome: str | None = None  # what went wrong last, in a word (the log says why)
    failures: int = 0
    retry_at: float = 0.0


class WitnessMetrics:
    """``ledger_witness_*`` metrics on the process's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.answers = Counter("ledger_witness_answers", "Witness answers by witness and "
                               "outcome (cosigned, 409, 403, 404, 422, unreachable…)",
                               ["witness", "outcome"], registry=registry)
        self.round_trip = Histogram("ledger_witness_round_trip_seconds", "add-checkpoint round "
                                    "trips", ["witness"], registry=registry,
                                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
        self.cosigned = Gauge("ledger_witness_cosigned_size", "Largest checkpoint size each "
                              "witness cosigned for this process", ["witness"],
                              registry=registry)


class WitnessSubmitter:
    """Brings every witness up to the latest checkpoint, one round per ``step``."""

    def __init__(self, reader: LogReader, cosignatures: CosignatureStore,
                 witnesses: list[tuple[str, WitnessKey]],
                 http: Callable[[], aiohttp.ClientSession], *, timeout: float = 10.0,
                 retry_max: float = 300.0, metrics: WitnessMetrics | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._reader = reader
        self._cosignatures = cosignatures
        self.states = [WitnessState(url, key) for url, key in witnesses]
        self._http = http
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retry_max = retry_max
        self._metrics = metrics
        self._clock = clock
        # At most one round per PACE_SECONDS under a write load (each costs a few reads, a
        # write and a round trip per witness); the first checkpoint after a quiet spell goes
        # at once. ``full`` is never reached: a round that cosigned waits out the pace.
        self.worker = LoopWorker("witnesses", self.step, idle_seconds=1.0,
                                 full=len(self.states) + 1, pace_seconds=PACE_SECONDS)

    async def step(self) -> int:
        """Submit the latest checkpoint to each witness that has not cosigned it and is not
        waiting out a backoff; the number of cosignatures gained."""
        latest = await self._reader.store.latest_checkpoint()
        if latest is None:
            return 0
        held = await self._cosignatures.of_size(latest.size)
        gained = 0
        for state in self.states:
            if state.key.label in held:
                state.size = max(state.size or 0, latest.size)
            elif self._clock() >= state.retry_at:
                gained += await self._submit(state, latest)
        self.worker.detail = self.describe(latest.size)
        return gained

    def describe(self, size: int) -> str:
        """One word per witness, for ``/readyz`` (public: no error text, no URL)."""
        parts = []
        for s in self.states:
            what = s.outcome or ("cosigned" if s.size == size else "pending")
            parts.append(f"{s.key.name}: {what}")
        return f"checkpoint {size}: " + "; ".join(parts)

    async def _submit(self, state: WitnessState, latest: StoredCheckpoint) -> int:
        for _ in range(_RESENDS):
            old = state.size or 0
            if old > latest.size:
                return self._failed(state, "beyond", f"holds size {old}, beyond this log's "
                                    f"{latest.size}: another history of this log was shown")
            proof = []
            if 0 < old < latest.size:
                proof = (await self._reader.consistency(old, latest.size)).proof
            try:
                status, text, content_type = await self._post(
                    state, format_submission(old, proof, latest.note))
            except (aiohttp.ClientError, TimeoutError) as e:
                return self._failed(state, "unreachable", f"unreachable: {e!r}"[:200])
            except TooLargeError as e:
                return self._failed(state, "too-large", str(e))
            if status == 200:
                return await self._cosigned(state, latest, text)
            if status == 409 and content_type == SIZE_CONTENT_TYPE:
                told = _size(text)
                if told is None or told == old:
                    return self._failed(state, "409", f"409: holds another tree of size "
                                        f"{text.strip()[:20]}")
                state.size = told
                self._count(state, "409")
                continue
            return self._failed(state, str(status), f"{status}: {text.strip()[:160]}")
        return self._failed(state, "409", "409 again after resending from its size")

    async def _post(self, state: WitnessState, body: bytes) -> tuple[int, str, str]:
        """(status, text, content type) of the answer; redirects are not followed (the URL
        configured is the only address the log talks to) and an answer over MAX_ANSWER
        bytes raises TooLargeError."""
        started = time.perf_counter()
        async with self._http().post(state.url + "/add-checkpoint", data=body,
                                     timeout=self._timeout, allow_redirects=False) as resp:
            raw = await resp.content.read(MAX_ANSWER + 1)
        if len(raw) > MAX_ANSWER:
            raise TooLargeError(f"answered more than {MAX_ANSWER} bytes")
        text = raw.decode(errors="replace")
        if self._metrics is not None:
            self._metrics.round_trip.labels(state.key.name).observe(
                time.perf_counter() - started)
        return resp.status, text, resp.content_type

    async def _cosigned(self, state: WitnessState, latest: StoredCheckpoint, text: str) -> int:
        body, _ = split_note(latest.note)
        try:
            held = verify_cosignatures(body, text.splitlines(), [state.key])
        except VerificationError as e:
            return self._failed(state, "bad-cosignature", f"answered a bad cosignature: {e}")
        if not held:
            return self._failed(state, "no-cosignature", "answered no cosignature by its key")
        await self._cosignatures.add(latest.size, [(state.key.label, held[0].line)])
        state.size, state.failures, state.retry_at = latest.size, 0, 0.0
        state.outcome = None
        self._count(state, "cosigned")
        if self._metrics is not None:
            self._metrics.cosigned.labels(state.key.name).set(latest.size)
        log.info("witness cosigned", extra=fields(witness=state.key.name, size=latest.size))
        return 1

    def _failed(self, state: WitnessState, outcome: str, why: str) -> int:
        state.outcome = outcome
        state.failures += 1
        state.retry_at = self._clock() + min(self._retry_max, 2.0 ** min(state.failures, 16))
        self._count(state, outcome)
        log.warning("witness %s: %s", state.key.name, why, extra=fields(
            witness=state.key.name, url=state.url, outcome=outcome))
        return 0

    def _count(self, state: WitnessState, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.answers.labels(state.key.name, outcome).inc()


def _size(text: str) -> int | None:
    stripped = text.strip()
    return int(stripped) if stripped.isascii() and stripped.isdigit() else None
