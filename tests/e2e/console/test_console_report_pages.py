"""The Reports page over real HTTP: the handover report ``GET /v1/reports/handover`` serves,
as a table and SVG charts in the reader's language, and its CSV exactly as the API gives it."""

from __future__ import annotations

from tests.integration.http_fixtures import Api
from tests.support.console import Console
from tests.support.console_cases import caught_up, closed_case


async def _three_closed(site: Api) -> None:
    await closed_case(site, department="Sales", notice="2026-11-01", rejected=True, reminders=2)
    await closed_case(site, department="Sales", notice="2026-11-20", leaver="zhao.min")
    await closed_case(site, department="R&D", notice="2026-10-01", leaver="stranger")
    await caught_up(site)


async def test_hr_reads_the_report_as_tables_and_charts_in_both_languages(
        console: Console, site: Api) -> None:
    await _three_closed(site)
    served = (await site.get("/v1/reports/handover", "hr.sun")).json()
    assert [d["department"] for d in served["departments"]] == ["R&D", "Sales"]
    await console.sign_in("hr.sun")
    page = (await console.get("/console/reports", headers={"Accept-Language": "en"})
            ).body.decode()
    for chart in ("chart-completion", "chart-days", "chart-rejections"):
        assert f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart}"' in page
    assert "<title id=\"chart-completion-title\">Cases closed over time</title>" in page
    sales = next(d for d in served["departments"] if d["department"] == "Sales")
    row = page.split('<th scope="row">Sales</th>')[1].split("</tr>")[0]
    assert f"<td>{sales['closed']}</td>" in row and "<td>1</td>" in row  # one rejected
    assert "Sales: " in page.split('id="chart-days"')[1]
    assert " style=" not in page and "<script>" not in page
    zh = (await console.get("/console/reports", headers={"Accept-Language": "zh-CN"})
          ).body.decode()
    assert "<title id=\"chart-completion-title\">结案数随时间变化</title>" in zh
    assert "至少被退回一次的事项" in zh


async def test_the_filter_narrows_by_department_and_period_as_the_api_does(
        console: Console, site: Api) -> None:
    await _three_closed(site)
    await console.sign_in("legal.x")
    page = (await console.get("/console/reports?department=R%26D",
                              headers={"Accept-Language": "en"})).body.decode()
    assert '<th scope="row">R&amp;D</th>' in page and '<th scope="row">Sales</th>' not in page
    empty = (await console.get("/console/reports?from=2020-01-01&to=2020-12-31",
                               headers={"Accept-Language": "en"})).body.decode()
    assert "No case was closed in this period." in empty
    backwards = await console.get("/console/reports?from=2026-12-01&to=2026-01-01")
    assert backwards.status == 422


async def test_the_csv_is_the_apis_with_its_header(console: Console, site: Api) -> None:
    await _three_closed(site)
    api = await site.get("/v1/reports/handover?format=csv&department=Sales", "audit.x")
    await console.sign_in("audit.x")
    csv = await console.get("/console/reports/handover.csv?department=Sales")
    assert csv.status == 200 and csv.body == api.body
    assert csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert csv.headers["Content-Disposition"] == api.headers["Content-Disposition"] == (
        'attachment; filename="handover-report.csv"')
    assert csv.body.decode().splitlines()[0].startswith("department,closed,median_days")
    page = (await console.get("/console/reports?department=Sales")).body.decode()
    assert 'href="/console/reports/handover.csv?from=' in page


async def test_only_hr_legal_and_auditors_find_reports(console: Console, site: Api) -> None:
    for who in ("wang.lei", "it.qian", "fin.zhou"):
        await console.sign_in(who)
        assert (await console.get("/console/reports")).status == 404, who
        assert (await console.get("/console/reports/handover.csv")).status == 404, who
