"""The report of a case worked in the web console: commands recorded with the console's
session (``auth="session"``) or a session a one-time sign-in link opened (``auth="link"``)
print each method's words once, in both languages, never the raw code; a submission's lines
print as a numbered list (id and text, escaped); and page 1 counts the items by outcome (an
interim bundle never says the handover was completed). Checked in report.html, and in
report.pdf as text (pdftotext) and as PNG pages (pdftoppm).

The commands run through the ledger's use cases with the request context the console's
middleware records (web/session.py), then the bundle is exported over real HTTP and passed by
the ledger's verifier (which renders the report again and compares bytes).
"""

from __future__ import annotations

import html as html_module
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from ledger.bundle import layout as L
from ledger.bundle import verifier
from ledger.bundle.report_labels import AUTH_METHODS, CONFIRMED_WITHOUT_KEY
from ledger.service import commands as c
from ledger.service.context import Actor, RequestContext
from tests.integration.http_fixtures import Api
from tests.integration.test_bundle_export import export
from tests.support.bundle import Bundle
from tests.support.case_steps import approve, started
from tests.support.report_case import DESKTOP

SESSION = RequestContext(request_id="console", ip="127.0.0.1", user_agent=DESKTOP,
                         auth="session")
LINK = RequestContext(request_id="console", ip="127.0.0.1", user_agent=DESKTOP, auth="link")
LINES = [{"id": "c-1", "text": "宏达科技 <b>VIP</b> & 合同"}, {"id": "c-2", "text": "远景集团"}]
KEEP = Path("tests/artifacts/report-console")
WAIVED = "账号已由 IT 停用 / disabled by IT"


async def _console_case(api: Api) -> str:
    """A case whose items were worked in the console: one submitted in lines (by link) and
    confirmed in a session, one waived, one left open; the departure id."""
    departure = await started(api)
    await approve(api, departure)
    ledger = api.runtime.ledger
    hr, leaver, receiver = (Actor("hr.sun", "hr"), Actor("wang.lei", "employee"),
                            Actor("zhao.min", "employee"))
    items = []
    for title in ("客户资料", "CRM 账号", "项目文档"):
        added = await ledger.execute(c.AddItem(
            departure_id=uuid.UUID(departure), category="clients", title=title,
            receiver="zhao.min"), hr, SESSION)
        items.append(uuid.UUID(str(added.result["item_id"])))
    clients, crm, _ = items
    await ledger.execute(c.SubmitItem.model_validate({
        "item_id": str(clients), "note": "两家客户", "lines": LINES, "mode": "on_site",
        "location": "3 楼会议室", "attendees": ["wang.lei", "zhao.min"]}), leaver, LINK)
    await ledger.execute(c.ConfirmItem(item_id=clients, acknowledged=["c-1", "c-2"]),
                         receiver, SESSION)
    await ledger.execute(c.WaiveItem(item_id=crm, reason=WAIVED), hr, SESSION)
    await ledger.execute(c.SendReminder.model_validate({
        "departure_id": departure, "to": "wang.lei", "item_ids": [str(items[2])],
        "channel": "wecom"}), hr, SESSION)
    return departure


def _verified(bundle: Bundle, tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "console.zip"
    path.write_bytes(bundle.data)
    vkey = bundle.read(L.KEYS).decode().splitlines()[0]
    assert verifier.verify_bundle(path, vkey).failures == []
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(bundle.read(L.REPORT_PDF))
    KEEP.mkdir(parents=True, exist_ok=True)  # gitignored: for a person to look at
    shutil.copy(pdf, KEEP / "report.pdf")
    (KEEP / "report.html").write_bytes(bundle.read(L.REPORT_HTML))
    return bundle.read(L.REPORT_HTML).decode("utf-8"), pdf


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", html_module.unescape(re.sub(r"<[^>]+>", "", text)))


async def test_a_console_case_prints_its_methods_lines_and_counts(
        api: Api, tmp_path: Path) -> None:
    departure = await _console_case(api)
    html, pdf = _verified(await export(api, departure), tmp_path)
    plain = _plain(html)

    session_zh, session_en = AUTH_METHODS["session"]
    link_zh, link_en = AUTH_METHODS["link"]
    assert f"认证 auth: {session_zh} {session_en}" in plain
    assert f"认证 auth: {link_zh} {link_en}" in plain
    assert "session session" not in plain and "link link" not in plain
    assert not re.search(r"auth: (session|link|bearer)\b", plain)
    confirmed_zh, confirmed_en = CONFIRMED_WITHOUT_KEY["session"]
    item = plain[plain.index("3.1 客户资料"):plain.index("3.2 CRM 账号")]
    assert f"{confirmed_zh} {confirmed_en}" in item

    assert '[{"id"' not in html and "&lt;b&gt;VIP&lt;/b&gt; &amp; 合同" in html
    assert "<b>VIP</b>" not in html
    listed = re.search(r'<ol class="lines">\n(.*?)</ol>', html, re.S)
    assert listed is not None
    assert listed.group(1) == (
        '<li><span class="mono">c-1</span> 宏达科技 &lt;b&gt;VIP&lt;/b&gt; &amp; 合同</li>\n'
        '<li><span class="mono">c-2</span> 远景集团</li>\n')
    assert "条目 lines (2):" in item
    assert "交接方式 how handed over: 参与人 attendees: wang.lei, zhao.min; 地点 location: " \
           "3 楼会议室; 方式 mode: 现场 on site" in item
    assert "渠道 channel: 企业微信 WeCom" in plain
    assert "逐条确认 lines acknowledged: c-1, c-2" in item
    assert f"豁免理由 why waived: {WAIVED}" in plain

    first = plain[:plain.index("审批链")]
    assert "事项共 3 项：已确认 1 项，已豁免 1 项（3.2，豁免理由见各事项），未完成 1 项" in first
    assert "Items: 3; confirmed 1, waived 1 (3.2; each shows why), open 1." in first
    assert "Handover evidence report (interim)" in first
    assert "completed" not in first and "已完成" not in first
    _check_pdf(pdf, tmp_path, session_en)


def _check_pdf(pdf: Path, tmp_path: Path, session_en: str) -> None:
    tools = {name: shutil.which(name) for name in ("pdftotext", "pdftoppm")}
    if None in tools.values():
        pytest.skip("the PDF checks need poppler-utils (pdftotext, pdftoppm)")
    text = subprocess.run([str(tools["pdftotext"]), str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    flat = re.sub(r"\s+", "", text)  # pdftotext breaks lines inside Chinese phrases
    for phrase in ("会话（控制台）", session_en, "一次性登录链接会话", "已确认 1 项",
                   "已豁免 1 项", "未完成 1 项", "waived 1", "宏达科技 <b>VIP</b> & 合同",
                   "1. c-1", "2. c-2", "逐条确认 lines acknowledged: c-1, c-2"):
        assert phrase.replace(" ", "") in flat, phrase
    assert "sessionsession" not in flat and '[{"id"' not in flat
    pages = tmp_path / "page"
    subprocess.run([str(tools["pdftoppm"]), "-r", "60", "-png", "-f", "1", "-l", "3",
                    str(pdf), str(pages)], check=True)
    pngs = sorted(tmp_path.glob("page*.png"))
    assert len(pngs) == 3 and all(p.stat().st_size > 10_000 for p in pngs)
    for png in pngs:
        shutil.copy(png, KEEP / png.name)
