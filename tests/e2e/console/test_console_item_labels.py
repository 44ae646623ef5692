"""A built-in checklist item (it carries its template's English ``label``) is titled in
English for an English reader, the title as recorded beside it; in Chinese, or for an item
added by hand (no label), the recorded title alone."""

from __future__ import annotations

from tests.integration.http_fixtures import Api
from tests.support.case_steps import apply
from tests.support.console import Console, add_item, on_both_stores, open_case
from tests.support.console_cases import clearance_case, item_ids
from tests.support.console_tasks import caught_up

EMAIL = "停用企业邮箱并设置转交"
LABEL = "Email account disabled and delegated"
CLIENT_LIST, CLIENT_LIST_LABEL = "客户名单及联系人交接", "Client list and contacts"


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
    case = (await console.get(f"/console/departures/{departure_id}",
                              headers={"Accept-Language": "en"})).body.decode()
    assert f'{LABEL} <span class="hint recorded-title" lang="zh">{EMAIL}</span></a>' in case
    assert f'<option value="{item}">{LABEL} · ' in case  # the forms that choose an item
    zh_case = (await console.get(f"/console/departures/{departure_id}",
                                 headers={"Accept-Language": "zh"})).body.decode()
    assert f">{EMAIL}</a>" in zh_case and LABEL not in zh_case


@on_both_stores
async def test_my_tasks_titles_checklist_items_in_english_and_hand_titled_ones_as_entered(
        console: Console, site: Api) -> None:
    departure_id = await open_case(site)
    await apply(site, departure_id, "sales")
    await add_item(site, departure_id)  # 客户资料, by hand: no label
    await caught_up(site)
    served = (await site.read_model("/v1/inbox", "wang.lei")).json()["items"]
    labels = {e["title"]: e["label"] for e in served if e["action"] == "submit"}
    assert labels[CLIENT_LIST] == CLIENT_LIST_LABEL and labels["客户资料"] == ""
    await console.sign_in("wang.lei")
    en = (await console.get("/console/tasks", headers={"Accept-Language": "en"})).body.decode()
    assert f"Submit: {CLIENT_LIST_LABEL}</a>" in en and "Submit: 客户资料</a>" in en
    assert CLIENT_LIST not in en
    zh = (await console.get("/console/tasks", headers={"Accept-Language": "zh"})).body.decode()
    assert f"提交: {CLIENT_LIST}</a>" in zh and CLIENT_LIST_LABEL not in zh


async def test_a_checklist_items_criteria_are_in_english_for_an_english_reader(
        console: Console, site: Api) -> None:
    departure_id = await open_case(site)
    await apply(site, departure_id, "sales")
    item = (await item_ids(site, departure_id))[CLIENT_LIST]
    recorded = (await site.get(f"/v1/items/{item}", "hr.sun")).json()
    assert recorded["criteria_label"].startswith("The client list is uploaded as a table")
    assert recorded["acceptance_criteria"].startswith("上传《客户名单》表格")
    await console.sign_in("wang.lei")
    en = (await console.get(f"/console/items/{item}",
                            headers={"Accept-Language": "en"})).body.decode()
    assert '<dd class="criteria">The client list is uploaded as a table' in en
    assert 'lang="zh">上传《客户名单》表格' in en  # the recorded text stays beside it
    zh = (await console.get(f"/console/items/{item}",
                            headers={"Accept-Language": "zh"})).body.decode()
    assert '<dd class="criteria">上传《客户名单》表格' in zh
    assert "The client list is uploaded" not in zh
