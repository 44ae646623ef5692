"""Every answered request is counted and timed under its own (method, route, status), however
often the same one comes back (the children are looked up once and kept)."""

from __future__ import annotations

import pytest

from ledger.metrics import Metrics


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_repeated_requests_count_under_their_own_labels() -> None:
    metrics = Metrics()
    route = "/v1/items/{item_id}/comments"
    for _ in range(3):
        metrics.observe_request("POST", route, 201, 0.004)
    metrics.observe_request("POST", route, 409, 0.2)
    metrics.observe_request("BREW", route, 405, 0.001)
    assert sample(metrics, "ledger_http_requests_total", method="POST", route=route,
                  status="201") == 3
    assert sample(metrics, "ledger_http_requests_total", method="POST", route=route,
                  status="409") == 1
    assert sample(metrics, "ledger_http_requests_total", method="OTHER", route=route,
                  status="405") == 1
    assert sample(metrics, "ledger_http_request_duration_seconds_count", method="POST",
                  route=route) == 4
    assert sample(metrics, "ledger_http_request_duration_seconds_bucket", method="POST",
                  route=route, le="0.005") == 3
    assert sample(metrics, "ledger_http_request_duration_seconds_sum", method="POST",
                  route=route) == pytest.approx(3 * 0.004 + 0.2)
