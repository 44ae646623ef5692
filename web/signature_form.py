"""The signature a confirm form carries, as the browser's script filled it in."""

from __future__ import annotations

from collections.abc import Mapping


def signature_fields(form: Mapping[str, object]) -> dict[str, str]:
    """``key_id``, ``statement`` and ``signature`` of a posted form. A browser submits a
    field's line breaks as CRLF (HTML's form encoding); a statement never holds a CR (its
    control characters are escaped), so LF is what was signed."""
    fields = {k: str(form.get(k, "")) for k in ("key_id", "statement", "signature")}
    fields["statement"] = fields["statement"].replace("\r\n", "\n")
    return fields
