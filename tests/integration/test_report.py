"""The evidence bundle's report (report.html, report.pdf) of a real case on a real store: a
rejection, a resubmission and a confirmation signed with the receiver's own key, then the close.

The PDF checks use poppler-utils (pdftotext, pdffonts, pdftoppm) and the CJK font of
fonts-noto-cjk: absent, they skip, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html as html_module
import io
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from ledger.bundle.layout import REPORT_SOURCE_META
from ledger.bundle.report import (
    CJK_PACKAGE,
    installed_cjk_families,
    render_report_html,
    render_report_pdf,
    require_cjk_font,
)
from ledger.errors import ConfigurationError
from tests.integration.http_fixtures import serve
from tests.support.report_case import REJECTION, ReportCase, make_large_case, make_report_case

POPPLER = ("pdftotext", "pdffonts", "pdftoppm")


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path is not None, name  # _require_tools has skipped (or failed) without it
    return path


def _require_tools() -> None:
    missing = [tool for tool in POPPLER if shutil.which(tool) is None]
    if not {"Noto Sans CJK SC", "Noto Sans Mono CJK SC"} <= installed_cjk_families():
        missing.append(CJK_PACKAGE)
    if missing:
        message = (f"the report's PDF tests need {', '.join(missing)} "
                   f"(poppler-utils, {CJK_PACKAGE})")
        if os.environ.get("CI"):
            pytest.fail(message + " (required in CI)")
        pytest.skip(message)


@pytest.fixture
async def case(database_url: str, tmp_path: Path) -> AsyncIterator[ReportCase]:
    """The case on each store (served over HTTP), and its report source."""
    async with serve(database_url, tmp_path) as api:
        yield await make_report_case(api)


def _content_manifest(case: ReportCase) -> bytes:
    return (b'{"bundle_format":1,"departure_id":"' + case.departure_id.encode()
            + b'","generated_at":"' + case.source.generated_at.encode() + b'"}')


def test_the_html_is_the_same_bytes_each_time_and_names_its_source(case: ReportCase) -> None:
    html = render_report_html(case.source)
    assert render_report_html(dataclasses.replace(case.source)) == html
    text = html.decode("utf-8")
    digest = case.source.report_source_sha256
    assert f'<meta name="{REPORT_SOURCE_META}" content="{digest}">' in text
    assert text.count(digest) >= 3  # the meta, the header and the appendix print it
    assert "<script" not in text and "http://" not in text and "https://" not in text
    assert "src=" not in text and "<link" not in text
    listing = html_module.unescape(text.split('<pre class="listing">')[1].split("</pre>")[0])
    assert hashlib.sha256(listing.encode()).hexdigest() == digest  # checkable by hand
    other = render_report_html(dataclasses.replace(case.source, time_zone="Europe/Berlin"))
    assert other != html and "+01:00" in other.decode()


def test_the_html_tells_who_did_what_in_order_and_how(case: ReportCase) -> None:
    text = render_report_html(case.source).decode("utf-8")
    item = text[text.index("客户资料</b>"):text.index("提醒与升级")]
    order = ["wang.lei 为「客户资料」上传文件 clients.xlsx", "wang.lei 提交「客户资料」",
             "zhao.min 退回「客户资料」", "wang.lei 为「客户资料」上传文件 需求.docx",
             "wang.lei 提交「客户资料」", "zhao.min 确认「客户资料」"]
    at = 0
    for phrase in order:
        at = item.index(phrase, at) + 1
    assert REJECTION in item
    confirmation = item[item.index("zhao.min 确认「客户资料」"):]
    assert "Mobile Safari 17.1" in confirmation and "Apple iPhone" in confirmation
    assert "iOS 17.1" in confirmation and "IP 127.0.0.1" in confirmation
    assert "本人 Ed25519 签名 signed with their own Ed25519 key" in html_module.unescape(
        re.sub(r"<[^>]+>", "", confirmation))
    assert "交接确认 / Handover confirmation" in confirmation  # the signed statement
    assert "Chrome 120.0.0" in item  # the giver's uploads came from a desktop browser
    assert "INTERIM" not in text
    assert "li.qiang 审批通过第 1 步" in text and "同意 approved" in text
    assert "hr.sun 结案" in text and "可发放离职补偿" in text
    assert "账号已由 IT 停用" in text  # the waiver's reason
    head = text[:text.index("审批链")]
    assert ('<h1>离职交接完成证明 <span class="en">Handover certificate of completion</span>'
            in head)
    assert "已结案 closed" in head and "交接已完成" not in head and "was completed" not in head
    assert '岗位类别 <span class="en">role family</span> 销售 sales</td>' in head
    # one item confirmed, the checklist's CRM account waived (3.1, its reason on its head)
    assert ("事项共 2 项：已确认 1 项，已豁免 1 项（" in head and "未完成 0 项" in head
            and "Items: 2; confirmed 1, waived 1 (" in head and "open 0." in head)
    assert '<a href="#item-1">3.1</a>' in head and 'id="item-1"' in text
    assert "豁免理由 <span class=\"en\">why waived</span>: 账号已由 IT 停用" in text
    signatures = text[text.index("5 交接确认书签署"):text.index("6 结案")]
    assert "凭登录令牌确认（无个人密钥签名）" in signatures  # signed over HTTP, signature null


def test_an_interim_report_says_so(case: ReportCase) -> None:
    text = render_report_html(dataclasses.replace(case.source, status="interim")).decode()
    assert "临时报告" in text and "INTERIM" in text and "@top-center" in text
    assert "离职交接完成证明" not in text and "离职交接证据报告（临时）" in text
    assert "案件已结案，但本证据包为临时版" in text  # the case closed, its bundle interim


def _pdftotext(pdf: Path) -> str:
    return subprocess.run([_tool("pdftotext"), "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_the_pdf_is_pdfa3_with_every_font_embedded_and_the_manifest_attached(
        case: ReportCase, tmp_path: Path) -> None:
    _require_tools()
    source = dataclasses.replace(case.source, status="interim")
    html = render_report_html(source)
    manifest = _content_manifest(case)
    started = time.perf_counter()
    pdf = render_report_pdf(html, manifest)
    print(f"report.pdf: {len(pdf)} bytes in {time.perf_counter() - started:.2f} s")
    assert render_report_pdf(html, manifest) == pdf  # the same inputs, the same bytes
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)

    reader = PdfReader(io.BytesIO(pdf))
    assert reader.attachments == {"manifest.json": [manifest]}
    # the way from the catalogue to manifest.json is plain objects: a reader reaches the
    # attachment without inflating the object stream that holds the rest of the document
    assert reader.xref_objStm and not any(
        number in reader.xref_objStm for _, number in reader.resolved_objects)
    catalog = reader.trailer["/Root"]
    (spec,) = [a.get_object() for a in catalog["/AF"]]
    assert spec["/AFRelationship"] == "/Source" and spec["/F"] == "manifest.json"
    xmp = catalog["/Metadata"].get_object().get_data().decode()
    assert re.search(r"pdfaid:part[>=\"]+3", xmp) and re.search(r"pdfaid:conformance[>=\"]+B", xmp)

    fonts = subprocess.run([_tool("pdffonts"), str(path)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts  # emb column
    assert all("CJK" in line for line in fonts), fonts

    text = _pdftotext(path)
    flat = re.sub(r"\s+", " ", text)
    for phrase in ("离职交接证据报告（临时）", "Handover evidence report (interim)",
                   "王磊 (wang.lei)",
                   "zhao.min 退回「客户资料」", "zhao.min rejected", "clients.xlsx",
                   "How to verify", "如何核验", "python3 -I verify.py --key"):
        assert phrase in flat, phrase
    assert flat.index("zhao.min 退回「客户资料」") < flat.index("zhao.min 确认「客户资料」")
    assert "INTERIM" in text.split("\f")[-2]  # on the last page too, not only the first
    assert all("INTERIM" in page for page in text.split("\f") if page.strip())
    digest = case.source.report_source_sha256
    assert digest in flat.replace(" ", "")
    for raw in case.source.entries.values():  # every entry's time, in UTC
        stamp = raw.split(b'"recorded_at":"')[1][:26].decode().replace("T", " ")
        assert stamp in flat, stamp

    pages = tmp_path / "page"
    subprocess.run([_tool("pdftoppm"), "-r", "80", "-png", str(path), str(pages)], check=True)
    pngs = sorted(tmp_path.glob("page*.png"))
    assert len(pngs) == len(reader.pages) > 3 and all(p.stat().st_size > 10_000 for p in pngs)
    for page in reader.pages:
        assert page.mediabox.width == pytest.approx(595.28, abs=0.5)  # A4: 210 mm
        assert page.mediabox.height == pytest.approx(841.89, abs=0.5)  # 297 mm
    keep = os.environ.get("LEDGER_REPORT_PNGS")  # where to leave them for a person to look
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for png in pngs:
            shutil.copy(png, Path(keep) / png.name)
        shutil.copy(path, Path(keep) / "report.pdf")


QUIET_CHECK = """
import io, logging, sys
log = io.StringIO()
logging.basicConfig(level=logging.DEBUG, stream=log, format="%(name)s %(levelname)s")
from ledger.bundle.report import render_report_pdf
render_report_pdf(sys.stdin.buffer.read(), b'{"generated_at":"2026-12-01T00:00:00.000000Z"}')
print(log.getvalue())
"""


def test_printing_a_pdf_logs_no_progress_of_weasyprint_or_fonttools(case: ReportCase) -> None:
    _require_tools()
    html = render_report_html(case.source)
    logged = subprocess.run([sys.executable, "-c", QUIET_CHECK], input=html,
                            capture_output=True, check=True).stdout.decode()
    chatty = [line for line in logged.splitlines()
              if line.startswith(("weasyprint", "fontTools"))]
    assert chatty == []  # the server logs at INFO; these would be hundreds of lines a PDF


def test_printing_without_the_cjk_font_fails_naming_the_package(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if shutil.which("fc-list") is None:
        pytest.skip("fontconfig is not installed")
    empty = tmp_path / "fonts.conf"
    empty.write_text('<?xml version="1.0"?>\n<fontconfig><dir>' + str(tmp_path)
                     + "</dir><cachedir>" + str(tmp_path / "cache") + "</cachedir></fontconfig>\n")
    monkeypatch.setenv("FONTCONFIG_FILE", str(empty))
    with pytest.raises(ConfigurationError, match=r"install the package fonts-noto-cjk"):
        require_cjk_font()
    with pytest.raises(ConfigurationError, match=r"Noto Sans CJK SC"):
        render_report_pdf(b"<html></html>", b'{"generated_at":"2026-12-01T00:00:00.000000Z"}')


async def test_a_case_of_600_events_renders_every_item_in_order(tmp_path: Path) -> None:
    async with serve(f"sqlite:///{tmp_path}/l.db", tmp_path) as api:
        source = await make_large_case(api, items=60)
    started = time.perf_counter()
    html = render_report_html(source)
    elapsed = time.perf_counter() - started
    print(f"report.html of {len(source.entries)} entries: {len(html)} bytes in {elapsed:.2f} s")
    assert len(source.entries) == 603 and render_report_html(source) == html
    text = html.decode("utf-8")
    heads = [text.index(f"客户 {n:02d} 资料</b>") for n in range(60)]
    assert heads == sorted(heads)
    assert text.count("zhao.min 退回「客户 ") == 60 and text.count("<tr><td>C") == 2
    assert text.count("  entries/") == 603  # the appendix lists each, with its SHA-256
