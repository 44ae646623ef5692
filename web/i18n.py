"""Languages of the console: Babel catalogues, the reader's language, dates in the
organisation's time zone.

Catalogues are ``web/locale/<lang>/LC_MESSAGES/<area>.po`` (one file per page area, so pages
are translated side by side without collisions), merged per language and compiled in memory
when the console starts: no ``.mo`` file is committed or written.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("zh", "en")  # the first is the default
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}
LANG_COOKIE = "lang"


@dataclass(frozen=True)
class Catalogues:
    """The compiled translations of every language, and the organisation's time zone."""

    translations: Mapping[str, Translations]
    zone: ZoneInfo


def load_catalogues(time_zone: str, folder: Path = LOCALE_DIR) -> Catalogues:
    """Read and merge every area's .po of each language and compile them in memory."""
    compiled = {}
    for lang in LANGUAGES:
        merged = Catalog(locale=lang, domain="console")
        for po in sorted((folder / lang / "LC_MESSAGES").glob("*.po")):
            with po.open("rb") as f:
                for message in read_po(f, locale=lang):
                    strings = message.string if isinstance(message.string, tuple) else (
                        message.string,)
                    if message.id and all(strings):
                        merged.add(message.id, message.string, context=message.context)
        buffer = io.BytesIO()
        write_mo(buffer, merged)
        buffer.seek(0)
        compiled[lang] = Translations(buffer, domain="console")
    return Catalogues(compiled, ZoneInfo(time_zone))


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    """The ``lang`` cookie (the switch sticks), else the best of Accept-Language, else zh."""
    if cookie in LANGUAGES:
        return cookie
    for tag in _accepted(accept_language or ""):
        try:
            language = Locale.parse(tag, sep="-").language
        except (ValueError, UnknownLocaleError):
            continue
        if language in LANGUAGES:
            return language
    return LANGUAGES[0]


def _accepted(header: str) -> list[str]:
    """Accept-Language's tags, by quality (highest first; order kept among equals)."""
    weighted = []
    for n, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, n, tag.replace("_", "-")))
    return [tag for _, _, tag in sorted(weighted)]


def babel_locale(lang: str) -> str:
    """The Babel locale a console language formats dates with."""
    return {"zh": "zh_Hans_CN", "en": "en_GB"}.get(lang, "zh_Hans_CN")


def local_date(value: dt.date | str | None, lang: str, form: str = "medium") -> str:
    """A date as the locale writes it ('' for None; ISO text accepted)."""
    if value is None or value == "":
        return ""
    return _format_day(value if isinstance(value, str) else value.isoformat(), lang, form)


@functools.lru_cache(maxsize=8192)
def _format_day(day: str, lang: str, form: str) -> str:
    # A page shows few distinct days many times; Babel takes ~50 µs for each.
    return format_date(dt.date.fromisoformat(day[:10]), format=form, locale=_locale(lang))


@functools.lru_cache(maxsize=8)
def _locale(lang: str) -> Locale:
    return Locale.parse(babel_locale(lang))


def local_time(value: dt.datetime | str | None, lang: str, zone: ZoneInfo,
               form: str = "medium") -> str:
    """A moment in the organisation's time zone, as the locale writes it."""
    if value is None or value == "":
        return ""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return _format_moment(moment, lang, zone, form)


@functools.lru_cache(maxsize=16384)
def _format_moment(moment: dt.datetime, lang: str, zone: ZoneInfo, form: str) -> str:
    # A case's page shows each of its entries' times again on every (live) refresh; Babel
    # takes ~0.5 ms for each.
    locale = _locale(lang)
    if form not in ("short", "medium"):  # long and full name the zone already
        return format_datetime(moment, format=form, tzinfo=zone, locale=locale)
    local = (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(zone)
    # the locale's long time (its zone marker: "17:08:32 +0800", "+0800 17:08:32"), without
    # seconds for the short form, so a reader knows which clock
    with_zone = str(locale.time_formats["long"])
    if form == "short":
        with_zone = with_zone.replace(":ss", "")
    time = format_time(local, format=with_zone, tzinfo=zone, locale=locale)
    return str(locale.datetime_formats[form]).replace("'", "").replace("{0}", time).replace(
        "{1}", format_date(local.date(), format=form, locale=locale))


def N_(message: str) -> str:
    """Mark ``message`` for the catalogues without translating it here."""
    return message
