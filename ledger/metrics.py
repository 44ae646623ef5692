"""The process's Prometheus metrics (prometheus-client), in one registry per process.

Counters grow where things happen (a request answered, events committed, an authentication
that failed); gauges describing the ledger as a whole (sequencer lag, checkpoint age, each
projection's lag, the webhook backlog) are read from the database when scraped
(``refresh``), so every process of a deployment reports the same figures. ``/metrics``
serves ``render``; who may read it is decided in api/metrics_routes.py.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ledger.readiness import LedgerState
from ledger.timestamp.freshness import TimestampFreshness
from ledger.workers import WorkerHealth

CONTENT_TYPE = CONTENT_TYPE_LATEST
# seconds: reads answer in milliseconds, a bundle export in seconds
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# seconds the event loop woke late (ledger.loop_lag): healthy is under 10 ms
LOOP_LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    """Every metric of one process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "ledger_http_requests", "HTTP requests answered, by route template and status",
            ["method", "route", "status"], registry=r)
        self.latency = Histogram(
            "ledger_http_request_duration_seconds", "Time to answer, by route template",
            ["method", "route"], buckets=LATENCY_BUCKETS, registry=r)
        # Each (method, route template, status)'s two children, found once: ``labels`` takes
        # ~9 µs a request (a lock, label checks). Bounded as the children are: methods are
        # METHODS or OTHER, routes the declared templates, statuses HTTP's.
        self._request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self.appended = Counter(
            "ledger_events_appended", "Events committed by this process (rate: appends/s)",
            registry=r)
        self.auth_failures = Counter(
            "ledger_auth_failures", "Failed authentications: a bad, unknown, revoked or "
            "expired token, or an unknown or used sign-in link (API and console)", registry=r)
        self.log_size = Gauge("ledger_log_size", "Entries in the global log", registry=r)
        self.sequencer_lag = Gauge(
            "ledger_sequencer_lag_events", "Events committed but not yet in the log",
            registry=r)
        self.checkpoint_age = Gauge(
            "ledger_checkpoint_age_seconds", "Seconds since the latest checkpoint was signed",
            registry=r)
        self.projection_lag = Gauge(
            "ledger_projection_lag_events", "Log entries a projection has not applied yet "
            "(log size minus its position)", ["projection"], registry=r)
        self.projection_stopped = Gauge(
            "ledger_projection_stopped", "1 when a projection stopped on an event it cannot "
            "apply", ["projection"], registry=r)
        self.webhook_backlog = Gauge(
            "ledger_webhook_backlog", "Webhook deliveries waiting to be delivered", registry=r)
        self.webhook_dead_letters = Gauge(
            "ledger_webhook_dead_letters", "Webhook deliveries given up (dead letters)",
            registry=r)
        self.timestamp_age = Gauge(
            "ledger_timestamp_age_seconds", "Seconds since the RFC 3161 token of the newest "
            "timestamped checkpoint was issued (with LEDGER_TSA_URLS)", registry=r)
        self.timestamp_pending = Gauge(
            "ledger_timestamp_pending_seconds", "Seconds the newest checkpoint has waited for "
            "an RFC 3161 timestamp (0 once it has one)", registry=r)
        self.worker_ok = Gauge(
            "ledger_worker_ok", "1 while a worker of this process runs, 0 once it stopped on "
            "an error", ["worker"], registry=r)

        self._cache_sources: list[Callable[[], dict[str, tuple[int, int]]]] = []
        self.cache_entries = Gauge(
            "ledger_cache_entries", "Entries in one of this process's in-memory caches: "
            "aggregates (commands' verified aggregates, LEDGER_AGGREGATE_CACHE_SIZE), "
            "board_folded and board_written (the board's, LEDGER_BOARD_CACHE_SIZE)",
            ["cache"], registry=r)
        self.cache_bytes = Gauge(
            "ledger_cache_bytes", "Bytes of the packed entries of one of this process's "
            "in-memory caches (as ledger_cache_entries; the maps' own overhead not counted)",
            ["cache"], registry=r)
        self.loop_lag = Histogram(
            "ledger_event_loop_lag_seconds", "How late this process's event loop woke from a "
            "timed sleep: the time synchronous work held every request", buckets=LOOP_LAG_BUCKETS,
            registry=r)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request (``route`` is its template, never its path)."""
        method = method if method in METHODS else "OTHER"
        children = self._request_children.get((method, route, status))
        if children is None:
            children = (self.requests.labels(method, route, str(status)),
                        self.latency.labels(method, route))
            self._request_children[(method, route, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_loop_lag(self, seconds: float) -> None:
        """The event loop woke ``seconds`` late."""
        self.loop_lag.observe(seconds)

    def appended_events(self, count: int) -> None:
        """``count`` events were committed."""
        self.appended.inc(count)

    def failed_authentication(self) -> None:
        """One authentication failed."""
        self.auth_failures.inc()

    def refresh(self, state: LedgerState, workers: list[WorkerHealth]) -> None:
        """Set the gauges from the ledger's state as just read, and this process's workers."""
        self.log_size.set(state.log_size)
        self.sequencer_lag.set(state.queued)
        if state.checkpoint_age is not None:
            self.checkpoint_age.set(state.checkpoint_age)
        for p in state.projections:
            self.projection_lag.labels(p.name).set(p.lag)
            self.projection_stopped.labels(p.name).set(1 if p.error else 0)
        self.webhook_backlog.set(state.webhook_backlog)
        self.webhook_dead_letters.set(state.webhook_dead_letters)
        for w in workers:
            self.worker_ok.labels(w.name).set(1 if w.ok else 0)

    def watch_caches(self, source: Callable[[], dict[str, tuple[int, int]]]) -> None:
        """Report ``source``'s caches (name → (entries, packed bytes)) at each scrape."""
        self._cache_sources.append(source)

    def refresh_caches(self) -> None:
        """Set the cache gauges from every watched source."""
        for name, (entries, size) in {k: v for source in self._cache_sources
                                      for k, v in source().items()}.items():
            self.cache_entries.labels(name).set(entries)
            self.cache_bytes.labels(name).set(size)

    def refresh_timestamps(self, freshness: TimestampFreshness) -> None:
        """Set the trusted-time gauges from the figures just read."""
        if freshness.age_seconds is not None:
            self.timestamp_age.set(freshness.age_seconds)
        self.timestamp_pending.set(freshness.pending_seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
