"""What scripts/load.py measures: every request's latency and outcome by route, the
server's resources sampled over time, and the figures and verdicts drawn from them."""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from benchdb import percentile

READ_P99_MS = 50.0
RSS_GROWTH = 0.10


@dataclass
class Route:
    """One route's requests: latencies (seconds) of those answered 2xx, and the failures."""

    kind: str  # "read" or "command"
    latencies: array[float] = field(default_factory=lambda: array("d"))
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return len(self.latencies) + sum(self.errors.values())


@dataclass(frozen=True)
class Sample:
    """The server as seen at ``t`` seconds into the run, and the requests of the interval
    since the previous sample."""

    t: float
    rss_mib: float
    anon_mib: float  # of which anonymous memory (the heap), not mapped files
    cpu_percent: float  # the server's CPU over the interval, in % of one core
    machine_percent: float  # the whole machine's CPU busy over the interval, in %
    server_sockets: int  # the server process's TCP sockets (inbound and to PostgreSQL)
    inbound: int  # of which established connections from the clients
    pg_connections: int  # pg_stat_activity rows on the run's database (the sampler's not)
    pg_active: int  # of which running a query
    reads: int
    commands: int
    errors: int
    read_p99_ms: float
    open_cases: int = 0  # the board's cases neither closed nor withdrawn
    open_items: int = 0  # the board's items neither confirmed nor waived
    # the server's in-memory caches (its /metrics: ledger_cache_bytes, ledger_cache_entries,
    # summed over the aggregate cache and the board's): how much of RSS they explain
    cache_mib: float = 0.0
    cache_entries: int = 0


@dataclass
class Recorder:
    """Collects requests by route, and the interval's counts the sampler takes."""

    routes: dict[str, Route] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    _interval: Counter[str] = field(default_factory=Counter)
    _interval_reads: array[float] = field(default_factory=lambda: array("d"))

    def record(self, route: str, kind: str, seconds: float, error: str | None = None) -> None:
        entry = self.routes.setdefault(route, Route(kind))
        if error is None:
            entry.latencies.append(seconds)
            if kind == "read":
                self._interval_reads.append(seconds)
        else:
            entry.errors[error[:160]] += 1
            self._interval["errors"] += 1
        self._interval[kind + "s"] += 1

    def take_interval(self) -> tuple[int, int, int, float]:
        """(reads, commands, errors, read p99 in ms) since the last call, and reset."""
        counts, reads = self._interval, self._interval_reads
        self._interval, self._interval_reads = Counter(), array("d")
        return (counts["reads"], counts["commands"], counts["errors"],
                percentile(reads, 99) * 1000)


def _summary(latencies: array[float], requests: int, errors: int,
             seconds: float) -> dict[str, Any]:
    return {"requests": requests, "errors": errors, "per_second": requests / seconds,
            "p50_ms": percentile(latencies, 50) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000,
            "max_ms": max(latencies, default=float("nan")) * 1000}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of ``points`` (NaN for fewer than two)."""
    if len(points) < 2:
        return float("nan")
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else float("nan")


def figures(recorder: Recorder, seconds: float, warmup: float) -> dict[str, Any]:
    """Totals, each route's and each kind's figures, the RSS after warm-up, and the
    verdicts against the targets (errors 0, RSS within 10% after warm-up, read p99 < 50 ms).
    """
    routes = {name: _summary(r.latencies, r.requests, sum(r.errors.values()), seconds)
              | {"kind": r.kind, "error_kinds": dict(r.errors.most_common(5))}
              for name, r in sorted(recorder.routes.items())}
    kinds: dict[str, Any] = {}
    for kind in ("read", "command"):
        picked = [r for r in recorder.routes.values() if r.kind == kind]
        merged = array("d")
        for r in picked:
            merged.extend(r.latencies)
        kinds[kind] = _summary(merged, sum(r.requests for r in picked),
                               sum(sum(r.errors.values()) for r in picked), seconds)
    requests = sum(k["requests"] for k in kinds.values())
    errors = sum(k["errors"] for k in kinds.values())
    after = [s for s in recorder.samples if s.t >= warmup]
    base = after[0].rss_mib if after else float("nan")
    peak = max((s.rss_mib for s in after), default=float("nan"))
    growth = peak / base - 1 if after else float("nan")
    rss = {"warmup_s": warmup, "after_warmup_mib": base, "peak_after_warmup_mib": peak,
           "end_mib": recorder.samples[-1].rss_mib if recorder.samples else float("nan"),
           "growth": growth, "samples_after_warmup": len(after),
           "anon_after_warmup_mib": after[0].anon_mib if after else float("nan"),
           "anon_end_mib": after[-1].anon_mib if after else float("nan"),
           "cache_after_warmup_mib": after[0].cache_mib if after else float("nan"),
           "cache_end_mib": after[-1].cache_mib if after else float("nan"),
           "cache_entries_after_warmup": after[0].cache_entries if after else 0,
           "cache_entries_end": after[-1].cache_entries if after else 0,
           "mib_per_minute": _slope([(s.t, s.rss_mib) for s in after]) * 60}
    cpu = {"server_percent_of_a_core": _mean([s.cpu_percent for s in recorder.samples[1:]]),
           "machine_percent": _mean([s.machine_percent for s in recorder.samples[1:]])}
    verdicts = {
        "error rate 0": errors == 0,
        f"RSS within {RSS_GROWTH:.0%} after warm-up": len(after) >= 2 and growth <= RSS_GROWTH,
        f"read p99 < {READ_P99_MS:g} ms": kinds["read"]["p99_ms"] < READ_P99_MS,
    }
    return {"seconds": seconds, "requests": requests, "errors": errors,
            "per_second": requests / seconds, "error_rate": errors / requests if requests else 0,
            "kinds": kinds, "routes": routes, "rss": rss, "cpu": cpu, "verdicts": verdicts,
            "samples": [asdict(s) for s in recorder.samples]}
