"""The case page names people, not principal ids: the names the principal store holds, read
for the whole page in one look-up, each with its id as the title (and beside the name where
two people on the page share it); a department's queue by its translated name; every name
escaped. Over HTTP, on the console's own page."""

from __future__ import annotations

import re
from typing import Any

from ledger.principals import Principal
from tests.integration.http_fixtures import Api, departure_body
from tests.support.case_steps import add_item, approve
from tests.support.console import Console

EVIL = '<script>alert("x")</script>'


async def _case(site: Api) -> tuple[str, str]:
    """hr.sun's case of wang.lei (li.qiang approves, zhao.min succeeds), handing over, with
    items for two people both named 张伟, a queue, someone whose name is markup, and one
    li.qiang rejected; and that item's id."""
    for principal_id, name in (("zhang.a", "张伟"), ("zhang.b", "张伟"), ("odd.one", EVIL)):
        await site.runtime.principals.add_principal(Principal(principal_id, name,
                                                              ("employee",)))
    body = {**departure_body(), "successor_id": "zhao.min"}
    reply = await site.post("/v1/departures", "hr.sun", json=body)
    departure_id: str = reply.json()["result"]["departure_id"]
    assert (await site.post(f"/v1/departures/{departure_id}/submit", "hr.sun")).status == 200
    await approve(site, departure_id)
    for n, receiver in enumerate(("zhang.a", "zhang.b", "dept:it", "odd.one")):
        await add_item(site, departure_id, receiver=receiver, title=f"事项 {n}")
    rejected = await add_item(site, departure_id, receiver="li.qiang", title="客户资料")
    assert (await site.post(f"/v1/items/{rejected}/submit", "wang.lei", json={})).status == 200
    assert (await site.post(f"/v1/items/{rejected}/reject", "li.qiang",
                            json={"reason": "缺少三期需求"})).status == 200
    await site.sequence()
    await site.runtime.board.catch_up()
    return departure_id, rejected


async def test_the_case_page_names_people_and_queues_read_in_one_look_up(
        console: Console, site: Api) -> None:
    departure_id, rejected = await _case(site)
    asked: list[list[str]] = []
    looked_up: list[str] = []
    principals = site.runtime.principals
    names_of, get_principal = principals.names_of, principals.get_principal

    async def counted_names(ids: Any) -> dict[str, str]:
        asked.append(sorted(ids))
        return await names_of(ids)

    async def counted_get(principal_id: str) -> Principal:
        looked_up.append(principal_id)
        return await get_principal(principal_id)

    await console.sign_in("hr.sun")
    principals.names_of = counted_names  # type: ignore[method-assign]
    principals.get_principal = counted_get  # type: ignore[method-assign]
    reply = await console.get(f"/console/departures/{departure_id}")
    assert reply.status == 200, reply.body[:500]
    page = reply.body.decode()
    # one look-up names everyone the page prints; none per person
    assert asked == [["hr.sun", "li.qiang", "odd.one", "wang.lei", "zhang.a", "zhang.b",
                      "zhao.min"]]
    assert looked_up == []
    facts = page[page.index('class="case-facts"'):page.index("</dl>")]
    assert '<dd><span class="who" title="hr.sun">孙 HR</span></dd>' in facts
    assert '<dd><span class="who" title="li.qiang">李强</span></dd>' in facts  # manager
    assert '<dd><span class="who" title="zhao.min">赵敏</span></dd>' in facts  # successor
    steps = page[page.index('class="steps"'):page.index("</ol>")]
    assert '<span class="who" title="li.qiang">李强</span>' in steps
    # two 张伟: each with the id that tells them apart
    assert ('<span class="who" title="zhang.a">张伟 <small class="who-id">zhang.a</small>'
            '</span>') in page
    assert '<small class="who-id">zhang.b</small>' in page
    assert '<span class="who" title="dept:it">IT 部</span>' in page  # the queue, in words
    assert EVIL not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    row = page[page.index(f'id="item-{rejected}"'):]
    row = row[:row.index("</li>")]
    assert '<span class="who" title="li.qiang">李强</span>' in row.split("最近决定")[1]
    assert '<span class="who" title="wang.lei">王磊</span>' in row  # the giver
    # no id printed bare (but the small one beside a shared name) from the head to the
    # checklist's end
    shown = page.split('<section data-part="head"')[1].split('data-part="item-actions"')[0]
    shown = re.sub(r'<small class="who-id">[^<]*</small>', "", shown)
    assert not re.search(r">[^<]*\b(li\.qiang|wang\.lei|zhang\.a|dept:it)\b[^<]*<", shown)
    # the sign-in link's choice and the item choices say who, by name and id
    assert '<option value="wang.lei">王磊 (wang.lei)</option>' in page
    assert "事项 1 · 张伟 (zhang.b)</option>" in page


async def test_english_names_the_queue_in_english_and_a_nameless_principal_by_its_id(
        console: Console, site: Api) -> None:
    departure_id, _ = await _case(site)
    await site.runtime.principals.add_principal(Principal("no.name", "no.name",
                                                          ("employee",)))
    await add_item(site, departure_id, receiver="no.name", title="合同")
    await site.sequence()
    await site.runtime.board.catch_up()
    await console.sign_in("hr.sun")
    reply = await console.get(f"/console/departures/{departure_id}",
                              headers={"Accept-Language": "en"})
    page = reply.body.decode()
    assert '<span class="who" title="dept:it">IT department</span>' in page
    assert '<span class="who">no.name</span>' in page  # no other name than its id
