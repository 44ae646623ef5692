"""The console's messages as Babel's extractors find them: every msgid used in
web/templates (Jinja2's extractor) and web/**.py (Python's), by the file it is in."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

WEB = Path(__file__).resolve().parents[2] / "web"
METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def console_messages() -> dict[str, set[str]]:
    """msgid → the files (relative to web/) that use it; a plural's two forms both count."""
    found: dict[str, set[str]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            str(WEB), METHODS, keywords=KEYWORDS,
            options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}}):
        for msgid in (message if isinstance(message, tuple) else (message,)):
            if msgid:
                found.setdefault(msgid, set()).add(filename)
    return found
