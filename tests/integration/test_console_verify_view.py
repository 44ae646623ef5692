"""The Verify page's check of an uploaded bundle: part by part, the lines ``ledger
verify-bundle`` prints, on a bundle exported by the real exporter, as is and tampered with."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ledger.bundle import verifier
from ledger.bundle.verify import summary
from ledger.errors import TooLargeError
from ledger.tlog.note import generate_key
from tests.support.bundle_cases import Cases, build_cases
from tests.support.bundles import open_members, zip_bytes
from web.verify_view import check_bundle


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Cases:
    folder = tmp_path_factory.mktemp("console-verify")
    return asyncio.run(build_cases(f"sqlite:///{folder / 'ledger.db'}", folder))


def _other_key() -> str:
    return generate_key("other.example/log")[1]


def _with_entry_flipped(data: bytes) -> tuple[bytes, str]:
    members = open_members(data)
    entry = sorted(p for p in members if p.startswith("entries/departure/"))[0]
    raw = members[entry]
    members[entry] = raw[:10] + bytes([raw[10] ^ 0x01]) + raw[11:]
    return zip_bytes(members), entry


def test_an_exported_bundle_passes_every_part_as_the_cli_reports_it(
        cases: Cases, tmp_path: Path) -> None:
    result = check_bundle(cases.final.data, [cases.vkey])
    path = tmp_path / "bundle.zip"
    path.write_bytes(cases.final.data)
    cli = verifier.verify_bundle(path, cases.vkey)
    assert [p.line for p in result.parts] == [c.line() for c in cli.checks]
    assert result.summary == summary(cli) and result.summary.startswith("PASS")
    assert result.passed and result.failed == ()
    names = [p.name for p in result.parts]
    for step in ("container", "manifest", "signature", "checkpoint", "entries", "proofs",
                 "case", "attachments", "report.html", "report.pdf"):
        assert step in names
    assert all(p.status == "ok" for p in result.parts)


def test_a_spooled_file_is_checked_as_its_bytes_are(cases: Cases, tmp_path: Path) -> None:
    path = tmp_path / "upload"
    path.write_bytes(cases.interim.data)
    from_path = check_bundle(path, [cases.vkey])
    assert from_path == check_bundle(cases.interim.data, [cases.vkey])
    assert from_path.passed and "interim" in from_path.summary


def test_a_flipped_byte_in_an_entry_fails_and_names_the_entry(cases: Cases) -> None:
    tampered, entry = _with_entry_flipped(cases.final.data)
    result = check_bundle(tampered, [cases.vkey])
    assert not result.passed
    assert result.summary.startswith("FAIL")
    assert entry in {p.name for p in result.failed}
    assert result.parts[0].passed  # the container itself is sound
    failed = next(p for p in result.failed if p.name == entry)
    assert failed.line == f"FAIL {failed.message}" and failed.message.startswith(f"{entry}: ")


def test_with_a_rotated_log_the_key_that_signed_the_bundle_is_used(cases: Cases) -> None:
    result = check_bundle(cases.final.data, [_other_key(), cases.vkey])
    assert result.passed and result.key == cases.vkey


def test_a_bundle_no_key_of_the_log_signed_fails_at_its_signature(cases: Cases) -> None:
    other = _other_key()
    result = check_bundle(cases.final.data, [other])
    assert result.key == other
    assert [p.message for p in result.failed] == [
        "META-INF/signature: not signed by the given key"]


def test_a_bundle_over_the_size_limit_is_refused_before_it_is_read(cases: Cases) -> None:
    with pytest.raises(TooLargeError, match="larger than 1000 bytes") as refused:
        check_bundle(cases.final.data, [cases.vkey], max_bytes=1000)
    assert refused.value.field == "bundle"


def test_an_upload_that_is_not_a_zip_fails_at_the_container(cases: Cases) -> None:
    result = check_bundle(b"<html>not a bundle</html>", [cases.vkey])
    assert [(p.name, p.status) for p in result.parts] == [("bundle", "FAIL")]
    assert result.parts[0].message == "bundle: not a ZIP archive"
