"""What the item rules of ``ledger.aggregates.dependency`` need from
the service: the required items' states (as read dependencies), today's date on the
organisation's working calendar, the deadline a submission records, requirements resolved
from checklist keys to item ids, and the questions still open at close.

The clock is read here, never in the aggregates: ``UnitOfWork.clock`` (set by the Ledger,
overridable in tests) and ``UnitOfWork.calendar`` (``LEDGER_WORKING_CALENDAR``).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import TypedDict

from ledger.aggregates.departure import Departure
from ledger.aggregates.dependency import DONE, require_acyclic
from ledger.aggregates.item import DEPARTMENT_QUEUES, HandoverItem
from ledger.canonical import JSONObject
from ledger.errors import InvalidInputError, NotFoundError
from ledger.service.context import Actor
from ledger.service.policy import REVIEWERS
from ledger.service.relation import may_read_item
from ledger.service.unit_of_work import UnitOfWork
from ledger.workday import WorkingCalendar


@functools.cache
def default_calendar() -> WorkingCalendar:
    """The PRC calendar in Asia/Shanghai, built on first use (not at import)."""
    return WorkingCalendar()


def calendar_of(uow: UnitOfWork) -> WorkingCalendar:
    """The organisation's working calendar for this command."""
    return uow.calendar or default_calendar()


def today(uow: UnitOfWork) -> dt.date:
    """The organisation's date now."""
    return calendar_of(uow).local_date(uow.clock())


async def prerequisite_states(uow: UnitOfWork, item: HandoverItem) -> dict[str, str]:
    """The current state of every item ``item`` requires.

    Each is loaded read-only, so it is a read dependency of the command: the append commits
    only if none of them moved since it was read here (they are final once done, but a
    command decided on a stale "not done" is decided again rather than refused twice)."""
    return {r: (await uow.get(HandoverItem, r, read_only=True)).state for r in item.requires}


def confirm_by(uow: UnitOfWork, item: HandoverItem) -> str | None:
    """The date a submission made now must be confirmed by: the item's number of working
    days after today (002: "接收方需在3个工作日内确认"), or None without a period."""
    n = item.confirm_within_working_days
    if n is None:
        return None
    return calendar_of(uow).add_working_days(today(uow), n).isoformat()


def escalation_target(item: HandoverItem, departure: Departure) -> str:
    """Who an overdue confirmation goes to now: the case's current HR owner (the default)
    or the leaver's manager."""
    return departure.manager_id if item.escalate_to == "manager" else departure.hr_owner_id


def requirements_of_new_item(requires: Iterable[object], departure: Departure) -> list[str]:
    """An item added by hand requires items of its own departure only (a new item cannot be
    required by anything yet, so no cycle can form)."""
    ids = list(dict.fromkeys(str(r) for r in requires))
    foreign = [r for r in ids if r not in departure.item_ids]
    if foreign:
        raise InvalidInputError(f"required items are not items of departure {departure.id}: "
                                f"{', '.join(foreign)}", field="requires")
    return ids


def creation_order(specs: Sequence[JSONObject]) -> list[int]:
    """Indexes of a checklist's lines, each after the lines (of the same checklist) it
    requires, otherwise in checklist order. Precondition: no cycle (DefineTemplate checks)."""
    index_of = {str(s["key"]): n for n, s in enumerate(specs)}
    done: set[int] = set()
    order: list[int] = []
    for n in range(len(specs)):
        _place(specs, index_of, n, frozenset(), done, order)
    return order


def _place(specs: Sequence[JSONObject], index_of: dict[str, int], n: int,
           path: frozenset[int], done: set[int], order: list[int]) -> None:
    # Not a closure calling itself: that is a reference cycle (see dependency._visit).
    if n in done or n in path:
        return
    for key in _keys(specs[n].get("requires")):
        if key in index_of:
            _place(specs, index_of, index_of[key], path | {n}, done, order)
    done.add(n)
    order.append(n)


def items_by_key(items: Iterable[HandoverItem]) -> dict[str, list[str]]:
    """The departure's earlier items by checklist key (their ids), for resolving the keys a
    new checklist line requires. The items were loaded by the command: read dependencies."""
    found: dict[str, list[str]] = {}
    for item in items:
        if item.template_item_key is not None:
            found.setdefault(item.template_item_key, []).append(str(item.id))
    return found


def link_earlier_items(earlier: Sequence[HandoverItem], new: Sequence[HandoverItem]) -> None:
    """Resolve, on the departure's earlier items that are not done, the required keys that no
    item held when they were created and that the newly applied items hold (the clearance's
    wipe applied before the role family's laptop review); then refuse the application if the
    departure's requirements now go round in a circle (each checklist alone has none)."""
    by_key = items_by_key(new)
    for item in earlier:
        if item.state not in DONE and any(k in by_key for k in item.unresolved_requires):
            item.link_requirements(by_key)
    require_acyclic({str(i.id): i.requires for i in [*earlier, *new]}, field="template_key")


class LineFlow(TypedDict):
    """The issue-9 fields of a new item, as ``HandoverItem`` takes them."""

    requires: list[str] | None
    unresolved_requires: list[str] | None
    confirm_within_working_days: int | None
    escalate_to: str | None


def resolve_line(spec: JSONObject, created: Mapping[str, str],
                 existing: Mapping[str, list[str]]) -> LineFlow:
    """The issue-9 constructor fields of the item a checklist line creates: its required keys
    resolved to item ids (this application's first, else the departure's earlier items;
    a key found nowhere is kept as unresolved and shown), its deadline and escalation."""
    requires: list[str] = []
    unresolved: list[str] = []
    for key in _keys(spec.get("requires")):
        if key in created:
            requires.append(created[key])
        elif key in existing:
            requires.extend(existing[key])
        else:
            unresolved.append(key)
    days = spec.get("confirm_within_working_days")
    escalate = spec.get("escalate_to")
    return LineFlow(requires=requires or None, unresolved_requires=unresolved or None,
                    confirm_within_working_days=days if isinstance(days, int) else None,
                    escalate_to=str(escalate) if escalate is not None else None)


def unanswered_questions(items: Iterable[HandoverItem]) -> list[JSONObject]:
    """Every question still awaiting its answer, item by item: the close's warnings (003:
    "老刘需要在离职前完成所有问题的解答"; they warn, they never block the close)."""
    return [q for item in items for q in item.unanswered_questions()]


def _keys(value: object) -> list[str]:
    return [str(k) for k in value] if isinstance(value, list) else []


async def ask_question(uow: UnitOfWork, actor_id: str, item: HandoverItem,
                       departure: Departure, to: str, text: str) -> str:
    """Record a question to ``to`` on ``item``: an active principal who takes part in the case
    and may act on items (HR, the leaver, their manager, an approver, the item's giver, receiver
    or signers; never an auditor or legal, who would write to the item by answering), or the
    item's own department queue. Returns its id.

    Every addressee that may not be asked (unknown, inactive, uninvolved, read-only) is
    refused with the same words, so a question never probes the principal directory."""
    if not await _may_be_asked(uow, to, item, departure):
        raise InvalidInputError(f"question_to: {to!r} cannot be asked about item {item.id}; "
                                "ask someone who takes part in it", field="question_to")
    return item.ask(by=actor_id, to=to, text=text)


async def _may_be_asked(uow: UnitOfWork, principal_id: str, item: HandoverItem,
                        departure: Departure) -> bool:
    if principal_id in DEPARTMENT_QUEUES:
        return principal_id in (item.receiver, item.giver_id, *item.signers)
    roles: Sequence[str] = ("employee",)
    if uow.directory is not None:
        try:
            principal = await uow.directory.get_principal(principal_id)
        except NotFoundError:
            return False
        if not principal.active:
            return False
        roles = principal.roles
    return any(may_read_item(Actor(principal_id, role), item, departure)
               for role in roles if role in REVIEWERS)
