"""Template: content hashes, revisions, the reference a departure records, key-derived ids."""

import hashlib
import uuid
from typing import Any

import pytest
import rfc8785

from ledger.aggregates.template import (
    TEMPLATE_NAMESPACE,
    Template,
    hash_template_content,
    template_id_for,
)
from ledger.canonical import JSONObject

ITEMS: list[JSONObject] = [
    {"key": "clients", "category": "clients", "title": "Client list", "label": "客户清单",
     "mandatory": True, "receiver": "successor", "due_offset_days": -3},
    {"key": "laptop", "category": "assets", "title": "Laptop", "label": "笔记本电脑",
     "mandatory": True, "receiver": "dept:it", "due_offset_days": 0},
]


def topic(domain_event: object) -> str:
    return str(getattr(type(domain_event), "TOPIC"))  # noqa: B009 - TOPIC is set by @event


def define(key: str = "sales", items: list[JSONObject] | None = None) -> Template:
    return Template.define(key, "sales", "Sales handover", "销售岗位交接",
                           ITEMS if items is None else items, author="hr-li")


def test_content_hash_is_the_sha256_of_the_canonical_content() -> None:
    # Expected value computed independently: SHA-256 over rfc8785.dumps of the content object.
    content: dict[str, Any] = {"key": "sales", "role_family": "sales",
                               "name": "Sales handover", "label": "销售岗位交接", "items": ITEMS}
    expected = hashlib.sha256(rfc8785.dumps(content)).hexdigest()

    assert hash_template_content("sales", "sales", "Sales handover", "销售岗位交接",
                                 ITEMS) == expected


def test_content_hash_is_deterministic_and_independent_of_key_order() -> None:
    reordered = [dict(reversed(list(item.items()))) for item in ITEMS]

    first = hash_template_content("sales", "sales", "n", "l", ITEMS)
    again = hash_template_content("sales", "sales", "n", "l", ITEMS)
    from_reordered = hash_template_content("sales", "sales", "n", "l", reordered)

    assert first == again == from_reordered
    assert len(first) == 64
    assert first == first.lower()


@pytest.mark.parametrize("change", [
    pytest.param({"key": "sales2"}, id="key"),
    pytest.param({"role_family": "technical"}, id="role family"),
    pytest.param({"name": "Sales handover v2"}, id="name"),
    pytest.param({"label": "销售交接"}, id="label"),
    pytest.param({"items": ITEMS[:1]}, id="item removed"),
    pytest.param({"items": list(reversed(ITEMS))}, id="items reordered"),
    pytest.param({"items": [{**ITEMS[0], "mandatory": False}, ITEMS[1]]}, id="item flag"),
])
def test_content_hash_changes_with_the_content(change: dict[str, Any]) -> None:
    base: dict[str, Any] = {"key": "sales", "role_family": "sales", "name": "Sales handover",
                            "label": "销售岗位交接", "items": ITEMS}

    assert hash_template_content(**{**base, **change}) != hash_template_content(**base)


def test_defining_a_template_records_its_content_and_hash_at_revision_one() -> None:
    template = define()

    [created] = template.collect_events()
    assert topic(created) == "TemplateCreated"
    assert template.revision == 1
    assert template.content_hash == hash_template_content(
        "sales", "sales", "Sales handover", "销售岗位交接", ITEMS)
    assert vars(created)["content_hash"] == template.content_hash
    assert vars(created)["items"] == ITEMS


def test_each_revision_increments_the_revision_and_records_the_new_hash() -> None:
    template = define()
    template.collect_events()
    first_hash = template.content_hash

    template.revise("Sales handover", "销售岗位交接 v2", ITEMS[:1], author="hr-li")
    template.revise("Sales handover", "销售岗位交接 v3", ITEMS, author="hr-li")

    assert template.revision == 3
    assert template.label == "销售岗位交接 v3"
    assert template.key == "sales"
    assert template.role_family == "sales"
    revised = template.collect_events()
    assert [topic(e) for e in revised] == ["TemplateRevised", "TemplateRevised"]
    assert [vars(e)["revision"] for e in revised] == [2, 3]
    hashes = [vars(e)["content_hash"] for e in revised]
    assert hashes == [
        hash_template_content("sales", "sales", "Sales handover", "销售岗位交接 v2", ITEMS[:1]),
        hash_template_content("sales", "sales", "Sales handover", "销售岗位交接 v3", ITEMS),
    ]
    assert len({first_hash, *hashes}) == 3
    assert template.content_hash == hashes[-1]


def test_reference_names_the_id_key_revision_and_content_hash() -> None:
    template = define()

    assert template.reference() == {
        "id": str(template_id_for("sales")), "key": "sales", "revision": 1,
        "content_hash": template.content_hash,
    }


def test_reference_follows_the_latest_revision() -> None:
    template = define()
    template.revise("Sales handover", "new label", ITEMS, author="hr-li")

    reference = template.reference()

    assert reference["revision"] == 2
    assert reference["content_hash"] == template.content_hash
    assert reference["id"] == str(template_id_for("sales"))


def test_template_id_is_the_uuid5_of_the_key_in_the_template_namespace() -> None:
    assert template_id_for("sales") == uuid.uuid5(TEMPLATE_NAMESPACE, "template:sales")
    assert template_id_for("sales").version == 5
    assert template_id_for("sales") == template_id_for("sales")
    assert template_id_for("sales") != template_id_for("clearance")


def test_templates_are_addressed_by_their_key() -> None:
    assert define("sales").id == template_id_for("sales")
    assert define("sales").id == define("sales").id
    assert define("clearance").id == template_id_for("clearance")
