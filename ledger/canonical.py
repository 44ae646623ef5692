"""RFC 8785 (JCS) canonical JSON for ledger entries.

DESIGN.md fixes the entry bytes as the JCS form of a JSON value restricted to strings, integers
with |n| < 2^53, booleans, null, arrays and objects. Floats are refused outright (money travels
as strings or integer cents), so the same value always hashes the same in every language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

import orjson
import rfc8785

from ledger.errors import InvalidInputError

JSONValue: TypeAlias = (
    str | int | bool | Sequence["JSONValue"] | Mapping[str, "JSONValue"] | None
)
JSONObject: TypeAlias = Mapping[str, JSONValue]

# RFC 8785 section 3.2.2.3 / I-JSON: integers beyond this lose precision in IEEE 754 doubles.
MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 32


class _Refused(Exception):
    pass


def _scan(value: object, depth: int) -> bool:
    # The hot path: exact type checks, no path strings. Returns "all keys in the BMP".
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:  # type: ignore[operator]
            return True
        raise _Refused
    if depth >= MAX_DEPTH:
        raise _Refused
    bmp = True
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str:
                raise _Refused
            bmp = _scan(item, depth + 1) and bmp and (key.isascii() or max(key) <= "\uffff")
        return bmp
    if kind is list or kind is tuple:
        for item in value:  # type: ignore[attr-defined]
            bmp = _scan(item, depth + 1) and bmp
        return bmp
    raise _Refused  # subclasses and other types: let the precise checker decide


def check_json_value(value: object, path: str = "$", depth: int = 0) -> bool:
    """Raise InvalidInputError unless ``value`` uses only the types the entry format allows.

    Returns True when every object key is in the Basic Multilingual Plane, where sorting by
    code point (Python) and by UTF-16 code unit (RFC 8785 section 3.2.3) agree.
    Precondition: none; any object may be passed. The error names the culprit's path.
    """
    try:
        return _scan(value, depth)
    except _Refused:
        return _check_precisely(value, path, depth)


def _check_precisely(value: object, path: str, depth: int) -> bool:
    if depth > MAX_DEPTH:
        raise InvalidInputError(f"{path}: nested deeper than {MAX_DEPTH} levels", field=path)
    if value is None or isinstance(value, (bool, str)):
        return True
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise InvalidInputError(f"{path}: integer {value} exceeds 2^53-1", field=path)
        return True
    if isinstance(value, float):
        raise InvalidInputError(f"{path}: floats are not allowed in entries", field=path)
    bmp = True
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInputError(f"{path}: object keys must be strings", field=path)
            bmp = _check_precisely(item, f"{path}.{key}", depth + 1) and bmp and (
                key.isascii() or max(key) <= "\uffff")
        return bmp
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            bmp = _check_precisely(item, f"{path}[{i}]", depth + 1) and bmp
        return bmp
    raise InvalidInputError(f"{path}: {type(value).__name__} is not a JSON type", field=path)


def encode_sorted(value: object) -> bytes:
    """The fast path's encoder: compact, key-sorted (by code point), non-ASCII kept as UTF-8,
    string escapes as RFC 8785 section 3.2.2.2 (orjson; ~10x the standard library's encoder,
    and the entry encoding is on every command's path). It is RFC 8785 exactly when
    ``check_json_value`` accepted ``value`` and returned True (see ``encode_canonical``).

    Precondition: ``value`` holds only JSON types; a lone surrogate raises orjson's
    JSONEncodeError (a TypeError)."""
    # orjson hands back its whole write buffer (4 KiB at least: a 1.3 KiB entry held 6-16
    # KiB of heap), and entries are kept, by the process's recent entries (1,024 of them)
    # and by each queued append. An exact copy costs ~0.2 µs beside the ~5 µs encode.
    return memoryview(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).tobytes()


def encode_canonical(value: JSONValue) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value``.

    Precondition: ``value`` holds only JSON types (checked; InvalidInputError otherwise).
    Without floats, and with keys in the BMP, JCS is exactly a compact, key-sorted,
    non-ASCII-preserving encoding (``encode_sorted``; its string escapes are RFC 8785 section
    3.2.2.2's); tests/unit/test_canonical.py proves the two byte-identical by property tests.
    Anything else goes through the ``rfc8785`` reference implementation.
    """
    return encode_canonical_checked(value)[0]


def encode_canonical_checked(value: JSONValue) -> tuple[bytes, bool]:
    """``encode_canonical(value)`` and whether every key of ``value`` is in the BMP: then
    ``encode_sorted`` of any part of ``value`` (an object with members or elements left out)
    is that part's RFC 8785 form too, without checking it again."""
    try:
        if check_json_value(value):
            return encode_sorted(value), True
        return rfc8785.dumps(value), False
    except (rfc8785.CanonicalizationError, UnicodeEncodeError,
            orjson.JSONEncodeError) as e:  # lone surrogates
        raise InvalidInputError(f"not canonicalisable: {e}") from e


def encode_with_checked_members(document: Mapping[str, JSONValue],
                                members: Sequence[str]) -> bytes:
    """``encode_canonical(document)``, checking only the ``members`` named (the rest are built
    by the caller from values known to be JSON: ASCII keys, strings, safe integers, null), so
    the per-command entry envelope is not walked node by node on every append.

    Precondition: every member not named holds only ASCII-keyed JSON values (unchecked).
    """
    try:
        bmp = True
        for name in members:
            bmp = check_json_value(document[name], f"$.{name}", 1) and bmp
        return encode_sorted(document) if bmp else rfc8785.dumps(document)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError,
            orjson.JSONEncodeError) as e:  # lone surrogates
        raise InvalidInputError(f"not canonicalisable: {e}") from e


def encode_reference(value: JSONValue) -> bytes:
    """RFC 8785 through the ``rfc8785`` package only (the slow path, kept for cross-checks)."""
    check_json_value(value)
    return rfc8785.dumps(value)
