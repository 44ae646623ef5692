"""The backup manifest: what ``ledger backup`` writes reads back the same; a manifest this
code cannot trust (another format, a newer major version, a path leaving the folder, no
single database part) is refused before any part is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.backup.manifest import LogFacts, Manifest, Part, format_manifest, parse_manifest
from ledger.errors import VerificationError

_SHA = "ab" * 32
MANIFEST = Manifest(
    created_at="2026-12-06T11:00:00.000000Z", store="sqlite", blob_store="filesystem",
    log=LogFacts("ledger.example/log", 12, 12, "ledger.example/log\n12\nAAAA\n\n— sig\n"),
    verifier_keys=("ledger.example/log+01234567+AQ",), keys_included=False,
    parts=(Part("database.sqlite3", "database", 4096, _SHA),
           Part(f"blobs/ab/ab/{_SHA}", "blob", 10, _SHA)))


def _altered(**changes: object) -> bytes:
    doc = json.loads(format_manifest(MANIFEST))
    doc.update(changes)
    return json.dumps(doc).encode()


def test_a_written_manifest_reads_back_as_written() -> None:
    assert parse_manifest(format_manifest(MANIFEST)) == MANIFEST


def test_a_newer_major_version_is_refused_by_name() -> None:
    with pytest.raises(VerificationError, match="format version 2 is not one this ledger"):
        parse_manifest(_altered(format_version=2))


def test_another_kind_of_file_is_not_taken_for_a_manifest() -> None:
    with pytest.raises(VerificationError, match="not a Handover Ledger backup manifest"):
        parse_manifest(b'{"format": "something-else"}')
    with pytest.raises(VerificationError, match="malformed"):
        parse_manifest(b"\xff not json")


@pytest.mark.parametrize("path", ["../outside", "/etc/passwd", "blobs/../../x", "a//b",
                                  "manifest.json", "blobs/./x"])
def test_a_part_path_that_could_leave_the_backup_folder_is_refused(path: str) -> None:
    parts = [{"path": "database.sqlite3", "kind": "database", "size": 1, "sha256": _SHA},
             {"path": path, "kind": "blob", "size": 1, "sha256": _SHA}]
    with pytest.raises(VerificationError, match="not a plain relative path"):
        parse_manifest(_altered(parts=parts))


def test_a_manifest_without_exactly_one_database_part_is_refused() -> None:
    with pytest.raises(VerificationError, match="not exactly one database part"):
        parse_manifest(_altered(parts=[]))


@pytest.mark.parametrize("change", [{"store": "mysql"}, {"keys_included": "yes"},
                                    {"log": {"origin": "x", "events": -1, "size": 0,
                                             "checkpoint": None}}])
def test_malformed_fields_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(VerificationError, match="malformed backup manifest"):
        parse_manifest(_altered(**change))


def test_a_backup_into_a_missing_folder_says_the_folder_does_not_exist(tmp_path: Path) -> None:
    from ledger.backup.folder import StagedBackup
    from ledger.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="does not exist: make the folder"):
        StagedBackup(tmp_path / "backups" / "ledger-2026-12-06")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigurationError, match="is not a folder"):
        StagedBackup(tmp_path / "file" / "ledger-2026-12-06")
