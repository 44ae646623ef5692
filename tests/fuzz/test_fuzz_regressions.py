"""What the fuzz targets (tests/fuzz/targets.py) found, kept as plain regression tests."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ledger.bundle import verifier, verify
from ledger.tlog.note import generate_key

KEY = generate_key("ledger.example")[1]


def small_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", verify.MEDIA_TYPE)
        archive.writestr("META-INF/manifest.json", b"{}")
    return out.getvalue()


def test_a_zip_missing_its_first_byte_is_refused_not_a_crash(tmp_path: Path) -> None:
    # Found by the bundle target: every offset in the central directory then points one byte
    # early, the first to -1, and verify.py sought there (ValueError: negative seek value),
    # which ``verify.py`` then misreported as a bad --key (exit 2).
    path = tmp_path / "shifted.zip"
    path.write_bytes(small_zip()[1:])
    for checks in (verify.inspect_bundle(path, KEY).checks,
                   verifier.verify_bundle(path, KEY).checks):
        assert [c.line() for c in checks] == ["FAIL bundle: holds bytes outside its members"]
    assert verify.main(["--key", KEY, str(path)]) == 1
