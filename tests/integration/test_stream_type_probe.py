"""An id of another kind of stream reads, on both stores, exactly as an absent id: the
refusal never names the type that was asked for, so it tells a prober nothing about what the
id is."""

from __future__ import annotations

from tests.integration.http_fixtures import Api
from tests.support.handover_case import handed_over_case

MISSING = "00000000-0000-4000-8000-000000000000"


async def test_a_departure_asked_for_as_a_dispute_reads_as_an_absent_id(api: Api) -> None:
    case = await handed_over_case(api)
    for who in ("hr.sun", "stranger"):
        wrong = (await api.get(f"/v1/disputes/{case.departure}", who)).problem(404)
        absent = (await api.get(f"/v1/disputes/{MISSING}", who)).problem(404)
        assert wrong["detail"] == f"{case.departure} not found"
        assert wrong["detail"].replace(case.departure, MISSING) == absent["detail"]


async def test_an_item_asked_for_as_a_departure_reads_as_an_absent_id(api: Api) -> None:
    case = await handed_over_case(api)
    wrong = (await api.get(f"/v1/departures/{case.client_item}", "hr.sun")).problem(404)
    absent = (await api.get(f"/v1/departures/{MISSING}", "hr.sun")).problem(404)
    assert wrong["detail"] == f"{case.client_item} not found"
    assert wrong["detail"].replace(case.client_item, MISSING) == absent["detail"]
