"""Request headers as text the ledger can store and echo: undecodable bytes escaped, bounded.

aiohttp decodes header bytes as UTF-8 with ``surrogateescape``, so a byte that is not UTF-8
arrives as a lone surrogate (U+DC80..U+DCFF). Such a string cannot be encoded to UTF-8: the
stores (and RFC 8785 entries) would refuse it and the write would fail. A client's User-Agent or
X-Request-Id is evidence of where a command came from, so it is kept, escaped, not dropped.
"""

from __future__ import annotations

_SURROGATE_BYTES = range(0xDC80, 0xDD00)


def _escape(char: str, ascii_only: bool) -> str:
    code = ord(char)
    if code in _SURROGATE_BYTES:  # an undecodable byte: \xNN names the byte itself
        return f"\\x{code - 0xDC00:02x}"
    if char == "\\":  # so that an escape in the output always means an escape
        return "\\\\"
    if code < 0x20 or code == 0x7F or 0xD800 <= code < 0xE000:
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    if ascii_only and code > 0x7E:
        return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
    return char


def escaped_header(value: str, limit: int, *, ascii_only: bool = False) -> str:
    """``value`` with undecodable bytes, control characters and backslashes backslash-escaped
    (every other character also, with ``ascii_only``), cut to at most ``limit`` characters at
    an escape boundary. Precondition: limit >= 0."""
    if value.isascii() and value.isprintable() and "\\" not in value:
        return value[:limit]  # the usual header: nothing to escape (one pass in C)
    out: list[str] = []
    length = 0
    for char in value:
        piece = _escape(char, ascii_only)
        if length + len(piece) > limit:
            break
        out.append(piece)
        length += len(piece)
    return "".join(out)
