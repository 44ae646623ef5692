"""Template: a versioned checklist per role family, or the cross-department clearance.

A departure records the template id, revision and content hash it applied, so an auditor can
show exactly which checklist produced its items. Each revision records its author, so a leaver
who weakened a checklist cannot have it applied to their own case.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence

from eventsourcing.domain import Aggregate, event

from ledger.canonical import JSONObject, encode_canonical

TEMPLATE_FAMILIES = ("sales", "technical", "admin", "finance", "management", "clearance",
                     "general")  # 002 "工作物品、未完成任务、岗位职责"
# --- who may give a checklist item, and who may sign it, as resolved when
# the checklist is applied (the case's leaver, successor, manager, HR owner, the item's receiver,
# or a department queue). Finance prepares the final settlement that the leaver acknowledges;
# HR gives the confidentiality notice the leaver signs for.
ITEM_GIVERS = ("leaver", "hr", "manager", "dept:it", "dept:finance", "dept:admin")
ITEM_SIGNERS = ("receiver", "successor", "manager", "hr", "leaver",
                "dept:it", "dept:finance", "dept:admin")
TEMPLATE_NAMESPACE = uuid.UUID("6f0c6a8e-1f7b-5c43-9d0e-4c6b1d9a2e10")


def template_id_for(key: str) -> uuid.UUID:
    """Templates are addressed by key: the stream id is derived from it (UUIDv5)."""
    return uuid.uuid5(TEMPLATE_NAMESPACE, f"template:{key}")


def hash_template_content(
    key: str, role_family: str, name: str, label: str, items: Sequence[JSONObject]
) -> str:
    """Return the hex SHA-256 of the template's canonical content (what its items say)."""
    content: JSONObject = {"key": key, "role_family": role_family, "name": name, "label": label,
               "items": list(items)}
    return hashlib.sha256(encode_canonical(content)).hexdigest()


class Template(Aggregate):
    """A checklist; every revision is an event, earlier revisions stay provable."""

    TOPIC = "Template"

    @staticmethod
    def create_id(key: str) -> uuid.UUID:
        """One stream per template key."""
        return template_id_for(key)

    @event("Created", topic="TemplateCreated")
    def __init__(
        self, key: str, role_family: str, name: str, label: str,
        items: list[JSONObject], content_hash: str, author: str | None = None,
    ) -> None:
        self.key = key
        self.role_family = role_family
        self.name = name
        self.label = label
        self.items = items
        self.content_hash = content_hash
        self.author = author
        self.revision = 1

    @classmethod
    def define(cls, key: str, role_family: str, name: str, label: str,
               items: list[JSONObject], author: str) -> Template:
        """Create a template, computing its content hash."""
        content_hash = hash_template_content(key, role_family, name, label, items)
        return cls(key=key, role_family=role_family, name=name, label=label, items=items,
                   content_hash=content_hash, author=author)

    def revise(self, name: str, label: str, items: list[JSONObject], author: str) -> None:
        """Record a new revision of the checklist, written by ``author``."""
        content_hash = hash_template_content(self.key, self.role_family, name, label, items)
        self._revised(name=name, label=label, items=items, content_hash=content_hash,
                      revision=self.revision + 1, author=author)

    @event("Revised", topic="TemplateRevised")
    def _revised(self, name: str, label: str, items: list[JSONObject], content_hash: str,
                 revision: int, author: str | None) -> None:
        self.author = author
        self.name = name
        self.label = label
        self.items = items
        self.content_hash = content_hash
        self.revision = revision

    def reference(self) -> JSONObject:
        """Return what a departure records when it applies this revision."""
        return {"id": str(self.id), "key": self.key, "revision": self.revision,
                "content_hash": self.content_hash}
