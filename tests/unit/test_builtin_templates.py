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
TEMPLATE_KEYS = {"sales", "technical", "admin", "finance", "management", "clearance"}
TOP_LEVEL_FIELDS = {"key", "role_family", "name", "label", "items"}
ITEM_FIELDS = {
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
RECEIVERS = {"successor", "manager", "hr", "dept:it", "dept:finance", "dept:admin"}
PRIORITIES = {"low", "normal", "high", "critical"}
MANAGEMENT_MODULES = (
    "strategy-",
    "core-projects-",
    "team-",
    "financial-authority-",
    "legal-compliance-",
)
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
    optional = {"satisfied_by", "department_may_confirm_directly"}
    assert ITEM_FIELDS <= set(item) <= ITEM_FIELDS | optional, (
        f"{where} fields: {sorted(set(item) ^ ITEM_FIELDS)}")
    for rule in item.get("satisfied_by", []):
        assert set(rule) <= {"source_role", "kind", "principal_id"}, f"{where}.satisfied_by"
        assert rule["source_role"] == "system", f"{where}.satisfied_by.source_role"
    assert type(item.get("department_may_confirm_directly", False)) is bool, where
    assert isinstance(item["key"], str)
    assert KEBAB_CASE.match(item["key"]), f"{where}.key is not kebab-case ASCII"
    assert item["category"] in CATEGORIES, f"{where}.category {item['category']!r}"
    _assert_text(item["title"], MAX_TITLE, f"{where}.title", chinese=True)
    _assert_text(item["label"], MAX_LABEL, f"{where}.label", chinese=False)
    criteria = item["acceptance_criteria"]
    _assert_text(criteria, MAX_CRITERIA, f"{where}.acceptance_criteria", chinese=True)
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
    upper = 20 if path.stem == "clearance" else 12
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
        modules = [m for m in MANAGEMENT_MODULES if item["key"].startswith(m)]
        assert len(modules) == 1, f"{item['key']} does not belong to exactly one module"
        per_module[modules[0]] += 1
    assert all(count >= 2 for count in per_module.values()), per_module


def test_clearance_template_involves_it_finance_admin_and_hr() -> None:
    receivers = {item["receiver"] for item in _load(TEMPLATE_DIR / "clearance.json")["items"]}
    assert {"dept:it", "dept:finance", "dept:admin", "hr"} <= receivers
