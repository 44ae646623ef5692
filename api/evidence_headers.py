"""The headers an evidence download is served with: typed only as something safe, never
rendered by the browser, named in ASCII and in full Unicode (RFC 6266 + RFC 5987/8187).

A file's media type is the uploader's claim. Served as is, an uploaded ``text/html`` or
``image/svg+xml`` would run script in the ledger's origin when opened; so only types a browser
does not execute are served as uploaded, everything else as ``application/octet-stream``, and
``X-Content-Type-Options: nosniff`` stops the browser from guessing otherwise.
"""

from __future__ import annotations

from urllib.parse import quote

OCTET_STREAM = "application/octet-stream"
SERVED_AS_UPLOADED = frozenset({
    "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "image/tiff",
    "text/plain", "text/csv", "application/zip", "application/gzip",
    "application/x-7z-compressed", "audio/mpeg", "audio/mp4", "video/mp4",
    "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
})
# RFC 5987 attr-char beyond what ``quote`` always keeps (letters, digits, "_.-~").
_ATTR_CHAR_EXTRA = "!#$&+^`|"


def served_media_type(media_type: str) -> str:
    """The Content-Type to serve a file uploaded as ``media_type`` with."""
    return media_type if media_type in SERVED_AS_UPLOADED else OCTET_STREAM


def ascii_file_name(name: str) -> str:
    """A fallback ``filename`` for clients without RFC 6266 ``filename*``: printable ASCII
    only, quotes and backslashes (which would end or escape the quoted string) replaced."""
    safe = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in name)
    return safe.strip() or "attachment"


def content_disposition(name: str) -> str:
    """``attachment`` with both the ASCII ``filename`` and the UTF-8 ``filename*``."""
    encoded = quote(name, safe=_ATTR_CHAR_EXTRA, encoding="utf-8")
    return f"attachment; filename=\"{ascii_file_name(name)}\"; filename*=UTF-8''{encoded}"


def download_headers(sha256: str, name: str, media_type: str) -> dict[str, str]:
    """Every header of a download of the file ``sha256`` uploaded as ``name``/``media_type``:
    its SHA-256 is a strong ETag (the bytes can never differ under that name)."""
    return {
        "Content-Type": served_media_type(media_type),
        "Content-Disposition": content_disposition(name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "ETag": f'"{sha256}"',
        "Cache-Control": "private, no-cache",
    }
