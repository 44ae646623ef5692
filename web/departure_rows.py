"""The departure page's checklist rows, their sentences made once in Python: a case of 60
items asked the template for ~500 translated, formatted sentences, and Jinja's call of each
(its context, its checks) cost more than the board's whole read. The same catalogue, the
same escaping (values are escaped into the translated markup), the same date formats; the
HTML around the sentences stays in the template."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web
from markupsafe import Markup

from web.keys import LOCALE
from web.render import ENVIRONMENTS

SEPARATOR = Markup(" · ")
OVERDUE = Markup('<strong class="bad">%s</strong>')


@dataclass(frozen=True)
class Words:
    """The reader's language: the templates' ``_`` and their ``day`` and ``moment``."""

    gettext: Callable[..., Markup]
    day: Callable[[Any], str]
    moment: Callable[[Any], str]

    @classmethod
    def of(cls, request: web.Request) -> Words:
        env = request.app[ENVIRONMENTS][request[LOCALE]]
        gettext = cast("Callable[..., Markup]", env.globals["_"])
        return cls(gettext, env.filters["day"], env.filters["moment"])

    def labels(self, table: Mapping[str, str]) -> dict[str, Markup]:
        """A table of msgids (state → label), translated."""
        return {key: self.gettext(label) for key, label in table.items()}


def item_rows(categories: Mapping[str, list[dict[str, Any]]], overdue_ids: set[str],
              states: Mapping[str, str], decisions: Mapping[str, str],
              words: Words) -> dict[str, list[dict[str, Any]]]:
    """Each category's items (as the board gives them) with their sentences: ``label`` (its
    state), ``facts`` (receiver, giver, due or overdue), ``decision`` (the last, with its
    reason) and ``signers`` (who has still to sign)."""
    state_labels = words.labels(states)
    decision_labels = words.labels(decisions)
    _ = words.gettext
    found: dict[str, list[dict[str, Any]]] = {}
    for category, items in categories.items():
        rows = found[category] = []
        for item in items:
            facts = [_("Receiver: %(who)s", who=item["receiver"]),
                     _("Giver: %(who)s", who=item["giver_id"])]
            if item["due_date"]:
                day = words.day(item["due_date"])
                facts.append(OVERDUE % _("Overdue since %(day)s", day=day)
                             if item["id"] in overdue_ids else _("Due %(day)s", day=day))
            rows.append({"item": item, "facts": SEPARATOR.join(facts),
                         "label": state_labels.get(item["state"], item["state"]),
                         "decision": _decision(item["last_decision"], decision_labels, words),
                         "signers": _("Still to sign: %(who)s",
                                      who=", ".join(item["pending_signers"]))
                         if item["pending_signers"] else ""})
    return found


def _decision(last: dict[str, Any] | None, labels: Mapping[str, Markup],
              words: Words) -> Markup | str:
    if not last:
        return ""
    _ = words.gettext
    said = _("Last decision: %(kind)s by %(who)s, %(at)s",
             kind=labels.get(last["kind"], last["kind"]), who=last["by"] or "",
             at=words.moment(last["at"]))
    if last.get("reason"):
        said += Markup(" — ") + _("reason: %(reason)s", reason=last["reason"])
    return said


def blocking_rows(blocking: list[dict[str, Any]], states: Mapping[str, str],
                  words: Words) -> list[Markup]:
    """The mandatory items that hold the close, each named with its receiver and state."""
    labels = words.labels(states)
    return [words.gettext("%(title)s — receiver %(receiver)s (%(state)s)", title=i["title"],
                          receiver=i["receiver"], state=labels.get(i["state"], i["state"]))
            for i in blocking]
