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
from ledger.aggregates.template import Template, template_id_for
from ledger.canonical import JSONObject
from ledger.errors import ForbiddenError, InvalidInputError, NotFoundError
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
    the application on the departure; return the new item ids."""
    last_day = dt.date.fromisoformat(departure.last_working_day)
    item_ids = []
    for spec in template.items:
        item = HandoverItem(
            departure_id=str(departure.id), category=str(spec["category"]),
            title=str(spec["title"]), label=str(spec["label"]),
            acceptance_criteria=str(spec["acceptance_criteria"]), giver_id=departure.leaver_id,
            receiver=_resolve_receiver(str(spec["receiver"]), departure, successor_id),
            mandatory=bool(spec["mandatory"]), priority=str(spec["priority"]),
            due_date=(last_day + dt.timedelta(days=int(str(spec["due_offset_days"])))).isoformat(),
            template_item_key=str(spec["key"]),
            satisfied_by=_rules(spec.get("satisfied_by")),
            department_may_confirm_directly=spec.get("department_may_confirm_directly") is True,
            urgent=spec.get("urgent") is True,
        )
        uow.add(item)
        item_ids.append(str(item.id))
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
    return spec


def _rules(value: object) -> list[JSONObject]:
    """A checklist line's ``satisfied_by`` as stored (absent in lines that predate it)."""
    return [dict(rule) for rule in value if isinstance(rule, dict)] if isinstance(
        value, list) else []
