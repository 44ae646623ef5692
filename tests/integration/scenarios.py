"""Ledger histories several test modules write, made through the real use cases."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from typing import NamedTuple

from ledger.errors import ConflictError
from ledger.principals import Principal
from ledger.service import commands as c
from ledger.service.context import Actor
from ledger.service.ledger import CommandOutcome, Ledger
from ledger.store.principal_port import PrincipalStore


class CommentedItem(NamedTuple):
    """The item ``item_with_comments`` made, and the outcome of each comment in order."""

    item_id: uuid.UUID
    comments: list[CommandOutcome]

    @property
    def comment_hashes(self) -> list[bytes]:
        """The event hash of each comment, in order."""
        return [bytes.fromhex(done.body["events"][0]["hash"])  # type: ignore[index]
                for done in self.comments]


async def add_people(principals: PrincipalStore, people: Mapping[str, tuple[str, ...]]) -> None:
    """Create the principals a case will name (id → roles), keeping any that exist."""
    for principal_id, roles in people.items():
        with contextlib.suppress(ConflictError):
            await principals.add_principal(Principal(principal_id, principal_id, roles))


async def item_with_comments(ledger: Ledger, hr: Actor, count: int,
                             text: str = "comment {n}",
                             principals: PrincipalStore | None = None) -> CommentedItem:
    """A departure (wang.lei, managed by li.qiang, owned by ``hr``) submitted for approval, with
    one ad-hoc item commented on ``count`` times (``text`` formatted with ``n``): 4 + ``count``
    events, the item's chain ``count`` + 1 long. With ``principals``, the people it names are
    created first (a runtime's ledger accepts only known principals in a case)."""
    if principals is not None:
        await add_people(principals, {"wang.lei": ("employee",), "li.qiang": ("employee",),
                                      "zhao.min": ("employee",), hr.id: ("hr",)})
    started = await ledger.execute(c.StartDeparture(
        leaver=c.Leaver(id="wang.lei", name="王磊", department="Sales", position="Manager",
                        role_family="sales"),
        manager_id="li.qiang", hr_owner_id=hr.id, notice_date="2026-11-01",
        last_working_day="2026-11-30", reason="resigned"), hr)
    departure_id = started.result["departure_id"]
    await ledger.execute(c.SubmitForApproval(departure_id=departure_id), hr)
    added = await ledger.execute(c.AddItem(departure_id=departure_id, category="clients",
                                           title="客户资料", receiver="zhao.min"), hr)
    item_id = uuid.UUID(str(added.result["item_id"]))
    comments = [await ledger.execute(c.CommentItem(item_id=item_id, text=text.format(n=n)), hr)
                for n in range(count)]
    return CommentedItem(item_id, comments)
