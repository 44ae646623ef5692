"""Case dates the due-date arithmetic cannot hold are a 422, never a 500 (both stores).

Before, accepting with notice_date 0001-01-01 and applying a checklist, or a line due 365
days after a last working day of 9999-06-30, raised OverflowError inside the command.
"""

from __future__ import annotations

import pytest

from tests.integration.http_fixtures import Api, departure_body
from tests.support.case_steps import acceptance, request_departure


@pytest.mark.parametrize("fields", [
    {"notice_date": "0001-01-01", "last_working_day": "0001-01-02"},
    {"last_working_day": "9999-06-30"},
    {"notice_date": "1899-12-31"},
])
async def test_an_accept_with_a_date_out_of_range_is_a_422(api: Api, fields: dict[str, str],
                                                            ) -> None:
    departure_id = await request_departure(api)

    reply = await api.post(f"/v1/departures/requests/{departure_id}/accept", "hr.sun",
                           json=acceptance(chain=False, **fields))

    assert reply.status == 422, reply.body
    assert "1900 to 2199" in reply.body.decode()


async def test_moving_the_last_working_day_out_of_range_is_a_422(api: Api) -> None:
    departure_id = await request_departure(api)
    accepted = await api.post(f"/v1/departures/requests/{departure_id}/accept", "hr.sun",
                              json=acceptance(chain=False))
    assert accepted.status == 200, accepted.body
    applied = await api.post(f"/v1/departures/{departure_id}/templates", "hr.sun",
                             json={"template_key": "clearance"})
    assert applied.status == 200, applied.body

    reply = await api.post(f"/v1/departures/{departure_id}/last-working-day", "hr.sun",
                           json={"last_working_day": "9999-06-30", "reason": "typo"})

    assert reply.status == 422, reply.body


async def test_a_case_started_in_year_one_is_a_422(api: Api) -> None:
    body = departure_body(notice="0001-01-01", last_day="0001-01-31")

    reply = await api.post("/v1/departures", "hr.sun", json=body)

    assert reply.status == 422, reply.body
