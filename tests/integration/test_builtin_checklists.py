"""The built-in checklists of issue 9, applied on every store: a changed file is a new revision;
the clearance's wipe waits for the role family's laptop review; finance and HR give the lines
they prepare to the leaver; a management item carries its module, other items' entries are
byte for byte as before (no ``module`` key)."""

from __future__ import annotations

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.ledger import SYSTEM_ACTOR, Ledger
from ledger.service.template_cases import builtin_template_commands
from tests.integration.http_fixtures import Api
from tests.support.case_steps import apply, approve, started, view

HR = Actor("hr.sun", "hr")
MANAGER = Actor("li.qiang", "employee")
LEAVER = "wang.lei"
SUCCESSOR = "zhao.min"


async def case_with(ledger: Ledger, family: str, *templates: str) -> dict[str, HandoverItem]:
    started = await ledger.execute(c.StartDeparture(
        leaver=c.Leaver(id=LEAVER, name="王磊", department="运营", position="岗位",
                        role_family=family),
        manager_id=MANAGER.id, hr_owner_id=HR.id, notice_date="2026-11-01",
        last_working_day="2026-11-30", reason="个人发展",
        approval_chain=[c.ApprovalStep(name="manager", approver_id=MANAGER.id)]), HR)
    departure_id = str(started.result["departure_id"])
    await ledger.execute(c.SubmitForApproval(departure_id=departure_id), HR)
    await ledger.execute(c.ApproveStep(departure_id=departure_id, step=0), MANAGER)
    for key in templates:
        await ledger.execute(c.ApplyTemplate(departure_id=departure_id, template_key=key,
                                             successor_id=SUCCESSOR), HR)
    departure = await ledger.load(Departure, departure_id)
    items = [await ledger.load(HandoverItem, i) for i in departure.item_ids]
    return {str(i.template_item_key): i for i in items}


async def test_a_changed_builtin_checklist_is_installed_as_its_next_revision(
        ledger: Ledger) -> None:
    shipped = next(t for t in builtin_template_commands() if t.key == "clearance")
    older = shipped.model_copy(update={"items": shipped.items[:-1]})
    revised = await ledger.execute(older, SYSTEM_ACTOR)
    assert (revised.result["revision"], revised.result["changed"]) == (2, True)

    installed = await ledger.install_builtin_templates()

    clearance = next(r for r in installed if r["key"] == "clearance")
    assert (clearance["revision"], clearance["changed"]) == (3, True)
    again = await ledger.install_builtin_templates()
    assert not any(r["changed"] for r in again)


async def test_the_wipe_requires_the_laptop_review_of_the_role_familys_checklist(
        ledger: Ledger) -> None:
    for family in ("sales", "general"):
        items = await case_with(ledger, family, family, "clearance")
        assert items["it-wipe-devices"].requires == [str(items["laptop-review"].id)]
        assert items["it-wipe-devices"].unresolved_requires == []
        assert "hr-archive" not in items
        assert items["admin-collect-devices"].receiver == "dept:admin"


async def test_finance_and_hr_give_what_they_prepare_to_the_leaver(ledger: Ledger) -> None:
    items = await case_with(ledger, "sales", "clearance")

    settlement, notice = items["finance-final-settlement"], items["hr-confidentiality-notice"]
    assert (settlement.giver_id, settlement.receiver) == ("dept:finance", LEAVER)
    assert (notice.giver_id, notice.receiver) == (HR.id, LEAVER)


async def test_lines_that_name_other_signers_get_them(ledger: Ledger) -> None:
    technical = await case_with(ledger, "technical", "technical")
    assert technical["code-repository-access"].signers == [SUCCESSOR, "dept:it"]
    assert technical["code-repository-access"].urgent is True
    finance = await case_with(ledger, "finance", "finance")
    assert finance["bank-ukeys"].signers == [SUCCESSOR, MANAGER.id]


async def test_a_management_item_carries_its_module_and_other_entries_do_not(
        ledger: Ledger) -> None:
    management = await case_with(ledger, "management", "management")
    sales = await case_with(ledger, "sales", "sales")

    assert {i.module for i in management.values()} == {
        "strategy", "projects", "team", "finance_authority", "legal_compliance"}
    strategy = management["strategy-plan-and-okr"]
    assert (strategy.receiver, strategy.confirm_within_working_days) == (SUCCESSOR, 3)
    created = (await ledger.entries(strategy.id))[0].payload
    assert created["module"] == "strategy"
    assert "module" not in (await ledger.entries(sales["client-list"].id))[0].payload
    assert all(i.module is None for i in sales.values())


async def test_an_items_module_is_shown_over_http(api: Api) -> None:
    departure_id = await started(api)
    await approve(api, departure_id)
    item_ids = await apply(api, departure_id, "management")

    shown = [await view(api, f"/v1/items/{i}") for i in item_ids]

    assert [v["module"] for v in shown[:2]] == ["strategy", "strategy"]
    assert shown[0]["receiver"] == "zhao.min"
    assert shown[0]["confirm_within_working_days"] == 3


async def test_an_item_added_by_hand_may_name_its_module_and_only_a_known_one(
        api: Api) -> None:
    departure_id = await started(api)
    await approve(api, departure_id)
    path = f"/v1/departures/{departure_id}/items"
    body = {"category": "management", "title": "董事会授权书", "receiver": "zhao.min"}

    added = await api.post(path, "hr.sun", json={**body, "module": "finance_authority"})

    assert added.status == 201, added.body
    shown = await view(api, f"/v1/items/{added.json()['result']['item_id']}")
    assert shown["module"] == "finance_authority"
    (await api.post(path, "hr.sun", json={**body, "module": "marketing"})).problem(422)
