"""Who a page names: each principal id it prints, shown by the name the principal store holds
(read for the whole page in one look-up, ``PrincipalStore.names_of``), and a department's
queue (``dept:it``) by its department's translated name. The id stays with the name: in the
element's title, and beside it in small text where the name alone does not tell two people
on the page apart; an id the store knows no name for is shown as it is. Names are user data:
each is escaped here, once, into the markup the templates print as it is."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from markupsafe import Markup

from web.labels import DEPARTMENT_LABELS

QUEUE = "dept:"


@dataclass(frozen=True)
class People:
    """The names a page shows (id → name) and the ids whose name another id there shares."""

    names: Mapping[str, str]
    twins: frozenset[str]

    @classmethod
    def of(cls, found: Mapping[str, str], queues: Iterable[str],
           gettext: Any) -> People:
        """From the names the store ``found`` and the department ``queues`` the page names
        (each translated by ``gettext``; a department without a label keeps its id)."""
        names = {who: name.strip() for who, name in found.items()
                 if name.strip() and name.strip() != who}
        counts = Counter(names.values())
        twins = frozenset(who for who, name in names.items() if counts[name] > 1)
        for queue in queues:
            label = DEPARTMENT_LABELS.get(queue.removeprefix(QUEUE))
            if label is not None:
                names[queue] = str(gettext(label))
        return cls(names, twins)

    def who(self, principal_id: str | None) -> Markup:
        """``principal_id`` as the page prints it: its name, the id as the title."""
        if not principal_id:
            return Markup("")
        shown, pid = self.names.get(principal_id), escape(principal_id)
        if shown is None:
            return Markup(f'<span class="who">{pid}</span>')  # noqa: S704 (escaped)
        extra = f' <small class="who-id">{pid}</small>' if principal_id in self.twins else ""
        return Markup(  # noqa: S704 (every value escaped)
            f'<span class="who" title="{pid}">{escape(shown)}{extra}</span>')

    def each(self, principal_ids: Iterable[str]) -> Markup:
        """Several, comma-separated."""
        return Markup(", ").join(self.who(i) for i in principal_ids)

    def text(self, principal_id: str) -> str:
        """Plain text (an ``<option>``, a heading's words): ``王磊 (wang.lei)``, or the id."""
        shown = self.names.get(principal_id)
        return principal_id if shown is None else f"{shown} ({principal_id})"


def case_ids(summary: Mapping[str, Any], categories: Mapping[str, list[dict[str, Any]]],
             disputes: Iterable[Mapping[str, Any]]) -> set[str]:
    """Every principal id and queue the case page prints: the leaver, manager, HR owner and
    successor, the approvers, each item's giver, receiver, signers and last decider, who
    signed the confirmation and who raised a dispute."""
    found = {summary["leaver"].get("id"), summary["manager_id"], summary["hr_owner_id"],
             summary.get("successor_id"), *summary.get("confirmation_signed_by", ()),
             *(s.get("approver_id") for s in summary["approval"]["steps"]),
             *(d.get("raised_by") for d in disputes)}
    for items in categories.values():
        for item in items:
            found.update((item["giver_id"], item["receiver"], *item["pending_signers"],
                          (item.get("last_decision") or {}).get("by")))
    return {who for who in found if isinstance(who, str) and who}
