"""Reading request bodies and headers into commands (the pydantic models of ledger.service)."""

from __future__ import annotations

import json
from typing import Any, TypeVar
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel

from ledger.errors import InvalidInputError, NotFoundError
from ledger.service.commands import canonical_uuid

M = TypeVar("M", bound=BaseModel)


def path_uuid(request: web.Request, name: str) -> UUID:
    """The UUID in path segment ``name``, in the canonical hyphenated form only (see
    ledger.service.commands.canonical_uuid); anything else names nothing here (404)."""
    text = request.match_info[name]
    try:
        return canonical_uuid(text)
    except ValueError:
        raise NotFoundError(f"{text[:80]!r} is not a valid id") from None


async def read_object(request: web.Request) -> dict[str, Any]:
    """The JSON object body (an empty body reads as ``{}``)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise InvalidInputError(f"body is not valid JSON: {type(e).__name__}") from e
    if not isinstance(value, dict):
        raise InvalidInputError("body must be a JSON object")
    return value


def query_flag(request: web.Request, name: str) -> bool:
    """A ``true``/``false`` query parameter, ``false`` when absent; anything else is refused."""
    value = request.query.get(name, "false")
    if value not in ("true", "false"):
        raise InvalidInputError(f"{name} must be true or false", field=name)
    return value == "true"


def natural(text: str, name: str, top: int, message: str) -> int:
    """An ASCII decimal integer from 0 to ``top``, else InvalidInputError(message)."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(top)) or int(text) > top:
        raise InvalidInputError(message, field=name)
    return int(text)


def expected_version(request: web.Request) -> int | None:
    """The stream version an ``If-Match`` header names (a plain or quoted integer)."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    text = header.strip().removeprefix("W/").strip('"')
    return natural(text, "If-Match", 10**9 - 1, "If-Match must be a stream version")


def build(model: type[M], data: dict[str, Any], **from_path: object) -> M:
    """Validate ``data`` plus the path parameters; a body may not override the path."""
    clashes = sorted(k for k in from_path if k in data and str(data[k]) != str(from_path[k]))
    if clashes:
        raise InvalidInputError(f"{clashes[0]} in the body differs from the path",
                                field=clashes[0])
    return model.model_validate({**data, **from_path})
