"""The console's messages as Babel's extractors find them (Jinja2's for web/templates,
Python's for web/**.py), and the tool that adds the new ones to a page area's catalogues:

    python -m web.catalogue --area departure

adds every msgid no catalogue of a language has yet to
``web/locale/<lang>/LC_MESSAGES/departure.po`` with an empty translation; fill in the zh
ones (tests/unit/test_console_catalogues.py fails while one is empty). English needs none:
the msgid is the English text.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from web.i18n import LANGUAGES, LOCALE_DIR

WEB = Path(__file__).parent
METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
MessageId = str | tuple[str, str]


def console_messages() -> dict[MessageId, set[str]]:
    """Every msgid (a plural as its (singular, plural) pair) → the files, relative to web/,
    that use it."""
    found: dict[MessageId, set[str]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            str(WEB), METHODS, keywords=KEYWORDS,
            options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}}):
        key: MessageId = (message[0], message[1]) if isinstance(message, tuple) else message
        if key:
            found.setdefault(key, set()).add(filename)
    return found


def _read(path: Path, lang: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=lang, domain=path.stem, project="Handover Ledger console")
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def add_new_messages(area: str, folder: Path = LOCALE_DIR) -> dict[str, int]:
    """Add the messages no catalogue of a language has to ``<area>.po``; how many, by
    language."""
    used = console_messages()
    added = {}
    for lang in LANGUAGES:
        files = sorted((folder / lang / "LC_MESSAGES").glob("*.po"))
        known = {m.id for po in files for m in _read(po, lang) if m.id}
        target = folder / lang / "LC_MESSAGES" / f"{area}.po"
        catalogue = _read(target, lang)
        new = [msgid for msgid in used if msgid not in known]
        for msgid in new:
            catalogue.add(msgid, ("", "") if isinstance(msgid, tuple) else "")
        if new:
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as f:
                write_po(f, catalogue, width=100, sort_output=True)
        added[lang] = len(new)
    return added


def main() -> None:
    """``python -m web.catalogue --area AREA``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--area", required=True, help="the page area, e.g. departure")
    for lang, count in add_new_messages(parser.parse_args().area).items():
        print(f"{lang}: {count} new message(s)")


if __name__ == "__main__":
    main()
