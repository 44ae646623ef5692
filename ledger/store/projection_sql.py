"""SQL shared by the projection adapters."""

from __future__ import annotations

import re

READ_LOG = (
    "SELECT l.idx, e.position, e.event_id, e.stream_type, e.stream_id, e.version, "
    "e.event_type, e.entry, e.event_hash FROM log_entries l "
    "JOIN events e ON e.position = l.position WHERE l.idx >= $1 ORDER BY l.idx LIMIT $2"
)
STATE_COLUMNS = "name, position, generation, error, updated_at"
_PARAMETER = re.compile(r"\$(\d+)")


def for_sqlite(sql: str) -> str:
    """``$1`` parameters as SQLite's numbered ``?1``."""
    return _PARAMETER.sub(r"?\1", sql)
