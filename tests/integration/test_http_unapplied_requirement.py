"""A required checklist line not yet applied holds its item back (both stores).

Clearance's it-wipe-devices requires the role family's laptop-review ("岗位交接清单中的个人电脑
核查确认后,再擦除设备数据"): applied first, the wipe waits until that checklist is applied and its
review done; HR may still waive it.
"""

from __future__ import annotations

from typing import Any

from tests.integration.http_fixtures import Api
from tests.support.case_steps import accept, apply, request_departure, view


async def wipe_before_review(api: Api) -> tuple[str, dict[str, Any]]:
    departure_id = await request_departure(api)
    await accept(api, departure_id, chain=False)
    for item_id in await apply(api, departure_id, "clearance"):
        item = await view(api, f"/v1/items/{item_id}")
        if item["template_item_key"] == "it-wipe-devices":
            return departure_id, {**item, "item_id": item_id}
    raise AssertionError("clearance has no it-wipe-devices line")


async def test_the_wipe_cannot_be_submitted_before_the_laptop_review_is_applied(
        api: Api) -> None:
    _, wipe = await wipe_before_review(api)

    reply = await api.post(f"/v1/items/{wipe['item_id']}/submit", "wang.lei", json={})

    assert reply.status == 409, reply.body
    assert "requires checklist line laptop-review, not yet applied" in reply.json()["detail"]


async def test_hr_may_still_waive_the_wipe(api: Api) -> None:
    _, wipe = await wipe_before_review(api)

    reply = await api.post(f"/v1/items/{wipe['item_id']}/waive", "hr.sun",
                           json={"reason": "设备已由公司回收并统一处理"})

    assert reply.status == 200, reply.body
