"""The built-in checklist templates in ``ledger/templates/`` follow the fixed JSON schema.

Templates are hashed into every departure that applies them, so the files must be exactly the
documented shape: no extra keys, no floats or nulls (the canonical encoding forbids floats), and
a stable 2-space layout so that reviews show real changes only.
"""

import json
import re
from pathlib import Path
from typing import Any

import pytest

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "ledger" / "templates"
TEMPLATE_KEYS = {"sales", "technical", "admin", "finance", "management", "clearance", "general"}
ROLE_FAMILY_KEYS = TEMPLATE_KEYS - {"clearance"}
TOP_LEVEL_FIELDS = {"key", "role_family", "name", "label", "items"}
ITEM_FIELDS = {
    "criteria_label",  # the criteria in English, for the console's en pages
    "key",
    "category",
    "title",
    "label",
    "acceptance_criteria",
    "receiver",
    "mandatory",
    "priority",
    "due_offset_days",
}
CATEGORIES = {
    "clients",
    "projects",
    "documents",
    "accounts_permissions",
    "assets",
    "finance",
    "knowledge",
    "management",
}
RECEIVERS = {"successor", "manager", "hr", "dept:it", "dept:finance", "dept:admin", "leaver"}
GIVERS = {"leaver", "hr", "manager", "dept:it", "dept:finance", "dept:admin"}
SIGNERS = RECEIVERS | {"receiver"}
# Issue 9: the optional fields of a checklist line (see TemplateItem).
OPTIONAL_ITEM_FIELDS = {"satisfied_by", "department_may_confirm_directly", "giver", "signers",
                        "signers_in_order", "requires", "confirm_within_working_days",
                        "escalate_to", "urgent", "module"}
MAX_CRITERIA_LABEL = 1000
PRIORITIES = {"low", "normal", "high", "critical"}
MANAGEMENT_MODULES = {
    "strategy": "strategy-",
    "projects": "core-projects-",
    "team": "team-",
    "finance_authority": "financial-authority-",
    "legal_compliance": "legal-compliance-",
}
KEBAB_CASE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CJK = re.compile(r"[\u4e00-\u9fff]")
MAX_TITLE = 80
MAX_LABEL = 80
MAX_CRITERIA = 300
# A due date more than two months before, or a month after, the last working day is a typo.
DUE_OFFSET_RANGE = range(-60, 31)

TEMPLATE_PATHS = sorted(TEMPLATE_DIR.glob("*.json"))


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    duplicates = {k for k in keys if keys.count(k) > 1}
    if duplicates:
        raise ValueError(f"duplicate keys: {sorted(duplicates)}")
    return dict(pairs)


def _reject_float(text: str) -> Any:
    raise ValueError(f"float not allowed: {text}")


def _reject_constant(text: str) -> Any:
    raise ValueError(f"constant not allowed: {text}")


def _load(path: Path) -> dict[str, Any]:
    text = path.read_bytes().decode("utf-8")
    document = json.loads(
        text,
        object_pairs_hook=_reject_duplicate_keys,
        parse_float=_reject_float,
        parse_constant=_reject_constant,
    )
    assert isinstance(document, dict)
    return document


def _assert_only_strings_integers_booleans(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _assert_only_strings_integers_booleans(child, f"{where}.{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            _assert_only_strings_integers_booleans(child, f"{where}[{index}]")
    else:
        assert isinstance(value, str | int | bool), f"{where}: {type(value).__name__} not allowed"
        if isinstance(value, int) and not isinstance(value, bool):
            assert abs(value) < 2**53, f"{where}: integer out of the JSON-safe range"


def _assert_text(value: Any, limit: int, where: str, *, chinese: bool) -> None:
    assert isinstance(value, str), f"{where} must be a string"
    assert value.strip() == value, f"{where} has surrounding whitespace"
    assert value, f"{where} is empty"
    assert len(value) <= limit, f"{where} is {len(value)} characters, limit {limit}"
    if chinese:
        assert CJK.search(value), f"{where} must be Chinese"
    else:
        assert value.isascii(), f"{where} must be English (ASCII)"


def _assert_valid_item(item: Any, where: str) -> None:
    assert isinstance(item, dict), f"{where} must be an object"
    assert ITEM_FIELDS <= set(item) <= ITEM_FIELDS | OPTIONAL_ITEM_FIELDS, (
        f"{where} fields: {sorted(set(item) ^ ITEM_FIELDS)}")
    for rule in item.get("satisfied_by", []):
        assert set(rule) <= {"source_role", "kind", "principal_id"}, f"{where}.satisfied_by"
        assert rule["source_role"] == "system", f"{where}.satisfied_by.source_role"
    assert type(item.get("department_may_confirm_directly", False)) is bool, where
    assert item.get("giver", "leaver") in GIVERS, f"{where}.giver"
    assert set(item.get("signers", [])) <= SIGNERS, f"{where}.signers"
    for flag in ("signers_in_order", "urgent"):
        assert type(item.get(flag, False)) is bool, f"{where}.{flag}"
    assert item.get("module", "strategy") in MANAGEMENT_MODULES, f"{where}.module"
    assert isinstance(item["key"], str)
    assert KEBAB_CASE.match(item["key"]), f"{where}.key is not kebab-case ASCII"
    assert item["category"] in CATEGORIES, f"{where}.category {item['category']!r}"
    _assert_text(item["title"], MAX_TITLE, f"{where}.title", chinese=True)
    _assert_text(item["label"], MAX_LABEL, f"{where}.label", chinese=False)
    criteria = item["acceptance_criteria"]
    _assert_text(criteria, MAX_CRITERIA, f"{where}.acceptance_criteria", chinese=True)
    _assert_text(item["criteria_label"], MAX_CRITERIA_LABEL, f"{where}.criteria_label",
                 chinese=False)
    assert item["receiver"] in RECEIVERS, f"{where}.receiver {item['receiver']!r}"
    assert type(item["mandatory"]) is bool, f"{where}.mandatory must be a boolean"
    assert item["priority"] in PRIORITIES, f"{where}.priority {item['priority']!r}"
    offset = item["due_offset_days"]
    assert type(offset) is int, f"{where}.due_offset_days must be an integer"
    assert offset in DUE_OFFSET_RANGE, f"{where}.due_offset_days {offset} out of range"


def test_every_builtin_template_is_present() -> None:
    assert {path.stem for path in TEMPLATE_PATHS} == TEMPLATE_KEYS


@pytest.mark.parametrize("path", TEMPLATE_PATHS, ids=lambda p: p.stem)
def test_template_is_utf8_json_with_two_space_layout(path: Path) -> None:
    text = path.read_bytes().decode("utf-8")
    assert text == json.dumps(_load(path), ensure_ascii=False, indent=2) + "\n"


@pytest.mark.parametrize("path", TEMPLATE_PATHS, ids=lambda p: p.stem)
def test_template_holds_only_strings_integers_and_booleans(path: Path) -> None:
    _assert_only_strings_integers_booleans(_load(path), path.stem)


@pytest.mark.parametrize("path", TEMPLATE_PATHS, ids=lambda p: p.stem)
def test_template_header_matches_schema_and_file_name(path: Path) -> None:
    document = _load(path)
    assert set(document) == TOP_LEVEL_FIELDS
    assert document["key"] == path.stem
    assert document["key"] in TEMPLATE_KEYS
    assert document["role_family"] == document["key"]
    _assert_text(document["name"], MAX_TITLE, "name", chinese=True)
    _assert_text(document["label"], MAX_LABEL, "label", chinese=False)


@pytest.mark.parametrize("path", TEMPLATE_PATHS, ids=lambda p: p.stem)
def test_every_item_matches_schema(path: Path) -> None:
    items = _load(path)["items"]
    assert isinstance(items, list)
    upper = 20 if path.stem == "clearance" else 16
    assert 6 <= len(items) <= upper, f"{len(items)} items"
    for index, item in enumerate(items):
        _assert_valid_item(item, f"{path.stem}.items[{index}]")


@pytest.mark.parametrize("path", TEMPLATE_PATHS, ids=lambda p: p.stem)
def test_item_keys_are_unique_within_template(path: Path) -> None:
    keys = [item["key"] for item in _load(path)["items"]]
    assert len(keys) == len(set(keys)), f"duplicate item keys in {path.stem}"


@pytest.mark.parametrize("path", TEMPLATE_PATHS, ids=lambda p: p.stem)
def test_management_category_is_used_only_by_management_template(path: Path) -> None:
    categories = {item["category"] for item in _load(path)["items"]}
    if path.stem == "management":
        assert categories == {"management"}
    else:
        assert "management" not in categories


def test_management_template_covers_five_modules_with_two_items_each() -> None:
    items = _load(TEMPLATE_DIR / "management.json")["items"]
    per_module = dict.fromkeys(MANAGEMENT_MODULES, 0)
    for item in items:
        module = item["module"]
        prefix = MANAGEMENT_MODULES[module]
        assert item["key"].startswith(prefix) or item["key"] == "laptop-review", item["key"]
        per_module[module] += 1
    assert all(count >= 2 for count in per_module.values()), per_module


def test_only_the_management_template_names_modules() -> None:
    for path in TEMPLATE_PATHS:
        if path.stem != "management":
            assert all("module" not in i for i in _load(path)["items"]), path.stem


def test_clearance_template_involves_it_finance_admin_and_hr() -> None:
    items = _load(TEMPLATE_DIR / "clearance.json")["items"]
    parties = {item["receiver"] for item in items} | {item.get("giver") for item in items}
    assert {"dept:it", "dept:finance", "dept:admin", "hr"} <= parties


# --- issue 9: the checklists corrected against the seeds ------------------------------------

def _items(key: str) -> dict[str, dict[str, Any]]:
    return {i["key"]: i for i in _load(TEMPLATE_DIR / f"{key}.json")["items"]}


@pytest.mark.parametrize("key", sorted(ROLE_FAMILY_KEYS))
def test_every_role_family_reviews_the_laptop_under_the_key_the_wipe_requires(key: str) -> None:
    assert _items(key)["laptop-review"]["mandatory"] is True
    assert _items("clearance")["it-wipe-devices"]["requires"] == ["laptop-review"]


def test_admin_not_it_signs_for_the_collected_computers() -> None:
    clearance = _items("clearance")
    assert "it-collect-devices" not in clearance
    assert clearance["admin-collect-devices"]["receiver"] == "dept:admin"
    assert "需由行政部门签字确认" in clearance["admin-collect-devices"]["acceptance_criteria"]


def test_archiving_happens_after_close_so_it_is_no_gate_item() -> None:
    assert "hr-archive" not in _items("clearance")


def test_finance_gives_the_final_settlement_and_hr_the_confidentiality_notice() -> None:
    clearance = _items("clearance")
    assert (clearance["finance-final-settlement"]["giver"],
            clearance["finance-final-settlement"]["receiver"]) == ("dept:finance", "leaver")
    assert (clearance["hr-confidentiality-notice"]["giver"],
            clearance["hr-confidentiality-notice"]["receiver"]) == ("hr", "leaver")


def test_sales_splits_orders_from_receivables_and_drops_the_clearance_duplicates() -> None:
    sales = _items("sales")
    assert next(iter(sales)) == "projects-in-progress"
    assert (sales["open-orders"]["receiver"], sales["receivables"]["receiver"]) == (
        "successor", "dept:finance")
    assert "internal-key-contacts" in sales
    for gone in ("open-orders-receivables", "unfiled-reimbursements", "company-phone-wecom"):
        assert gone not in sales
    assert not any("报销" in i["title"] or "手机" in i["title"] for i in sales.values())


def test_the_technician_may_hand_the_site_over_remotely_and_archives_client_communication(
        ) -> None:
    technical = _items("technical")
    assert "recorded_walkthrough" in technical["on-site-handover"]["acceptance_criteria"]
    assert technical["client-communication-archive"]["signers"] == ["receiver", "manager"]
    assert technical["code-repository-access"]["urgent"] is True


def test_management_strategy_is_signed_by_the_successor_within_three_working_days() -> None:
    management = _items("management")
    for key in ("strategy-plan-and-okr", "strategy-map-and-rationale"):
        assert management[key]["receiver"] == "successor"
        assert management[key]["confirm_within_working_days"] == 3
    matrix = management["financial-authority-approval-matrix"]
    assert "successor" in matrix["signers"]
    assert "逐条签字确认" in management["core-projects-risk-register"]["acceptance_criteria"]


def test_the_general_checklist_hands_over_the_job_description() -> None:
    general = _items("general")
    assert "岗位职责说明书" in general["job-description"]["acceptance_criteria"]
    assert {"unfinished-tasks", "work-items", "laptop-review"} <= set(general)


@pytest.mark.parametrize("key", sorted(TEMPLATE_KEYS))
def test_every_builtin_checklist_installs_as_a_define_template_command(key: str) -> None:
    from ledger.service.commands import DefineTemplate

    assert DefineTemplate(**_load(TEMPLATE_DIR / f"{key}.json")).key == key
