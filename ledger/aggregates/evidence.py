"""What an uploaded file may be called and typed as: checked once, when it is recorded.

A name and a media type end up in HTTP headers and in the evidence bundle a court may read, so
they are plain text of bounded length: no control or invisible formatting characters (a
right-to-left override can make ``invoice‮fdp.exe`` read as ``invoiceexe.pdf``), no path
separators. Media types follow RFC 6838 §4.2 (``type/subtype``, restricted-name characters);
parameters such as ``charset`` are dropped, the type is stored lowercase.
"""

from __future__ import annotations

import re
import unicodedata

from ledger.errors import InvalidInputError

MAX_NAME = 200
MAX_MEDIA_TYPE = 255
DEFAULT_NAME = "attachment"
DEFAULT_MEDIA_TYPE = "application/octet-stream"
_RESTRICTED_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"  # RFC 6838 §4.2
MEDIA_TYPE = re.compile(rf"{_RESTRICTED_NAME}/{_RESTRICTED_NAME}")
# Cc control, Cf format (bidi overrides, zero-width), Cs surrogates, Co private use,
# Zl/Zp line and paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def check_file_name(name: str, field: str = "filename") -> str:
    """The name, stripped of surrounding blanks; InvalidInputError naming ``field`` if it is
    empty, longer than ``MAX_NAME`` characters, or holds a control, formatting or separator
    character, a slash or a backslash."""
    text = name.strip()
    if not text or len(text) > MAX_NAME:
        raise InvalidInputError(f"{field} must be 1-{MAX_NAME} characters", field=field)
    for character in text:
        if unicodedata.category(character) in _REFUSED_CATEGORIES or character in "/\\":
            raise InvalidInputError(
                f"{field} may not contain {_describe(character)}", field=field)
    if text in (".", ".."):
        raise InvalidInputError(f"{field} may not be {text!r}", field=field)
    return text


def check_media_type(value: str, field: str = "media_type") -> str:
    """``type/subtype`` of a Content-Type value, lowercase, parameters dropped;
    InvalidInputError naming ``field`` unless it is an RFC 6838 media type."""
    if len(value) > MAX_MEDIA_TYPE:
        raise InvalidInputError(f"{field} must be at most {MAX_MEDIA_TYPE} characters",
                                field=field)
    bare = value.split(";", 1)[0].strip()
    if not MEDIA_TYPE.fullmatch(bare):
        raise InvalidInputError(f"{field} must be a media type such as application/pdf "
                                "(RFC 6838 type/subtype)", field=field)
    return bare.lower()


def _describe(character: str) -> str:
    return f"U+{ord(character):04X} ({unicodedata.name(character, 'unnamed')})"
