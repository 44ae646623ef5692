"""Reading Server-Sent Events in tests (the API's board streams and the console's live
pages)."""

from __future__ import annotations

import asyncio
from typing import Any


async def next_event(lines: Any) -> dict[str, str]:
    """Read one SSE event (its fields) from an aiohttp response's line stream (its
    ``content``), skipping comments; at most 10 s per line."""
    fields: dict[str, str] = {}
    while True:
        raw = await asyncio.wait_for(lines.readline(), timeout=10)
        line = raw.decode().rstrip("\r\n")
        if line == "" and fields:
            return fields
        if line and not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.lstrip(" ")
