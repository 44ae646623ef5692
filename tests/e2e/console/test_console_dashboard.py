"""The HR dashboard page shows what ``GET /v1/boards/hr`` serves (the same read model, the
same rules): cases by risk with the alerts' reasons, overdue counts, days to the last day,
filters and pages."""

from __future__ import annotations

import datetime as dt
import html
import re

from tests.integration.http_fixtures import Api
from tests.support.console import TODAY, Console, add_item, open_case, risky_and_calm_cases

CASE_LINK = re.compile(r'href="/console/departures/([0-9a-f-]{36})"')


async def test_the_dashboard_lists_what_the_api_serves_riskiest_first(console: Console,
                                                                       site: Api) -> None:
    risky, calm = await risky_and_calm_cases(site)
    served = (await site.read_model("/v1/boards/hr", "hr.sun")).json()
    await console.sign_in("hr.sun")
    page = (await console.get("/console/", headers={"Accept-Language": "en"})).body.decode()
    assert CASE_LINK.findall(page) == [c["id"] for c in served["items"]] == [risky, calm]
    first = page.split('class="case ')[1]
    assert first.startswith("risk-high")
    assert "Last day near, mandatory items open" in first and "An item is overdue" in first
    # the reasons in the reader's words, from the figures the board's rules compared
    assert "the last day, 30 Nov 2026, is within 3 days and 0 of 1 mandatory items" in first
    assert "an item was due on 20 Nov 2026, more than 2 days ago" in first
    assert 'max="100" value="0"' in first and "0 of 1 mandatory items done" in first
    assert "2 days left" in first and "Overdue since 20 Nov 2026" in first
    assert "Open departures: 2" in page and "With overdue items: 1" in page
    zh = (await console.get("/console/", headers={"Accept-Language": "zh-CN"})).body.decode()
    assert "最后工作日临近，仍有必办事项未完成" in zh and "还剩 2 天" in zh
    assert "有事项应于 2026年11月20日 完成，已逾期超过 2 天" in zh


async def test_every_alert_kind_is_worded_in_the_readers_language_from_its_figures(
        console: Console, site: Api) -> None:
    risky, _ = await risky_and_calm_cases(site)
    await add_item(site, risky, receiver="dept:it", category="accounts_permissions",
                   title="停用企业邮箱")
    await add_item(site, risky, receiver="stranger", title="项目文档")
    assert (await site.post("/v1/principals/stranger/deactivate", "admin",
                            json={})).status == 200
    # three days past the last day; the rejection (at the store's clock, now) two days old
    later = max(dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC),
                dt.datetime.now(dt.UTC) + dt.timedelta(days=3))
    site.runtime.ledger.clock = lambda: later
    await site.sequence()
    await site.runtime.board.catch_up()
    served = (await site.read_model("/v1/boards/hr", "hr.sun")).json()
    rules = {r["rule"] for r in served["items"][0]["risk_reasons"]}
    assert rules >= {"accounts_not_revoked", "rejection_not_resubmitted", "receiver_inactive"}
    await console.sign_in("hr.sun")
    en = (await console.get("/console/", headers={"Accept-Language": "en"})).body.decode()
    assert ("account items still open more than 24 hours after the last working day "
            "(30 Nov 2026): 1") in en
    assert "has not been resubmitted within 2 days" in en
    assert "mandatory item “项目文档” has no active receiver (stranger)" in en
    zh = (await console.get("/console/", headers={"Accept-Language": "zh-CN"})).body.decode()
    assert "最后工作日（2026年11月30日）已过 24 小时，仍有 1 项账号事项未完成" in zh
    assert "2 天内未重新提交" in zh and "必办事项「项目文档」没有有效的接收人（stranger）" in zh
    board_words = [r["why"] for r in served["items"][0]["risk_reasons"]]
    for page in (en, zh):  # none of the board's own (English) sentences
        assert [why for why in board_words if html.escape(why) in page] == []


async def test_the_filters_narrow_the_dashboard_as_the_api_does(console: Console,
                                                                 site: Api) -> None:
    risky, calm = await risky_and_calm_cases(site)
    await console.sign_in("hr.sun")
    for query, expected in (("risk=high", [risky]), ("department=R%26D", [calm]),
                            ("overdue=true", [risky]), ("last_day_from=2026-12-01", [calm]),
                            ("state=closed", [])):
        page = (await console.get(f"/console/?{query}")).body.decode()
        assert CASE_LINK.findall(page) == expected, query
        served = (await site.read_model(f"/v1/boards/hr?{query}", "hr.sun")).json()
        assert [c["id"] for c in served["items"]] == expected, query
    bad = await console.get("/console/?risk=extreme")
    assert bad.status == 422 and "risk must be medium or high" in bad.body.decode()


async def test_the_dashboard_pages_by_twenty_five(console: Console, site: Api) -> None:
    site.runtime.ledger.clock = lambda: TODAY
    ids = [await open_case(site, last_day=f"2026-12-{day:02d}") for day in range(1, 28)]
    await console.sign_in("hr.sun")
    first = (await console.get("/console/")).body.decode()
    second = (await console.get("/console/?page=2")).body.decode()
    assert CASE_LINK.findall(first) + CASE_LINK.findall(second) == ids
    assert 'rel="next"' in first and 'rel="prev"' not in first
    assert 'rel="prev"' in second and 'rel="next"' not in second


async def test_the_overdue_figure_counts_the_cases_the_filter_keeps_as_the_api_does(
        console: Console, site: Api) -> None:
    await risky_and_calm_cases(site)
    await console.sign_in("hr.sun")
    for query in ("", "department=Sales", "department=R%26D", "risk=high"):
        page = (await console.get(f"/console/?{query}",
                                  headers={"Accept-Language": "en"})).body.decode()
        sep = "&" if query else ""
        served = (await site.read_model(f"/v1/boards/hr?{query}{sep}overdue=true",
                                        "hr.sun")).json()
        assert f"With overdue items: {served['total']}" in page, query
    assert served["total"] == 1  # the risky case is high risk and overdue
