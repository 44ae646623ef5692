"""Header text the ledger stores and echoes: undecodable bytes escaped, bounded."""

from __future__ import annotations

from api.header import escaped_header


def received(raw: bytes) -> str:
    """The string aiohttp hands a handler for these header bytes."""
    return raw.decode("utf-8", "surrogateescape")


def test_undecodable_bytes_are_escaped_as_their_byte_values() -> None:
    assert escaped_header(received(b"agent/\xff\xfe \xc3\x28"), 300) == "agent/\\xff\\xfe \\xc3("


def test_valid_utf_8_is_kept_unless_ascii_is_asked_for() -> None:
    assert escaped_header(received("王磊/1.0".encode()), 300) == "王磊/1.0"
    assert escaped_header(received("王/1".encode()), 300, ascii_only=True) == "\\u738b/1"
    assert escaped_header("😀", 300, ascii_only=True) == "\\U0001f600"


def test_backslashes_and_control_characters_are_escaped_so_escapes_are_unambiguous() -> None:
    assert escaped_header("a\\xff\tb\x7f", 300) == "a\\\\xff\\x09b\\x7f"


def test_the_result_is_cut_at_an_escape_boundary_within_the_limit() -> None:
    assert escaped_header(received(b"ab\xff"), 5) == "ab"
    assert escaped_header(received(b"ab\xff"), 6) == "ab\\xff"
    assert escaped_header("x" * 500, 300) == "x" * 300
    assert escaped_header("", 300) == ""


def test_every_escaped_header_encodes_as_utf_8() -> None:
    text = escaped_header(received(bytes(range(256))), 2000)
    text.encode("utf-8")
    assert escaped_header(received(bytes(range(256))), 2000, ascii_only=True).isascii()
