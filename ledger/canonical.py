"""RFC 8785 (JCS) canonical JSON for ledger entries.

DESIGN.md fixes the entry bytes as the JCS form of a JSON value restricted to strings, integers
with |n| < 2^53, booleans, null, arrays and objects. Floats are refused outright (money travels
as strings or integer cents), so the same value always hashes the same in every language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

import rfc8785

from ledger.errors import InvalidInputError

JSONValue: TypeAlias = (
    str | int | bool | Sequence["JSONValue"] | Mapping[str, "JSONValue"] | None
)
JSONObject: TypeAlias = Mapping[str, JSONValue]

# RFC 8785 section 3.2.2.3 / I-JSON: integers beyond this lose precision in IEEE 754 doubles.
MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 32


def check_json_value(value: object, path: str = "$", depth: int = 0) -> None:
    """Raise InvalidInputError unless ``value`` uses only the types the entry format allows.

    Precondition: none; any object may be passed. ``path`` names the culprit in the message.
    """
    if depth > MAX_DEPTH:
        raise InvalidInputError(f"{path}: nested deeper than {MAX_DEPTH} levels", field=path)
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise InvalidInputError(f"{path}: integer {value} exceeds 2^53-1", field=path)
        return
    if isinstance(value, float):
        raise InvalidInputError(f"{path}: floats are not allowed in entries", field=path)
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInputError(f"{path}: object keys must be strings", field=path)
            check_json_value(item, f"{path}.{key}", depth + 1)
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_json_value(item, f"{path}[{i}]", depth + 1)
        return
    raise InvalidInputError(f"{path}: {type(value).__name__} is not a JSON type", field=path)


def encode_canonical(value: JSONValue) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value``.

    Precondition: ``value`` holds only JSON types (checked; InvalidInputError otherwise).
    """
    check_json_value(value)
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as e:  # e.g. lone surrogates in a string
        raise InvalidInputError(f"not canonicalisable: {e}") from e
