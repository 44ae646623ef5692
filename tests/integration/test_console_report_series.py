"""The Reports page's series over the real read model, on both stores: the handover report
asked once per part of the period says, per part, what the API's report says for it."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.errors import ForbiddenError, InvalidInputError
from ledger.service.context import Actor
from tests.integration.http_fixtures import Api
from tests.integration.test_http_api import add_item, approved
from tests.support.confirmation import sign_confirmation_over_http
from web.report_series import completion, days_to_close, reports_by_part

AUDITOR = Actor("audit.x", "auditor")


async def _closed_case(api: Api) -> None:
    departure_id = await approved(api)
    item_id = await add_item(api, departure_id)
    assert (await api.post(f"/v1/items/{item_id}/submit", "wang.lei", json={})).status == 200
    assert (await api.post(f"/v1/items/{item_id}/confirm", "zhao.min", json={})).status == 200
    await sign_confirmation_over_http(api, departure_id)
    assert (await api.post(f"/v1/departures/{departure_id}/close", "hr.sun")).status == 200
    await api.read_model("/v1/inbox", "hr.sun")


async def test_each_part_of_the_period_reports_what_the_api_reports_for_it(api: Api) -> None:
    await _closed_case(api)
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=20)  # three or four weeks
    series = await reports_by_part(api.runtime.projections, AUDITOR, start, today)
    assert series[0][0].start == start and series[-1][0].end == today
    assert {part.unit for part, _ in series} == {"week"}
    counts = completion(series, lambda part: part.start.isoformat())
    assert [c.closed for c in counts] == [0] * (len(series) - 1) + [1]
    last_part, last = series[-1]
    reply = await api.get(f"/v1/reports/handover?from={last_part.start}&to={today}", "audit.x")
    assert last["departments"] == reply.json()["departments"]
    (sales,) = days_to_close(last)
    assert sales.low == sales.median == sales.high == sales.median // 1


async def test_the_read_models_own_checks_refuse_the_series(api: Api) -> None:
    today = dt.datetime.now(dt.UTC).date()
    with pytest.raises(ForbiddenError):
        await reports_by_part(api.runtime.projections, Actor("wang.lei", "employee"),
                              today, today)
    with pytest.raises(InvalidInputError) as backwards:
        await reports_by_part(api.runtime.projections, AUDITOR, today, today - dt.timedelta(1))
    assert backwards.value.field == "to"
    with pytest.raises(InvalidInputError):
        await reports_by_part(api.runtime.projections, AUDITOR, today - dt.timedelta(4000),
                              today)
