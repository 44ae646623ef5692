"""Applying a checklist to a departure: by HR's hand, or automatically on approval.

With ``LEDGER_AUTO_APPLY_CHECKLISTS=on`` the approval that completes a case's chain also
applies its role family's checklist and the clearance checklist (seed 001: "系统根据岗位属性
…生成交接清单"), skipping any HR already applied (e.g. while approval was pending, to work
its urgent items at once). The items and the TemplateApplied record commit with the approval.
"""

from __future__ import annotations

import datetime as dt

from ledger.aggregates.departure import OPEN_FOR_ITEMS, Departure
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
                          successor_id: str | None) -> list[str]:
    """Create the checklist's items (due dates counted from the last working day) and record
    the application on the departure; return the new item ids.

    Lines are created after the lines they require (004: "方能进入下一环"), whose keys resolve
    to this application's items, then to the departure's earlier ones; an earlier item that
    requires a key this checklist now holds is linked to it. Each line's giver, receiver and
    signers are resolved for this case (``resolve_parties``).
    """
    last_day = dt.date.fromisoformat(departure.last_working_day)
    earlier = [await uow.get(HandoverItem, i) for i in departure.item_ids]
    existing = items_by_key(earlier)
    created: dict[int, str] = {}
    new_items: list[HandoverItem] = []
    for n in creation_order(template.items):
        spec = template.items[n]
        giver, receiver, signers = resolve_parties(spec, departure, successor_id)
        item = HandoverItem(
            departure_id=str(departure.id), category=str(spec["category"]),
            title=str(spec["title"]), label=str(spec["label"]),
            acceptance_criteria=str(spec["acceptance_criteria"]), giver_id=giver,
            receiver=receiver,
            mandatory=bool(spec["mandatory"]), priority=str(spec["priority"]),
            due_date=(last_day + dt.timedelta(days=int(str(spec["due_offset_days"])))).isoformat(),
            template_item_key=str(spec["key"]),
            satisfied_by=_rules(spec.get("satisfied_by")),
            department_may_confirm_directly=spec.get("department_may_confirm_directly") is True,
            signers=signers or None, signers_in_order=spec.get("signers_in_order") is True,
            urgent=spec.get("urgent") is True,
            module=str(spec["module"]) if spec.get("module") is not None else None,
            **resolve_line(spec, {str(template.items[k]["key"]): v for k, v in created.items()},
                           existing),
        )
        uow.add(item)
        created[n] = str(item.id)
        new_items.append(item)
    link_earlier_items(earlier, new_items)
    item_ids = [created[n] for n in range(len(template.items))]
    departure.apply_template(template.reference(), item_ids)
    return item_ids


async def auto_apply_checklists(uow: UnitOfWork, departure: Departure) -> list[JSONObject]:
    """On approval (when the setting is on): apply the role family's checklist and the
    clearance checklist, each unless already applied; return what was applied.

    A family without a checklist, or a latest revision written by the leaver, is skipped for
    HR to apply by hand: an approval never fails for it. Lines for the successor go to the
    one named on accept, else to the manager until HR reassigns them.
    """
    if not uow.auto_apply_checklists or departure.state not in OPEN_FOR_ITEMS:
        return []
    applied: list[JSONObject] = []
    for key in (str(departure.leaver.get("role_family", "")), CLEARANCE_KEY):
        if not key or key in departure.applied_template_keys():
            continue
        try:
            template = await uow.get(Template, template_id_for(key), read_only=True)
        except NotFoundError:
            continue
        if template.author == departure.leaver_id:
            continue
        await apply_checklist(uow, departure, template,
                              departure.successor_id or departure.manager_id)
        applied.append(template.reference())
    return applied


def _resolve_receiver(spec: str, departure: Departure, successor_id: str | None) -> str:
    if spec == "successor":
        if successor_id is None:
            raise InvalidInputError("this template needs a successor_id", field="successor_id")
        return successor_id
    if spec == "manager":
        return departure.manager_id
    if spec == "hr":
        return departure.hr_owner_id
    if spec == "leaver":  # issue 9: an item given to the leaver (the final settlement)
        return departure.leaver_id
    return spec


def resolve_parties(spec: JSONObject, departure: Departure,
                    successor_id: str | None) -> tuple[str, str, list[str]]:
    """A checklist line's giver, receiver and signer slots for this case. The giver is the
    leaver unless the line names another (finance prepares the final settlement, which the
    leaver acknowledges); ``receiver`` among the signers is the line's receiver."""
    giver_spec = str(spec.get("giver", "leaver"))
    giver = departure.leaver_id if giver_spec == "leaver" else _resolve_receiver(
        giver_spec, departure, successor_id)
    receiver = _resolve_receiver(str(spec["receiver"]), departure, successor_id)
    wanted = spec.get("signers")
    slots = [receiver if str(s) == "receiver" else _resolve_receiver(str(s), departure,
                                                                      successor_id)
             for s in (wanted if isinstance(wanted, list) else [])]
    if receiver == giver:
        raise InvalidInputError(f"checklist item {spec.get('key')}: its giver ({giver}) would "
                                "receive it on this case", field="template_key")
    try:
        return giver, receiver, resolve_signers(slots, giver, receiver)
    except InvalidInputError as e:
        raise InvalidInputError(f"checklist item {spec.get('key')}: {e}",
                                field="template_key") from None


def _rules(value: object) -> list[JSONObject]:
    """A checklist line's ``satisfied_by`` as stored (absent in lines that predate it)."""
    return [dict(rule) for rule in value if isinstance(rule, dict)] if isinstance(
        value, list) else []
