"""The timeline rows of ``report.html``, written in Python rather than by a Jinja2 macro.

A report prints one row per entry (600 and more for a large case), each with some twenty
values; a macro call per row escaped each value through Jinja2's runtime (about 50,000 calls
for 600 rows), most of the report's rendering time. Here each distinct string is escaped once
per render, by MarkupSafe (as Jinja2's autoescape does), and a row is joined from literal HTML.
The bytes are exactly those the ``row`` macro of ``templates/report.html.j2`` printed (with
``trim_blocks`` and ``lstrip_blocks``): a change here changes every report, so it bumps
``REPORT_GENERATOR`` (``ledger.bundle.report``).

Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from markupsafe import Markup, escape

from ledger.bundle.report_labels import OWN_SIGNATURE
from ledger.bundle.report_row import Fact, FileRef, Row, Signed

_FILES_HEAD = (
    '<table class="files"><colgroup><col class="w34"><col class="w14"><col></colgroup><tr>'
    '<th>文件名 <span class="en">file</span></th><th>大小 <span class="en">size</span></th>'
    "<th>SHA-256</th></tr>\n")
_OWN_SIGNATURE = f' + {OWN_SIGNATURE[0]} <span class="en">{OWN_SIGNATURE[1]}</span>'


_SPECIAL = re.compile(r"[&<>'\"]")
"""What MarkupSafe's escape replaces; a string without any of them is its own escape."""


class _Escaper:
    """MarkupSafe's escape of a string, kept for the render: actors, labels, clients and zones
    repeat on most rows."""

    def __init__(self) -> None:
        self.done: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        found = self.done.get(text)
        if found is None:
            found = self.done[text] = str(escape(text)) if _SPECIAL.search(text) else text
        return found


def rows_html(rows: Iterable[Row]) -> Markup:
    """The rows of a timeline, one ``<div class="ev">`` each, as the report prints them."""
    esc = _Escaper()
    parts: list[str] = []
    for row in rows:
        _row(row, esc, parts)
    return Markup("".join(parts))  # noqa: S704 - every value in it was escaped by esc


def _row(e: Row, esc: _Escaper, out: list[str]) -> None:
    out += ['<div class="ev">\n<div class="when">', esc(e.at.utc), " · ", esc(e.at.local),
            " · ", esc(e.path[8:]), "</div>\n<div><b>", esc(e.zh), "</b> ", esc(e.en)]
    if e.how_signed:
        out += [' — <span class="', "own-key" if e.signed else "no-key", '">',
                esc(e.how_signed[0]), ' <span class="en">', esc(e.how_signed[1]),
                "</span></span>"]
    out += ["</div>\n<div>操作人 by: ", esc(e.actor)]
    origin = e.origin
    if origin:
        out += [" · IP ", esc(origin.ip), " · 客户端 client "]
        if origin.client:
            out += [esc(origin.client.label), ": ", esc(origin.client.summary)]
        else:
            out.append("-")
        out += [' · 认证 <span class="en">auth</span>: ', esc(origin.auth_zh),
                ' <span class="en">', esc(origin.auth_en), "</span>"]
        if e.signed:
            out.append(_OWN_SIGNATURE)
    out.append("</div>\n")
    plain = [f for f in e.facts if not f.lines]
    if plain:
        out.append("<div>")
        out.append(" · ".join(f"{esc(f.zh)} {esc(f.en)}: {esc(f.value)}" for f in plain))
        out.append("</div>\n")
    for fact in e.facts:
        if fact.lines:
            _lines(fact, esc, out)
    if e.files:
        out.append(_FILES_HEAD)
        for f in e.files:
            _file(f, esc, out)
        out.append("</table>\n")
    if e.signed:
        _signed(e.signed, esc, out)
    out.append("</div>\n")


def _lines(f: Fact, esc: _Escaper, out: list[str]) -> None:
    out += ["<div>", esc(f.zh), ' <span class="en">', esc(f.en), "</span> (",
            str(len(f.lines)), '):</div>\n<ol class="lines">\n']
    for line_id, text in f.lines:
        out += ['<li><span class="mono">', esc(line_id), "</span> ", esc(text), "</li>\n"]
    out.append("</ol>\n")


def _file(f: FileRef, esc: _Escaper, out: list[str]) -> None:
    out += ["<tr><td>", esc(f.name), '<br><span class="mono">', esc(f.media_type), "</span>"]
    if f.named_by:
        out += ['<br><span class="note">名称与大小取自上传记录 <span class="en">name and size '
                "from the upload</span> ", esc(f.named_by[8:]), "</span>"]
    out += ["</td><td>", esc(f.size), '</td><td class="hash">', esc(f.sha256), "</td></tr>\n"]


def _signed(s: Signed, esc: _Escaper, out: list[str]) -> None:
    out += ['<div class="signed">Ed25519 签名 <span class="en">signature</span> · 密钥 '
            '<span class="en">key</span>: <span class="mono">', esc(s.key_id), "</span><br>\n"
            '公钥 <span class="en">public key</span>: <span class="hash">', esc(s.public_key),
            '</span><br>\n所签文本 <span class="en">signed statement</span> (SHA-256 '
            '<span class="hash">', esc(s.statement_sha256), "</span>):\n"
            '<pre class="statement">', esc(s.statement), "</pre>\n"
            '签名 <span class="en">signature</span>: <span class="hash">', esc(s.signature),
            "</span></div>\n"]
