"""My tasks tells a case's HR owner to apply a checklist the approval left to them
(LEDGER_AUTO_APPLY_CHECKLISTS=on), in English and Chinese, linking to the case page's form
with that checklist chosen; nobody else's tasks list it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.http_fixtures import Api, serve
from tests.support.case_steps import apply, approve, started
from tests.support.console import Console


@pytest.fixture
async def site(site_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The whole site, checklists applied on approval."""
    async with serve(site_url, tmp_path, auto_apply_checklists=True) as served:
        yield served


async def tasks_page(console: Console, language: str) -> str:
    reply = await console.get("/console/tasks", headers={"Accept-Language": language})
    assert reply.status == 200
    return reply.body.decode()


async def test_my_tasks_links_the_hr_owner_to_the_checklist_the_approval_skipped(
        console: Console, site: Api) -> None:
    departure_id = await started(site)  # sales, no successor named
    await approve(site, departure_id)
    await site.read_model("/v1/inbox", "hr.sun")  # the board has caught up
    link = f"/console/departures/{departure_id}?apply=sales#template-key"

    await console.sign_in("hr.sun")
    en = await tasks_page(console, "en")
    assert f'href="{link}">Apply a checklist the approval left to you: sales</a>' in en
    assert "need a successor and the case names none" in en  # the reason
    zh = await tasks_page(console, "zh")
    assert f'href="{link}">应用审批留给您的交接清单: sales</a>' in zh
    case = (await console.get(link.split("#")[0], headers={"Accept-Language": "en"})).body
    assert '<option value="sales" selected>' in case.decode()

    await apply(site, departure_id, "sales")
    await site.read_model("/v1/inbox", "hr.sun")
    assert "?apply=" not in await tasks_page(console, "en")


async def test_the_leaver_and_the_approver_are_not_told_to_apply_it(
        console: Console, site: Api) -> None:
    departure_id = await started(site)
    await approve(site, departure_id)
    await site.read_model("/v1/inbox", "hr.sun")
    for who in ("wang.lei", "li.qiang"):
        await console.sign_in(who)
        assert "?apply=" not in await tasks_page(console, "en"), who
