"""The departure page's checklist rows, their sentences made once in Python: a case of 60
items asked the template for ~500 translated, formatted sentences, and Jinja's call of each
(its context, its checks, a Markup object per value) cost more than the board's whole read.
The same catalogue (each message translated once a page), the same escaping (every value
HTML-escaped into the translated text, which is trusted markup as the templates' ``_``
treats it), the same date formats; the HTML around the sentences stays in the template."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from aiohttp import web
from babel.support import Translations
from markupsafe import Markup

from web.i18n import N_, local_date, local_time
from web.keys import CATALOGUES, LOCALE
from web.people import People

RECEIVER, GIVER = N_("Receiver: %(who)s"), N_("Giver: %(who)s")
DUE, OVERDUE = N_("Due %(day)s"), N_("Overdue since %(day)s")
DECIDED, REASON = N_("Last decision: %(kind)s by %(who)s, %(at)s"), N_("reason: %(reason)s")
SIGNERS = N_("Still to sign: %(who)s")
BLOCKING = N_("%(title)s — receiver %(receiver)s (%(state)s)")


@dataclass(frozen=True)
class Words:
    """The reader's language: its catalogue, and its ``day`` and ``moment`` formats."""

    translations: Translations
    day: Callable[[Any], str]
    moment: Callable[[Any], str]
    lang: str = "zh"

    @classmethod
    def of(cls, request: web.Request) -> Words:
        lang = request[LOCALE]
        catalogues = request.app[CATALOGUES]
        return cls(catalogues.translations[lang], functools.partial(local_date, lang=lang),
                   functools.partial(local_time, lang=lang, zone=catalogues.zone), lang)

    def title_of(self, item: Mapping[str, Any]) -> str:
        """An item's title in a list: in English, a built-in item's English label."""
        label = item.get("label")
        return str(label) if self.lang == "en" and label else str(item["title"])

    def text(self, *messages: str) -> dict[str, str]:
        """``messages`` translated (each msgid → its text, still with its placeholders)."""
        return {m: self.translations.gettext(m) for m in messages}

    def labels(self, table: Mapping[str, str]) -> dict[str, str]:
        """A table of msgids (state → label), translated and escaped."""
        return {key: escape(self.translations.gettext(label)) for key, label in table.items()}


def item_rows(categories: Mapping[str, list[dict[str, Any]]], overdue_ids: set[str],
              states: Mapping[str, str], decisions: Mapping[str, str],
              words: Words, people: People) -> dict[str, list[dict[str, Any]]]:
    """Each category's items (as the board gives them) with their sentences as markup:
    ``label`` (its state), ``facts`` (receiver, giver, due or overdue), ``decision`` (the
    last, with its reason) and ``signers`` (who has still to sign); people by their names
    (``people``)."""
    state_labels, decision_labels = words.labels(states), words.labels(decisions)
    t = words.text(RECEIVER, GIVER, DUE, OVERDUE, DECIDED, REASON, SIGNERS)
    found: dict[str, list[dict[str, Any]]] = {}
    for category, items in categories.items():
        rows = found[category] = []
        for item in items:
            facts = (t[RECEIVER] % {"who": people.who(item["receiver"])} + " · "
                     + t[GIVER] % {"who": people.who(item["giver_id"])})
            if item["due_date"]:
                day = {"day": escape(words.day(item["due_date"]))}
                facts += (f' · <strong class="bad">{t[OVERDUE] % day}</strong>'
                          if item["id"] in overdue_ids else " · " + t[DUE] % day)
            signers = item["pending_signers"]
            rows.append({
                "item": item, "facts": Markup(facts),  # noqa: S704 (escaped above)
                "label": Markup(state_labels.get(item["state"]) or escape(item["state"])),  # noqa: S704
                "decision": _decision(item["last_decision"], decision_labels, t, words,
                                      people),
                "signers": Markup(t[SIGNERS] % {"who": people.each(signers)})  # noqa: S704
                if signers else ""})
    return found


def _decision(last: dict[str, Any] | None, labels: Mapping[str, str], t: Mapping[str, str],
              words: Words, people: People) -> Markup | str:
    if not last:
        return ""
    said = t[DECIDED] % {"kind": labels.get(last["kind"]) or escape(last["kind"]),
                         "who": people.who(last["by"]), "at": escape(words.moment(last["at"]))}
    if last.get("reason"):
        said += " — " + t[REASON] % {"reason": escape(last["reason"])}
    return Markup(said)  # noqa: S704 (every value escaped into the translated text)


def blocking_rows(blocking: list[dict[str, Any]], states: Mapping[str, str],
                  words: Words, people: People) -> list[Markup]:
    """The mandatory items that hold the close, each named with its receiver and state."""
    labels, text = words.labels(states), words.translations.gettext(BLOCKING)
    return [Markup(text % {  # noqa: S704 (every value escaped into the translated text)
        "title": escape(words.title_of(i)), "receiver": people.who(i["receiver"]),
        "state": labels.get(i["state"]) or escape(i["state"])}) for i in blocking]


def item_options(items: list[dict[str, Any]], words: Words, people: People,
                 chosen: str = "") -> Markup:
    """The ``<option>``s of an item list (title · receiver), ``chosen`` selected: made once
    for the page's three forms that choose an item."""
    return Markup("".join(  # noqa: S704 (every value escaped)
        f'<option value="{escape(i["id"])}"{" selected" if i["id"] == chosen else ""}>'
        f'{escape(words.title_of(i))} · {escape(people.text(i["receiver"]))}</option>'
        for i in items))
