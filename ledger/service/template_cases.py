"""Use cases on checklist templates, and installing the built-in ones."""

from __future__ import annotations

import json
from importlib import resources

from ledger.aggregates.template import Template, hash_template_content, template_id_for
from ledger.canonical import JSONObject
from ledger.errors import NotFoundError
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.policy import require_template_author
from ledger.service.unit_of_work import UnitOfWork


async def define_template(cmd: c.DefineTemplate, actor: Actor, uow: UnitOfWork) -> JSONObject:
    """Create the template with this key, or record a new revision if its content changed."""
    require_template_author(actor)
    items: list[JSONObject] = [i.model_dump(exclude_defaults=True) for i in cmd.items]
    try:
        template = await uow.get(Template, template_id_for(cmd.key), fresh=True)
    except NotFoundError:
        template = Template.define(cmd.key, cmd.role_family, cmd.name, cmd.label, items,
                                   author=actor.id)
        uow.add(template)
        return {**template.reference(), "changed": True}
    changed = hash_template_content(
        cmd.key, template.role_family, cmd.name, cmd.label, items) != template.content_hash
    if changed:
        template.revise(cmd.name, cmd.label, items, author=actor.id)
    return {**template.reference(), "changed": changed}


def builtin_template_commands() -> list[c.DefineTemplate]:
    """The checklists shipped in ``ledger/templates/*.json``, validated as commands."""
    folder = resources.files("ledger").joinpath("templates")
    out = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".json"):
            data = json.loads(entry.read_text(encoding="utf-8"))
            out.append(c.DefineTemplate(**data))
    return out
