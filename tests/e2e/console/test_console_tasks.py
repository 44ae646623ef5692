"""My tasks without a browser: the inbox is the API's, submitting streams several files
into the blob store (past the console's 1 MiB body limit) and records each as the API's
upload does, rejecting needs a reason, and whoever the API refuses the console refuses."""

from __future__ import annotations

import re

from ledger.aggregates.item import HandoverItem
from tests.integration.http_fixtures import Api
from tests.support.console import Console, csrf_of
from tests.support.console_tasks import case_with_item, caught_up, submit_files, upload_form

LINK = re.compile(r'<a href="(/console/[^"]+)">')
KEEP_BOX = re.compile(r'name="keep" value="[0-9a-f]{64}"( checked)?>')


async def test_the_inbox_lists_what_the_api_serves_with_the_page_to_do_it_on(
        console: Console, site: Api) -> None:
    _, item_id = await case_with_item(site)
    served = (await site.read_model("/v1/inbox", "wang.lei")).json()
    assert [(e["action"], e.get("item_id")) for e in served["items"]] == [("submit", item_id)]
    await console.sign_in("wang.lei")
    page = (await console.get("/console/tasks", headers={"Accept-Language": "en"})).body
    assert f'href="/console/items/{item_id}">Submit: 客户资料' in page.decode()
    zh = (await console.get("/console/tasks", headers={"Accept-Language": "zh"})).body.decode()
    assert "共 1 件待办" in zh and "提交: 客户资料" in zh


async def test_an_item_to_submit_shows_when_it_is_due_not_since_that_future_day(
        console: Console, site: Api) -> None:
    """The inbox orders an item to submit by its due date (its ``since``): the page says
    when it is due, not that it has waited "since" a day that may be weeks ahead."""
    _, item_id = await case_with_item(site, due_date="2199-12-28")
    served = (await site.read_model("/v1/inbox", "wang.lei")).json()["items"]
    assert [(e["action"], e["since"], e["due_date"]) for e in served] == [
        ("submit", "2199-12-28", "2199-12-28")]
    await console.sign_in("wang.lei")
    page = (await console.get("/console/tasks", headers={"Accept-Language": "en"})).body
    hint = page.decode().split(f'href="/console/items/{item_id}">', 1)[1].split("</li>")[0]
    assert "due 28 Dec 2199" in hint and "since" not in hint, hint


async def test_a_giver_submits_two_files_with_a_note_and_lines_one_past_a_mebibyte(
        console: Console, site: Api) -> None:
    _, item_id = await case_with_item(site)
    await console.sign_in("wang.lei")
    big = b"x" * (3 << 19)  # 1.5 MiB: streamed, not buffered under the 1 MiB body limit
    status, target = await submit_files(console, item_id, [("clients.xlsx", big),
                                                           ("客户.txt", b"hello")],
                                        note="见附件", lines="华东客户\n华南客户")
    assert (status, target) == (303, f"/console/items/{item_id}")
    item = await site.runtime.ledger.load(HandoverItem, item_id)
    assert item.state == "submitted" and item.submitted_by == "wang.lei"
    assert sorted((e["name"], e["size"]) for e in item.evidence) == [
        ("clients.xlsx", len(big)), ("客户.txt", 5)]
    assert [line["text"] for line in item.lines] == ["华东客户", "华南客户"]
    got = await site.get(f"/v1/items/{item_id}/evidence/{item.evidence[0]['sha256']}",
                         "zhao.min")
    assert got.status == 200


async def test_an_upload_without_the_token_or_with_another_is_refused_and_stores_nothing(
        console: Console, site: Api) -> None:
    _, item_id = await case_with_item(site)
    await console.sign_in("wang.lei")
    for csrf in (None, "0" * 64):
        reply = await console.request("POST", f"/console/items/{item_id}/submit",
                                      data=upload_form(csrf, [("a.txt", b"secret")]))
        assert reply.status == 403
    item = await site.runtime.ledger.load(HandoverItem, item_id)
    assert item.uploads == {} and item.state == "open"


async def test_someone_else_s_item_is_not_found_for_reading_or_any_action(
        console: Console, site: Api) -> None:
    _, item_id = await case_with_item(site)
    await console.sign_in("stranger")
    assert (await console.get(f"/console/items/{item_id}")).status == 404
    csrf = csrf_of((await console.get("/console/tasks")).body)
    for action, data in (("confirm", {"note": "x"}), ("reject", {"reason": "x"})):
        reply = await console.request("POST", f"/console/items/{item_id}/{action}",
                                      data={**data, "csrf": csrf})
        assert reply.status == 404, action
    reply = await console.request("POST", f"/console/items/{item_id}/submit",
                                  data=upload_form(csrf, [("a.txt", b"x")]))
    assert reply.status == 404
    assert (await console.get(f"/console/items/{item_id}/statement")).status == 404
    assert (await site.get(f"/v1/items/{item_id}", "stranger")).status == 404
    item = await site.runtime.ledger.load(HandoverItem, item_id)
    assert item.uploads == {}


async def test_a_rejection_needs_a_reason_and_the_giver_sees_it_to_resubmit(
        console: Console, site: Api) -> None:
    _, item_id = await case_with_item(site)
    await console.sign_in("wang.lei")
    await submit_files(console, item_id, [("a.txt", b"one")], lines="华东客户\n华南客户")
    await console.sign_in("zhao.min")
    bare = await console.post_form(f"/console/items/{item_id}/reject", {"reason": " "},
                                   csrf_from=f"/console/items/{item_id}",
                                   headers={"Accept-Language": "en"})
    assert bare.status == 422 and "Invalid input" in bare.body.decode()
    assert (await site.runtime.ledger.load(HandoverItem, item_id)).state == "submitted"
    rejected = await console.post_form(
        f"/console/items/{item_id}/reject", {"reason": "缺少三期需求", "ack": "1",
                                             "line_reason:2": "合同缺页"},
        csrf_from=f"/console/items/{item_id}")
    assert rejected.status == 303
    await console.sign_in("wang.lei")
    page = (await console.get(f"/console/items/{item_id}",
                              headers={"Accept-Language": "en"})).body.decode()
    assert "缺少三期需求" in page and "Line 2: 合同缺页" in page and ">Resubmit<" in page
    # the rejected file is offered, unticked: citing it again is a choice, said so
    assert [m.group(1) for m in KEEP_BOX.finditer(page)] == [None]
    assert "None is ticked after a rejection: tick the files that still apply" in page
    item = await site.runtime.ledger.load(HandoverItem, item_id)
    status, _ = await submit_files(console, item_id, [("b.txt", b"two")],
                                   keep=tuple(str(e["sha256"]) for e in item.evidence),
                                   lines="华东客户\n华南客户")
    assert status == 303
    item = await site.runtime.ledger.load(HandoverItem, item_id)
    assert item.state == "submitted" and sorted(e["name"] for e in item.evidence) == [
        "a.txt", "b.txt"]
    await caught_up(site)
    await console.sign_in("zhao.min")
    tasks = (await console.get("/console/tasks")).body.decode()
    assert f"/console/items/{item_id}" in tasks


async def test_the_receiver_downloads_the_files_and_a_question_is_answered_on_the_item_page(
        console: Console, site: Api) -> None:
    _, item_id = await case_with_item(site)
    await console.sign_in("wang.lei")
    await submit_files(console, item_id, [("clients.xlsx", b"the clients")])
    asked = await site.post(f"/v1/items/{item_id}/comments", "zhao.min",
                            json={"text": "三期需求在哪里？", "question_to": "wang.lei"})
    assert asked.status == 201, asked.body
    await caught_up(site)
    tasks = (await console.get("/console/tasks", headers={"Accept-Language": "en"})).body
    assert f'href="/console/items/{item_id}">Answer a question' in tasks.decode()
    answered = await console.post_form(f"/console/items/{item_id}/questions/1/answer",
                                       {"text": "在共享盘 /三期"},
                                       csrf_from=f"/console/items/{item_id}")
    assert answered.status == 303
    item = await site.runtime.ledger.load(HandoverItem, item_id)
    assert item.questions["1"]["answer"] == "在共享盘 /三期"
    await console.sign_in("zhao.min")
    page = (await console.get(f"/console/items/{item_id}")).body.decode()
    [link] = re.findall(r'href="(/console/items/[^"]+/evidence/[0-9a-f]{64})"', page)
    got = await console.get(link)
    assert got.status == 200 and got.body == b"the clients"
    assert "在共享盘 /三期" in page
    await console.sign_in("stranger")
    assert (await console.get(link)).status == 404


async def test_a_streamed_form_field_past_its_limit_is_refused_and_nothing_is_submitted(
        console: Console, site: Api) -> None:
    _, item_id = await case_with_item(site)
    await console.sign_in("wang.lei")
    status, page = await submit_files(console, item_id, [], note="备" * 30_000)  # 90 KB
    assert status == 422 and "a form field is too long" in page
    assert (await site.runtime.ledger.load(HandoverItem, item_id)).state == "open"


async def test_the_receiver_reads_the_givers_note_on_the_item_page(
        console: Console, site: Api) -> None:
    _, item_id = await case_with_item(site)
    await console.sign_in("wang.lei")
    status, _ = await submit_files(console, item_id, [("客户.txt", b"hello")],
                                   note="华南客户的联系人在第二页")
    assert status == 303
    assert (await site.get(f"/v1/items/{item_id}", "zhao.min")).json()[
        "submission_note"] == "华南客户的联系人在第二页"
    await console.sign_in("zhao.min")
    page = (await console.get(f"/console/items/{item_id}",
                              headers={"Accept-Language": "en"})).body.decode()
    assert ('<p class="giver-note"><strong>Note from wang.lei:</strong> '
            '<span class="said">华南客户的联系人在第二页</span></p>') in page
