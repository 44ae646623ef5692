"""Every message the console shows is translated: Babel's extractors read web/templates and
web/*.py, and each msgid needs a Chinese translation in some zh catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from markupsafe import Markup

from web.catalogue import WEB, add_new_messages, console_messages
from web.i18n import choose_language, load_catalogues, local_date, local_time
from web.render import build_environments


def _zh() -> dict[object, str]:
    translated = {}
    for po in (WEB / "locale" / "zh" / "LC_MESSAGES").glob("*.po"):
        with po.open("rb") as f:
            for message in read_po(f, locale="zh"):
                ids = message.id if isinstance(message.id, tuple) else (message.id,)
                strings = (message.string if isinstance(message.string, tuple)
                           else (message.string,))
                if message.id and all(strings) and not message.fuzzy:
                    translated[message.id if isinstance(message.id, str) else ids] = strings[0]
    return translated


def test_every_console_message_has_a_chinese_translation() -> None:
    used = console_messages()
    assert len(used) > 50  # the extractors found the templates and the modules
    missing = {msgid: sorted(files) for msgid, files in used.items() if msgid not in _zh()}
    assert not missing, f"untranslated in web/locale/zh: {missing}"


def test_a_translation_keeps_the_placeholders_of_its_message() -> None:
    for msgid, text in _zh().items():
        msgid = msgid if isinstance(msgid, str) else msgid[0]
        for name in ("%(n)s", "%(num)s", "%(day)s", "%(name)s", "%(role)s", "%(page)s"):
            assert (name in msgid) == (name in text), (msgid, text)


def test_new_messages_are_added_to_the_areas_catalogue_untranslated(tmp_path: Path) -> None:
    for lang in ("zh", "en"):
        (tmp_path / lang / "LC_MESSAGES").mkdir(parents=True)
    assert add_new_messages("area", tmp_path) == {"zh": len(console_messages()),
                                                  "en": len(console_messages())}
    assert add_new_messages("area", tmp_path) == {"zh": 0, "en": 0}  # nothing new twice
    with (tmp_path / "zh" / "LC_MESSAGES" / "area.po").open("rb") as f:
        added = {m.id: m.string for m in read_po(f) if m.id}
    assert added["Sign in"] == ""
    assert not any(added[("%(num)s day left", "%(num)s days left")])


def test_the_catalogues_compile_in_memory_and_translate(tmp_path: Path) -> None:
    compiled = load_catalogues("Asia/Shanghai")
    assert compiled.translations["zh"].gettext("Sign in") == "登录"
    assert compiled.translations["en"].gettext("Sign in") == "Sign in"
    assert compiled.translations["zh"].ngettext("%(num)s day left", "%(num)s days left",
                                                3) == "还剩 %(num)s 天"
    assert not list((WEB / "locale").rglob("*.mo"))


@pytest.mark.parametrize(("cookie", "header", "chosen"), [
    ("en", "zh-CN,zh;q=0.9", "en"),  # the switch sticks over the browser's wish
    (None, "en-GB,en;q=0.9,zh;q=0.5", "en"),
    (None, "fr-FR,zh-TW;q=0.8,en;q=0.5", "zh"),
    (None, "zh;q=0.2,en;q=0.8", "en"),
    (None, None, "zh"),
    ("xx", "de", "zh"),
    (None, "garbage;;,,q=x", "zh"),
])
def test_the_language_is_the_cookie_else_accept_language_else_chinese(
        cookie: str | None, header: str | None, chosen: str) -> None:
    assert choose_language(cookie, header) == chosen


def test_dates_follow_the_locale_and_times_the_organisations_zone() -> None:
    zone = load_catalogues("Asia/Shanghai").zone
    assert local_date("2026-11-30", "zh") == "2026年11月30日"
    assert local_date("2026-11-30", "en") == "30 Nov 2026"
    # 20:30 UTC is the next morning in Shanghai
    assert local_time("2026-11-30T20:30:00Z", "en", zone, "short") == "01/12/2026, 04:30 +0800"
    assert local_time("2026-11-30T20:30:00Z", "zh", zone, "short").startswith("2026/12/1")


def test_a_time_says_which_clock_it_is_on() -> None:
    shanghai = load_catalogues("Asia/Shanghai").zone
    assert local_time("2026-11-30T20:30:00Z", "en", shanghai) == "1 Dec 2026, 04:30:00 +0800"
    assert local_time("2026-11-30T20:30:00Z", "zh", shanghai) == "2026年12月1日 +0800 04:30:00"
    utc = load_catalogues("UTC").zone
    assert local_time("2026-11-30T20:30:00Z", "en", utc) == "30 Nov 2026, 20:30:00 UTC"
    assert local_time("2026-11-30T20:30:00Z", "zh", utc, "long").endswith("UTC 20:30:00")
    pages = build_environments(load_catalogues("Asia/Shanghai"))
    shown = pages["en"].from_string("{{ t|moment }}").render(t="2026-11-30T20:30:00Z")
    assert shown == "1 Dec 2026, 04:30:00 +0800"  # what every console page's times show


def test_templates_translate_and_escape_what_they_interpolate() -> None:
    envs = build_environments(load_catalogues("Asia/Shanghai"))
    page = envs["zh"].from_string(
        '{{ _("Welcome, %(name)s", name="<b>") }}|{% trans name="<i>" %}Welcome, {{ name }}'
        '{% endtrans %}|{{ ngettext("%(num)s day left", "%(num)s days left", 3) }}|'
        '{{ _("Sign in") }}')
    assert page.render() == "欢迎，&lt;b&gt;|欢迎，&lt;i&gt;|还剩 3 天|登录"
    assert envs["en"].from_string('{{ _("Welcome, %(name)s", name="<b>") }}').render() == (
        "Welcome, &lt;b&gt;")


def test_templates_read_a_rows_keys_as_attributes_and_escape_every_value_they_format() -> None:
    env = build_environments(load_catalogues("Asia/Shanghai"))["en"]
    row = {"get": "x", "items": 3, "name": "<script>", "leaver": {"name": "a&b"}}
    page = env.from_string(
        '{{ row.leaver.name }}|{{ _("Welcome, %(name)s", name=row.name) }}|'
        '{{ row.get("name") }}|{{ row.items()|list|length }}|{{ row.missing is undefined }}'
    ).render(row=row)  # a dict's methods stay methods, as Jinja has them
    assert page == "a&amp;b|Welcome, &lt;script&gt;|&lt;script&gt;|4|True"
    markup = env.from_string('{{ _("Welcome, %(name)s", name=b) }}').render(b=Markup("<b>x</b>"))
    assert markup == "Welcome, <b>x</b>"
