"""What the report says of the case's state, read by a lawyer: a withdrawn or interim bundle is
no certificate of completion, a closed case under dispute says so on its first page, a
confirmation without a personal key says so on its row, a file a statement cites by digest is
named, and a receiver is a person or a queue. Bundles exported over real HTTP, verified by the
ledger's verifier (which renders the report again).

With ``LEDGER_REPORT_PNGS`` set, page 1 of each PDF is left there (pdftoppm -r 60) to look at.
"""

from __future__ import annotations

import html as html_module
import os
import re
import shutil
import subprocess
from pathlib import Path

from ledger.bundle import layout as L
from ledger.bundle import verifier
from ledger.bundle.report_row import OWN_KEY, TOKEN_ONLY
from tests.integration.http_fixtures import Api
from tests.integration.test_bundle_export import closed_case, export
from tests.support.bundle import Bundle
from tests.support.case_steps import started

CERTIFICATE = "离职交接完成证明"
CLIENT_FILE = "宏达科技 二期需求\n".encode()  # what tests.support.handover_case uploads


def _checked(bundle: Bundle, tmp_path: Path, name: str) -> str:
    """The bundle's report.html as text, after the ledger's verifier passed the bundle (it
    renders the report again and compares); page 1 of its PDF kept if asked."""
    path = tmp_path / f"{name}.zip"
    path.write_bytes(bundle.data)
    vkey = bundle.read(L.KEYS).decode().splitlines()[0]
    assert verifier.verify_bundle(path, vkey).failures == []
    keep = os.environ.get("LEDGER_REPORT_PNGS")
    pdftoppm = shutil.which("pdftoppm")
    if keep and pdftoppm:
        pdf = tmp_path / f"{name}.pdf"
        pdf.write_bytes(bundle.read(L.REPORT_PDF))
        Path(keep).mkdir(parents=True, exist_ok=True)
        subprocess.run([pdftoppm, "-r", "60", "-png", "-f", "1", "-l", "1", "-singlefile",
                        str(pdf), str(Path(keep) / f"{name}-p1")], check=True)
    return html_module.unescape(bundle.read(L.REPORT_HTML).decode("utf-8"))


def _first_page(text: str) -> str:
    """The report up to its approval chain: the header and the case summary."""
    return text[:text.index("审批链")]


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))


async def test_a_withdrawn_case_is_an_evidence_report_not_a_certificate(
        api: Api, tmp_path: Path) -> None:
    departure = await started(api)
    interim = _checked(await export(api, departure), tmp_path, "interim")
    assert CERTIFICATE not in interim
    first = _plain(_first_page(interim))
    assert "离职交接证据报告（临时） Handover evidence report (interim)" in first
    assert "the handover is not finished" in first and "交接尚未结束" in first
    assert "completed" not in first and "已完成" not in first  # an interim bundle
    assert "事项共 0 项：已确认 0 项，已豁免 0 项，未完成 0 项" in first

    withdrawn = await api.post(f"/v1/departures/{departure}/withdraw", "hr.sun",
                               json={"reason": "stays after all"})
    assert withdrawn.status == 200, withdrawn.body
    text = _checked(await export(api, departure), tmp_path, "withdrawn")
    assert CERTIFICATE not in text
    first = _plain(_first_page(text))
    assert "离职交接证据报告（已撤回） Handover evidence report (withdrawn)" in first
    assert "案件状态：已撤回。案件未结案，交接尚未结束" in first
    assert "The case is withdrawn: it is not closed" in first
    assert "已撤回 withdrawn" in first  # the state row, in both languages


async def test_a_closed_disputed_case_shows_its_hold_and_disputes_first(
        api: Api, tmp_path: Path) -> None:
    case = await closed_case(api)
    raised = await api.post("/v1/disputes", "zhao.min", json={
        "departure_id": case.departure, "item_ids": [case.client_item],
        "claim": "宏达科技最新需求在交接时被隐瞒"})
    assert raised.status == 201, raised.body
    dispute = raised.json()["result"]["dispute_id"]
    stated = await api.post(f"/v1/disputes/{dispute}/statements", "zhao.min", json={
        "text": "见交接时上传的客户文件", "evidence": [
            {"sha256": case.client_file, "item_id": case.client_item}]})
    assert stated.status == 201, stated.body
    text = _checked(await export(api, case.departure, "legal.x"), tmp_path, "disputed")

    first = _plain(_first_page(text))
    assert f"{CERTIFICATE} Handover certificate of completion" in first
    assert "已结案 closed" in first
    assert "争议 1 项，其中 1 项未决；案件处于法律保全（见第 7 节）" in first
    assert "Disputes: 1, 1 of them open; the case is on legal hold (see section 7)" in first
    assert "法律保全 legal hold 是 yes — 由争议提出 placed by dispute 7.1" in first
    assert "7.1 未决 open · 宏达科技最新需求在交接时被隐瞒 · 见 see §7.1" in first
    assert 'href="#dispute-1"' in text and 'id="dispute-1"' in text

    disputes = text[text.index("7 争议"):text.index("8 此前的导出")]
    statement = disputes[disputes.index("见交接时上传的客户文件"):]
    cited = statement[:statement.index("</table>")]
    assert "<td>clients.txt<br>" in cited and f"<td>{len(CLIENT_FILE)} B</td>" in cited
    assert case.client_file in cited and "名称与大小取自上传记录" in cited
    assert "<td>-<br>" not in disputes

    items = text[text.index("3 交接事项"):text.index("4 提醒与升级")]
    assert "已确认 confirmed" in items  # item states in both languages
    assert "接收人 <span class=\"en\">receiver</span> zhao.min" in items
    assert "接收队列 <span class=\"en\">queue</span> dept:it" in items
    assert "receiver (queue)" not in text and "接收人（队列）" not in text

    signatures = text[text.index("5 交接确认书签署"):text.index("6 结案")]
    assert TOKEN_ONLY[0] in signatures and TOKEN_ONLY[1] in signatures
    assert OWN_KEY[0] not in signatures
