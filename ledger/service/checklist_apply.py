"""Applying a checklist to a departure: by HR's hand, or automatically on approval.

With ``LEDGER_AUTO_APPLY_CHECKLISTS=on`` the approval that completes a case's chain also
applies its role family's checklist and the clearance checklist (seed 001: "系统根据岗位属性
…生成交接清单"), skipping any HR already applied (e.g. while approval was pending, to work
its urgent items at once). The items and the TemplateApplied record commit with the approval.
"""

from __future__ import annotations

import datetime as dt

from ledger.aggregates.departure import OPEN_FOR_ITEMS, Departure
from ledger.aggregates.dependency import DONE, require_acyclic
from ledger.aggregates.item import HandoverItem
from ledger.aggregates.signoff import resolve_signers
from ledger.aggregates.template import Template, template_id_for
from ledger.canonical import JSONObject
from ledger.errors import ForbiddenError, InvalidInputError, NotFoundError
from ledger.service.item_flow import creation_order, items_by_key, link_earlier_items, resolve_line
from ledger.service.unit_of_work import UnitOfWork

CLEARANCE_KEY = "clearance"


async def load_checklist(uow: UnitOfWork, key: str) -> Template:
    """The checklist ``key`` at its latest revision (a read dependency: a revision committed
    before the append makes the command decide again)."""
    try:
        return await uow.get(Template, template_id_for(key), read_only=True)
    except NotFoundError:
        raise InvalidInputError(f"no checklist {key!r}; GET /v1/templates lists them",
                                field="template_key") from None


def require_not_leavers_revision(template: Template, departure: Departure) -> None:
    """A revision written by the leaver never applies to their own case."""
    if template.author == departure.leaver_id:
        raise ForbiddenError(f"revision {template.revision} of checklist {template.key} was "
                             f"written by this departure's leaver; it cannot apply to their case")


async def apply_checklist(uow: UnitOfWork, departure: Departure, template: Template,
                          successor_id: str | None,
                          merged: list[JSONObject] | None = None) -> list[str]:
    """Create the checklist's items (due dates counted from the last working day) and record
    the application on the departure; return the new item ids.

    Lines are created after the lines they require (004: "方能进入下一环"), whose keys resolve
    to this application's items, then to the departure's earlier ones; an earlier item that
    requires a key this checklist now holds is linked to it. Each line's giver, receiver and
    signers are resolved for this case (``resolve_parties``; with ``merged``, slots of two
    roles one person holds are merged and listed there, else refused).

    Every line is resolved, and the departure's requirements checked for a cycle, before
    anything is added to the unit of work: a refused checklist leaves nothing behind (the
    approval that auto-applies it skips it and still commits).
    """
    last_day = dt.date.fromisoformat(departure.last_working_day)
    earlier = [await uow.get(HandoverItem, i) for i in departure.item_ids]
    existing = items_by_key(earlier)
    created: dict[int, str] = {}
    new_items: list[HandoverItem] = []
    for n in creation_order(template.items):
        spec = template.items[n]
        giver, receiver, signers = resolve_parties(spec, departure, successor_id, merged)
        item = HandoverItem(
            departure_id=str(departure.id), category=str(spec["category"]),
            title=str(spec["title"]), label=str(spec["label"]),
            acceptance_criteria=str(spec["acceptance_criteria"]), giver_id=giver,
            receiver=receiver,
            mandatory=bool(spec["mandatory"]), priority=str(spec["priority"]),
            due_date=due_date(spec, last_day),
            template_item_key=str(spec["key"]),
            satisfied_by=_rules(spec.get("satisfied_by")),
            department_may_confirm_directly=spec.get("department_may_confirm_directly") is True,
            signers=signers or None, signers_in_order=spec.get("signers_in_order") is True,
            urgent=spec.get("urgent") is True,
            module=str(spec["module"]) if spec.get("module") is not None else None,
            criteria_label=str(spec["criteria_label"]) if spec.get("criteria_label") else None,
            **resolve_line(spec, {str(template.items[k]["key"]): v for k, v in created.items()},
                           existing),
        )
        created[n] = str(item.id)
        new_items.append(item)
    _require_no_cycle(earlier, new_items)
    for item in new_items:
        uow.add(item)
    link_earlier_items(earlier, new_items)
    item_ids = [created[n] for n in range(len(template.items))]
    departure.apply_template(template.reference(), item_ids)
    return item_ids


def due_date(spec: JSONObject, last_day: dt.date) -> str:
    """A line's due date: its offset from the last working day (a date the calendar cannot
    hold is refused, never a server error)."""
    try:
        return (last_day + dt.timedelta(days=int(str(spec["due_offset_days"])))).isoformat()
    except OverflowError:
        raise InvalidInputError(f"checklist item {spec.get('key')}: its due date "
                                f"({spec['due_offset_days']} days from {last_day}) is out "
                                "of range", field="template_key") from None


def _require_no_cycle(earlier: list[HandoverItem], new: list[HandoverItem]) -> None:
    """The check ``link_earlier_items`` makes, made before anything changes."""
    by_key = items_by_key(new)
    graph = {str(i.id): [*i.requires, *(r for k in i.unresolved_requires
                                        for r in by_key.get(k, ()))]
             for i in earlier if i.state not in DONE}
    graph.update({str(i.id): list(i.requires) for i in earlier if i.state in DONE})
    graph.update({str(i.id): list(i.requires) for i in new})
    require_acyclic(graph, field="template_key")


def needs_successor(template: Template) -> list[str]:
    """The keys of the checklist's lines that a successor gives, receives or signs."""
    def roles(spec: JSONObject) -> list[object]:
        signers = spec.get("signers")
        return [spec.get("giver"), spec.get("receiver"),
                *(signers if isinstance(signers, list) else [])]
    return [str(spec["key"]) for spec in template.items if "successor" in roles(spec)]


async def auto_apply(uow: UnitOfWork, departure: Departure,
                     by: str) -> tuple[list[JSONObject], list[JSONObject]]:
    """On approval (when the setting is on; ``by`` completed it): apply the role family's
    checklist and the clearance checklist, each unless already applied; return what was
    applied, and what was skipped for HR to apply by hand (key and reason), each skip also
    recorded on the case (``DepartureChecklistSkipped``: HR's inbox lists it until applied).

    A family without a checklist is skipped silently, and an approval never fails for a
    checklist. A latest revision written by the leaver is skipped (HR revises it, then
    applies it); so is a checklist with lines for the successor when the case names none
    (its slots would silently go to someone else), and one this case refuses (a line whose
    giver would receive it): the approval commits without it, and its answer says so.
    """
    if not uow.auto_apply_checklists or departure.state not in OPEN_FOR_ITEMS:
        return [], []
    applied: list[JSONObject] = []
    skipped: list[JSONObject] = []
    for key in (str(departure.leaver.get("role_family", "")), CLEARANCE_KEY):
        if not key or key in departure.applied_template_keys():
            continue
        try:
            template = await uow.get(Template, template_id_for(key), read_only=True)
        except NotFoundError:
            continue
        reason = await _auto_apply_one(uow, departure, template)
        if reason is None:
            applied.append(template.reference())
        else:
            skipped.append({"key": key, "reason": reason})
            departure.skip_checklist(by=by, key=key, reason=reason)
    return applied, skipped


async def _auto_apply_one(uow: UnitOfWork, departure: Departure,
                          template: Template) -> str | None:
    """Apply ``template`` on approval, or say why it is left to HR."""
    if template.author == departure.leaver_id:
        return (f"revision {template.revision} was written by this case's leaver; HR "
                "revises the checklist, then applies it")
    lines = needs_successor(template)
    if departure.successor_id is None and lines:
        return (f"lines {', '.join(lines)} need a successor and the case names none; HR "
                "applies it with a successor_id")
    try:
        await apply_checklist(uow, departure, template, departure.successor_id)
    except InvalidInputError as e:
        return f"{e}; HR applies it by hand"
    return None


def _resolve_receiver(spec: str, departure: Departure, successor_id: str | None) -> str:
    if spec == "successor":
        if successor_id is None:
            raise InvalidInputError("this template needs a successor_id", field="successor_id")
        return successor_id
    if spec == "manager":
        return departure.manager_id
    if spec == "hr":
        return departure.hr_owner_id
    if spec == "leaver":  # an item given to the leaver (the final settlement)
        return departure.leaver_id
    return spec


def resolve_parties(spec: JSONObject, departure: Departure, successor_id: str | None,
                    merged: list[JSONObject] | None = None) -> tuple[str, str, list[str]]:
    """A checklist line's giver, receiver and signer slots for this case. The giver is the
    leaver unless the line names another (finance prepares the final settlement, which the
    leaver acknowledges); ``receiver`` among the signers is the line's receiver.

    Slots of different roles held by one person on this case (the manager named as the
    successor, for a line the manager and the successor co-sign: 004 "由客户经理与新接手人共同
    签字") are refused, naming the line: merging them would silently drop a signer. HR, naming
    that successor by hand, may merge them, said in ``merged`` (seed 001: the site manager
    takes over the technician's work himself)."""
    giver_spec = str(spec.get("giver", "leaver"))
    giver = departure.leaver_id if giver_spec == "leaver" else _resolve_receiver(
        giver_spec, departure, successor_id)
    receiver_spec = str(spec["receiver"])
    receiver = _resolve_receiver(receiver_spec, departure, successor_id)
    wanted = spec.get("signers")
    roles = [receiver_spec if str(s) == "receiver" else str(s)
             for s in (wanted if isinstance(wanted, list) else [])]
    slots = [_resolve_receiver(role, departure, successor_id) for role in roles]
    if receiver == giver:
        raise InvalidInputError(f"checklist item {spec.get('key')}: its giver ({giver}) would "
                                "receive it on this case", field="template_key")
    held: dict[str, str] = {}
    for role, slot in zip(roles, slots, strict=True):
        if held.setdefault(slot, role) != role and merged is not None:
            merged.append({"key": str(spec.get("key")), "principal_id": slot,
                           "roles": [held[slot], role]})
        elif held[slot] != role:
            raise InvalidInputError(
                f"checklist item {spec.get('key')}: {slot} would sign it both as "
                f"{held[slot]} and as {role} on this case; name another successor or "
                "reassign the case's roles first", field="template_key")
    try:
        return giver, receiver, resolve_signers(slots, giver, receiver)
    except InvalidInputError as e:
        raise InvalidInputError(f"checklist item {spec.get('key')}: {e}",
                                field="template_key") from None


def _rules(value: object) -> list[JSONObject]:
    """A checklist line's ``satisfied_by`` as stored (absent in lines that predate it)."""
    return [dict(rule) for rule in value if isinstance(rule, dict)] if isinstance(
        value, list) else []
