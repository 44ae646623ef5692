"""``report.html`` and ``report.pdf`` of an evidence bundle (docs/bundle-format.md).

The HTML is rendered from a ``ReportSource`` alone, byte for byte the same each time, so
``ledger verify-bundle`` renders it again and compares: Jinja2 templates (package data, HTML
autoescaped), inline CSS, no script, no remote resource. The PDF is that HTML printed by
WeasyPrint as PDF/A-3b on A4, every font embedded, with the content manifest attached as
``manifest.json`` (``AFRelationship /Source``, listed in the catalogue's ``/AF``). It needs a
CJK font (Debian/Ubuntu: fonts-noto-cjk); without one it refuses instead of printing boxes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
import subprocess
from collections.abc import Mapping
from functools import cache
from importlib import metadata
from typing import Any

import jinja2
from eventsourcing.domain import Aggregate

from ledger.bundle.layout import CONTENT_MANIFEST_NAME, REPORT_SOURCE_META
from ledger.bundle.report_case import build_report
from ledger.bundle.report_cosign import cosigners
from ledger.bundle.report_html import rows_html
from ledger.bundle.source import ReportSource
from ledger.entry import Entry, parse_time
from ledger.errors import ConfigurationError, VerificationError

PDF_VARIANT = "pdf/a-3b"
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans Mono CJK SC")
"""The font families the report's CSS names first; both come with one package."""
CJK_PACKAGE = "fonts-noto-cjk"
CHATTY_LOGGERS = ("weasyprint", "weasyprint.progress", "fontTools")
"""Loggers that print INFO lines (each step, each font subset) on every PDF; kept to warnings."""
REPORT_GENERATOR = "6"
"""The version of the code and templates that print ``report.html`` (this module,
``report_case``, ``report_row``, ``report_html``, ``report_client``, ``report_labels``,
``report_verify``, ``report_cosign``, the templates and ``ledger.service.timeline``'s
phrases). Raise it with any change that prints other bytes for the same source (``ledger
verify-bundle`` of one version compares the bytes of another's reports only when this and the
libraries' versions match)."""
RENDERER_PACKAGES = ("jinja2", "markupsafe", "ua-parser", "ua-parser-builtins")
"""The libraries whose version can change ``report.html``'s bytes: the template engine, its
escaping, and the User-Agent parser with its regexes (uap-core, shipped apart)."""


@cache
def report_renderer() -> dict[str, str]:
    """What ``report.html``'s bytes depend on besides its source, as the manifest records it
    (``report_renderer``, docs/bundle-format.md): ``generator`` and each of
    ``RENDERER_PACKAGES``' installed version (``-`` if it is not installed)."""
    versions = {"generator": REPORT_GENERATOR}
    for name in RENDERER_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "-"
    return versions


@cache
def _templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("ledger.bundle", "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined)
    environment.globals["rows_html"] = rows_html
    return environment


def render_report_html(source: ReportSource, *, decoded: Mapping[str, Entry] | None = None,
                       strict: bool = True,
                       replayed: Mapping[tuple[str, str], Aggregate] | None = None) -> bytes:
    """``report.html`` of ``source``: UTF-8, deterministic (same source, same bytes).

    ``decoded``: entries the caller already decoded from these bytes, by path (used where
    their bytes are the same object or equal). ``strict=False`` skips the RFC 8785 check of
    the others, for entries whose canonical form was already checked (the exporter's, read
    from the store with their chains verified). Raises VerificationError if an entry is
    malformed or the case's departure, one of its items or one of its disputes is not among
    the entries. ``replayed``: aggregates the caller already replayed from these entries, by
    (stream type, stream id); one is used only where it replayed every version of its stream.
    """
    report = build_report(source, decoded=decoded, strict=strict, replayed=replayed)
    html = _templates().get_template("report.html.j2").render(
        r=report, meta_name=REPORT_SOURCE_META, generated_at=source.generated_at,
        timestamps=source.timestamps,
        cosigners=cosigners(source.cosignatures, source.time_zone))
    return html.encode("utf-8")


def installed_cjk_families(fc_list: str = "fc-list") -> frozenset[str]:
    """The font families fontconfig offers for Chinese (``fc-list :lang=zh family``); empty
    when fontconfig itself is missing."""
    program = shutil.which(fc_list)
    if program is None:
        return frozenset()
    # A fixed argument list to the program found on PATH: nothing comes from the input.
    listed = subprocess.run(  # noqa: S603
        [program, ":lang=zh", "family"], capture_output=True, text=True, timeout=60,
        check=False).stdout
    return frozenset(name.strip() for line in listed.splitlines() for name in line.split(","))


def require_cjk_font() -> None:
    """Raise ConfigurationError naming the package to install unless the report's CJK fonts
    are installed (a PDF without them would show boxes for every Chinese character)."""
    missing = [f for f in CJK_FAMILIES if f not in installed_cjk_families()]
    if missing:
        raise ConfigurationError(
            f"report.pdf needs the CJK font {', '.join(missing)}, which is not installed: "
            f"install the package {CJK_PACKAGE} (apt-get install {CJK_PACKAGE}) and fontconfig")


def quiet_renderer_logs() -> None:
    """Keep WeasyPrint's and fontTools' loggers to warnings and errors (they log each layout
    step and each font subset at INFO, which would fill the server's log on every export)."""
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def render_report_pdf(html: bytes, content_manifest: bytes) -> bytes:
    """``report.pdf``: ``html`` (from ``render_report_html``) printed as PDF/A-3b with
    ``content_manifest`` attached as ``manifest.json``; the same inputs give the same bytes.

    Raises ConfigurationError if the CJK font is missing, VerificationError if the content
    manifest names no ``generated_at``.
    """
    require_cjk_font()
    quiet_renderer_logs()  # before the import, which parses WeasyPrint's own stylesheets
    import weasyprint  # heavy (Pango through cffi): loaded only when a PDF is printed

    created = _generated_at(content_manifest)
    refuse = weasyprint.URLFetcher(allowed_protocols=(), fail_on_errors=True)
    attachment = weasyprint.Attachment(
        string=content_manifest, name=CONTENT_MANIFEST_NAME, relationship="Source",
        description="Content manifest of the evidence bundle (docs/bundle-format.md)",
        created=created, modified=created, url_fetcher=refuse)
    document = weasyprint.HTML(string=html.decode("utf-8"), url_fetcher=refuse)
    identifier = hashlib.sha256(html + content_manifest).hexdigest()[:32].encode("ascii")
    pdf: bytes = document.write_pdf(pdf_variant=PDF_VARIANT, attachments=[attachment],
                                    pdf_identifier=identifier, finisher=_finish)
    return pdf


def _finish(_document: object, pdf: Any) -> None:
    """Before the PDF is written: ``/AF`` lists the attachment once, and the path to it lies
    outside the object stream."""
    _one_af_entry(pdf)
    _attachment_path_uncompressed(pdf)


def _one_af_entry(pdf: Any) -> None:
    # WeasyPrint 70 lists an attachment in the catalogue's /AF twice (once from /Names
    # /EmbeddedFiles, once as a file specification: Kozea/WeasyPrint#2917); PDF/A-3 wants it
    # once. Harmless where WeasyPrint lists it once.
    associated = pdf.catalog.get("AF")
    if associated is not None:
        unique = list(dict.fromkeys(associated))
        associated.clear()
        associated.extend(unique)


def _attachment_path_uncompressed(pdf: Any) -> None:
    # pydyf packs every dictionary into one compressed object stream, so a reader looking
    # for the attached manifest.json (ledger verify-bundle, through pypdf) would inflate and
    # parse the whole document (fonts, widths, pages) to reach the catalogue. Written as
    # plain objects instead, the catalogue, the /EmbeddedFiles name tree and the file
    # specifications take a reader straight to the attachment's stream (a stream is never
    # compressed into an object stream): 5x faster to read, same content, still PDF/A-3b.
    import pydyf

    class Plain(pydyf.Dictionary):  # type: ignore[misc]
        @property
        def compressible(self) -> bool:
            return False

    def plain(reference: bytes | str) -> Any:
        text = reference.decode() if isinstance(reference, bytes) else reference
        return pdf.objects[int(text.split()[0])]

    path = [pdf.catalog]
    tree_reference = pdf.catalog.get("Names", {}).get("EmbeddedFiles")
    if tree_reference is not None:
        tree = plain(tree_reference)
        names = tree.get("Names", [])
        path += [tree, *(plain(spec) for spec in names[1::2])]
    for dictionary in path:
        if type(dictionary) is pydyf.Dictionary:
            dictionary.__class__ = Plain


def _generated_at(content_manifest: bytes) -> dt.datetime:
    try:
        return parse_time(str(json.loads(content_manifest)["generated_at"]))
    except (ValueError, KeyError, TypeError) as e:
        raise VerificationError(f"content manifest has no generated_at: {e}") from e
