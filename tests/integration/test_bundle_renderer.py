"""The renderer of ``report.html`` recorded in the manifest (format 1.1, ``report_renderer``):
``ledger verify-bundle`` renders the report again and compares bytes only with the same
renderer; with another it says plainly that it did not, and that the report's source digest
was checked. A bundle exported once by the real exporter; the changed ones resealed as by
someone holding the log key (tests/support/bundles.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ledger.bundle import layout, verifier, verify
from ledger.bundle.report import REPORT_GENERATOR, report_renderer
from tests.support.bundle_cases import Cases, build_cases
from tests.support.bundles import Parts, attached_pdf, seal, with_changes, zip_bytes

OTHER_GENERATOR = f"{REPORT_GENERATOR}-other"


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Cases:
    folder = tmp_path_factory.mktemp("bundles")
    return asyncio.run(build_cases(f"sqlite:///{folder / 'ledger.db'}", folder))


def _checked(tmp_path: Path, cases: Cases, parts: Parts) -> tuple[verify.Verdict, verify.Verdict]:
    """``parts`` resealed (their report.html kept, a report.pdf carrying the new content
    manifest) and checked by both verifiers."""
    parts.files[layout.REPORT_PDF] = attached_pdf(layout.manifest_bytes(parts.header(), [
        layout.Member.of(p, d) for p, d in parts.files.items() if p != layout.REPORT_PDF]))
    path = tmp_path / "bundle.zip"
    path.write_bytes(zip_bytes(seal(parts, cases.signers, report=False)))
    return verify.inspect_bundle(path, cases.vkey), verifier.verify_bundle(path, cases.vkey)


def _misprinted(parts: Parts, renderer: dict[str, str] | None) -> Parts:
    """A copy whose report says another name than the entries (its source digest kept)."""
    copy = with_changes(parts, report_renderer=renderer)
    html = copy.files[layout.REPORT_HTML]
    assert "王磊".encode() in html
    copy.files[layout.REPORT_HTML] = html.replace("王磊".encode(), "王雷".encode())
    return copy


def test_an_export_records_the_renderer_and_the_ledger_compares_its_report_bytes(
        tmp_path: Path, cases: Cases) -> None:
    path = tmp_path / "bundle.zip"
    path.write_bytes(cases.final.data)
    manifest = json.loads(verify.read_bundle(path)[0].files[layout.MANIFEST])
    assert (manifest["bundle_format"], manifest["format_minor"]) == (1, 2)
    assert manifest["report_renderer"] == report_renderer()
    assert set(report_renderer()) == {"generator", "jinja2", "markupsafe", "ua-parser",
                                      "ua-parser-builtins"}
    checks = [c.line() for c in verifier.verify_bundle(path, cases.vkey).checks]
    assert ("ok   report.html: rendered again from the entries, byte for byte the same"
            in checks)


def test_a_report_of_another_renderer_is_not_compared_and_the_ledger_says_so(
        tmp_path: Path, cases: Cases) -> None:
    other = {**report_renderer(), "generator": OTHER_GENERATOR}
    ours, ledgers = _checked(tmp_path, cases, _misprinted(cases.final.parts, other))
    assert ours.failures == [] and ledgers.failures == []
    notes = [c.text for c in ledgers.checks if c.status == "note"
             and c.text.startswith("report.html:")]
    assert notes == [
        f"report.html: not rendered again: it was printed by report generator "
        f"{OTHER_GENERATOR}, jinja2 {other['jinja2']}, markupsafe {other['markupsafe']}, "
        f"ua-parser {other['ua-parser']}, ua-parser-builtins {other['ua-parser-builtins']}, "
        f"this verifier renders with report generator {REPORT_GENERATOR}, jinja2 "
        f"{other['jinja2']}, markupsafe {other['markupsafe']}, ua-parser "
        f"{other['ua-parser']}, ua-parser-builtins {other['ua-parser-builtins']}, which may "
        "print other bytes; its source digest was checked above. Compare its bytes with a "
        "ledger of that renderer"]
    assert ("report.html: carries the digest of the entries it was rendered from "
            f"({ledgers.manifest['report_source_sha256']})") in [c.text for c in ledgers.checks]


def test_the_same_misprinted_report_is_found_by_the_same_renderer_or_without_a_record(
        tmp_path: Path, cases: Cases) -> None:
    for renderer in (report_renderer(), None):  # None: a format 1.0 manifest
        ours, ledgers = _checked(tmp_path, cases, _misprinted(cases.final.parts, renderer))
        assert ours.failures == []  # verify.py checks the digest the report carries
        assert ledgers.failures == ["report.html: not produced from these entries"]


def test_a_malformed_renderer_record_is_refused_by_both_verifiers(
        tmp_path: Path, cases: Cases) -> None:
    parts = with_changes(cases.final.parts, report_renderer={"generator": 1})
    ours, ledgers = _checked(tmp_path, cases, parts)
    assert ours.failures == ledgers.failures == [
        "META-INF/manifest.json: malformed (report_renderer)"]
