"""How a downloaded evidence file is served: a safe type, never sniffed, named per RFC 6266."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from api.evidence_headers import (
    ascii_file_name,
    content_disposition,
    download_headers,
    served_media_type,
)


@pytest.mark.parametrize("media_type", [
    "application/pdf", "image/png", "image/jpeg", "text/plain", "text/csv", "application/zip",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
])
def test_safe_media_types_are_served_as_uploaded(media_type: str) -> None:
    assert served_media_type(media_type) == media_type


@pytest.mark.parametrize("media_type", [
    "text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/xml",
    "text/javascript", "application/javascript", "application/x-shockwave-flash",
    "multipart/x-mixed-replace", "application/x-unknown",
])
def test_everything_else_is_served_as_an_octet_stream(media_type: str) -> None:
    assert served_media_type(media_type) == "application/octet-stream"


def test_a_unicode_name_gets_an_ascii_fallback_and_an_rfc_5987_filename_star() -> None:
    header = content_disposition('客户 "清单"\\2024%.xlsx')

    fallback, star = header.removeprefix("attachment; ").split("; ")
    assert fallback == 'filename="__ _____2024_.xlsx"'
    assert fallback.isascii() and star.isascii()
    assert star.startswith("filename*=UTF-8''")
    assert unquote(star.removeprefix("filename*=UTF-8''"), encoding="utf-8") == (
        '客户 "清单"\\2024%.xlsx')
    assert " " not in star and '"' not in star


def test_an_ascii_name_reads_the_same_in_both_parameters() -> None:
    assert content_disposition("minutes-2026.pdf") == (
        "attachment; filename=\"minutes-2026.pdf\"; filename*=UTF-8''minutes-2026.pdf")
    assert ascii_file_name("合同") == "__"


def test_every_download_is_nosniff_sandboxed_with_its_sha256_as_a_strong_etag() -> None:
    headers = download_headers("ab" * 32, "x.html", "text/html")

    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["ETag"] == f'"{"ab" * 32}"'
    assert headers["Content-Type"] == "application/octet-stream"
    assert "sandbox" in headers["Content-Security-Policy"]
    assert headers["Content-Disposition"].startswith("attachment; ")
