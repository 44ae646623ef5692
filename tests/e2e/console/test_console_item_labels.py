"""A built-in checklist item (it carries its template's English ``label``) is titled in
English for an English reader, the title as recorded beside it; in Chinese, or for an item
added by hand (no label), the recorded title alone."""

from __future__ import annotations

from tests.integration.http_fixtures import Api
from tests.support.console import Console, add_item
from tests.support.console_cases import clearance_case, item_ids

EMAIL = "停用企业邮箱并设置转交"
LABEL = "Email account disabled and delegated"


async def test_a_checklist_item_shows_its_english_label_in_english_and_its_title_beside(
        console: Console, site: Api) -> None:
    departure_id, item = await clearance_case(site)
    own = await add_item(site, departure_id)  # 客户资料, by hand: no label
    assert (await item_ids(site, departure_id))[EMAIL] == item
    await console.sign_in("hr.sun")
    en = (await console.get(f"/console/items/{item}",
                            headers={"Accept-Language": "en"})).body.decode()
    assert (f'<h1>{LABEL} <span class="hint recorded-title" lang="zh">{EMAIL}</span></h1>'
            in en)
    assert f"<title>{LABEL}" in en
    zh = (await console.get(f"/console/items/{item}",
                            headers={"Accept-Language": "zh"})).body.decode()
    assert f"<h1>{EMAIL}</h1>" in zh and LABEL not in zh
    by_hand = (await console.get(f"/console/items/{own}",
                                 headers={"Accept-Language": "en"})).body.decode()
    assert "<h1>客户资料</h1>" in by_hand
    queue = (await console.get("/console/queues/it",
                               headers={"Accept-Language": "en"})).body.decode()
    assert f'{LABEL} <span class="hint recorded-title" lang="zh">{EMAIL}</span>' in queue
