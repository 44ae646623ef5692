"""What the fuzz targets (tests/fuzz/targets.py) found, kept as plain regression tests."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

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


async def test_a_content_type_with_a_nul_in_a_charset_is_refused_not_a_crash() -> None:
    # Found by the multipart target: the stdlib email parser behind aiohttp's
    # ``request.content_type`` decodes an RFC 2231 parameter with the charset it names, and a
    # NUL in that name raised ValueError (embedded null character) out of ``file_part``.
    # aiohttp's own HTTP parser refuses such a header, but another front end might not.
    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from api.file_transfer import file_part
    from ledger.errors import InvalidInputError

    request = make_mocked_request(
        "POST", "/v1/items/x/evidence", app=web.Application(),
        headers={"Content-Type": "multipart/form-data; name*=U\0TF-8''%E4%BA%A4.pdf"})
    with pytest.raises(InvalidInputError, match="malformed Content-Type"):
        await file_part(request)
