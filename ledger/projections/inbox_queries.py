"""Inboxes and department queues, read from the board: what someone must do now, oldest
first — submit or resubmit an item, confirm one (as its receiver or one of its signers),
answer a question, approve a step, sign the handover confirmation, state in a dispute; for a
case's HR owner, close it or waive what nobody active can receive; for HR, accept or decline
a leaver's request.

Everything listed is something its reader takes part in, so it reads nothing it could not
read today; a department queue is read by that department's role and by HR.
"""

from __future__ import annotations

from typing import Any

import orjson

from ledger.errors import ForbiddenError
from ledger.projections.board import case_columns, entry_key, tables
from ledger.projections.board_entries import ACCEPTED
from ledger.projections.board_queries import Wait, board_position
from ledger.service.context import Actor
from ledger.store.principal_port import PrincipalStore
from ledger.store.projection_port import ProjectionStore

QUEUE_ROLES = {"it": "it", "finance": "finance", "admin": "admin"}


def _oldest_first(entry: dict[str, Any]) -> tuple[bool, str, str]:
    """Entries with a moment first, oldest first; then the rest, by case."""
    return entry["since"] == "", entry["since"], entry["departure_id"]


def _entry(action: str, row: dict[str, Any], since: str | None, **more: Any) -> dict[str, Any]:
    return {"action": action, "departure_id": row["departure_id"],
            "leaver": row.get("leaver_name"), "since": since or "", **more}


def _marks(count: int, first: int = 1) -> str:
    return ", ".join(f"${n}" for n in range(first, first + count))


async def _item_actions(store: ProjectionStore, t: dict[str, str], ids: list[str],
                        first: int | None = None) -> list[dict[str, Any]]:
    """The reader's entries on items (``board_entries``' phase 0: submit, resubmit, confirm,
    answer a question) in their key's order, read by their parties' key: what they must do,
    not every open item they take part in; with ``first``, at least the first ``first`` of
    them (all there are when fewer). An action several of ``ids`` share is listed once."""
    # an action is stored once for each of ``ids`` it concerns: enough rows for ``first``
    page = "" if first is None else (
        f" ORDER BY {entry_key(store.dialect)} LIMIT {int(first) * len(ids)}")
    rows = await store.fetch(
        "SELECT e.action, e.undated, e.since, e.departure_id, e.item_id, e.step, "
        f"i.title, i.label, i.due_date, d.leaver_name FROM (SELECT * FROM {t['entries']} "
        f"WHERE party IN ({_marks(len(ids))}) AND phase = 0{page}) e "
        f"JOIN {t['items']} i ON i.item_id = e.item_id "
        f"JOIN {t['departures']} d ON d.departure_id = e.departure_id", *ids)
    # sorted (again) and made distinct here: the database's would compare the titles too,
    # in its locale
    rows.sort(key=lambda r: (r["undated"], r["since"], r["departure_id"], r["item_id"],
                             r["step"]))
    found, seen = [], set()
    for row in rows:
        if (row["item_id"], row["action"]) not in seen:
            seen.add((row["item_id"], row["action"]))
            found.append(_entry(row["action"], row, row["since"], item_id=row["item_id"],
                                title=row["title"], label=row["label"],
                                due_date=row["due_date"]))
    return found


async def _case_actions(store: ProjectionStore, t: dict[str, str], actor: Actor,
                        ids: list[str]) -> list[dict[str, Any]]:
    marks = ", ".join(f"${n}" for n in range(2, len(ids) + 2))
    # only open cases that can give an action: waiting for the reader's approval, or with
    # every mandatory item done (an HR owner's open cases are many, nearly all still handing
    # over); then whether the reader takes part, case by case (the cases the reader ever
    # owned or received items of grow with history, the open ones do not)
    accepted = ", ".join(f"'{state}'" for state in ACCEPTED)
    rows = await store.fetch(
        f"SELECT {case_columns('d')} FROM {t['departures']} d WHERE d.open = 1 "
        f"AND (d.waiting_for IN ({marks}) OR (d.state IN ({accepted}) "
        "AND d.mandatory_done = d.mandatory_total)) AND (d.waiting_for IN "
        f"({marks}) OR d.hr_owner_id = $1 OR d.leaver_id = $1 OR EXISTS (SELECT 1 FROM "
        f"{t['items']} i WHERE i.departure_id = d.departure_id AND i.receiver IN ({marks})))",
        actor.id, *ids)
    found = []
    for row in rows:
        doc = orjson.loads(row["doc"])
        if row["waiting_for"] in ids:
            found.append(_entry("approve", row, doc["started_at"],
                                step=doc["approval"]["approved"]))
        all_done = row["state"] in ACCEPTED and row["mandatory_done"] == row["mandatory_total"]
        if all_done and actor.id not in doc["confirmation_signed_by"]:
            found.append(_entry("sign_confirmation", row, None))
        if all_done and row["hr_owner_id"] == actor.id and row["state"] == "handing_over":
            found.append(_entry("close", row, None))
    return found


async def _checklist_actions(store: ProjectionStore, t: dict[str, str],
                             actor: Actor) -> list[dict[str, Any]]:
    """The checklists the approval left to the HR owner on their open cases, not applied
    since: one entry each, its key (``template_key``, as HR applies it) and why."""
    rows = await store.fetch(
        f"SELECT d.departure_id, d.leaver_name, d.skipped FROM {t['departures']} d "
        "WHERE d.hr_owner_id = $1 AND d.skipped IS NOT NULL AND d.open = 1", actor.id)
    return [_entry("apply_checklist", row, None, template_key=skipped["key"],
                   reason=skipped["reason"])
            for row in rows for skipped in orjson.loads(row["skipped"])]


async def _waive_actions(store: ProjectionStore, principals: PrincipalStore,
                         t: dict[str, str], actor: Actor) -> list[dict[str, Any]]:
    """Mandatory open items of the HR owner's cases whose receiver is no longer active: their
    receivers first (an HR owner's cases hold hundreds of such items but name a few dozen
    receivers, nearly always all active), then the items of the inactive ones only."""
    mine = (f"FROM {t['items']} i JOIN {t['departures']} d ON d.departure_id = i.departure_id "
            "WHERE d.open = 1 AND d.hr_owner_id = $1 AND i.open = 1 AND i.mandatory = 1 "
            "AND i.receiver NOT LIKE 'dept:%'")
    receivers = {r["receiver"] for r in await store.fetch(
        f"SELECT DISTINCT i.receiver {mine}", actor.id)}
    inactive = sorted(await principals.inactive_among(receivers))
    if not inactive:
        return []
    marks = ", ".join(f"${n}" for n in range(2, len(inactive) + 2))
    rows = await store.fetch(
        "SELECT i.item_id, i.departure_id, i.title, i.receiver, i.due_date, i.label, "
        f"d.leaver_name {mine} AND i.receiver IN ({marks})", actor.id, *inactive)
    return [_entry("waive", row, row["due_date"], item_id=row["item_id"], title=row["title"],
                   label=row["label"], receiver=row["receiver"]) for row in rows]


async def _dispute_actions(store: ProjectionStore, t: dict[str, str],
                           actor: Actor) -> list[dict[str, Any]]:
    rows = await store.fetch(
        f"SELECT x.dispute_id, x.departure_id, x.doc, d.leaver_id, d.leaver_name FROM "
        f"{t['disputes']} x JOIN {t['departures']} d ON d.departure_id = x.departure_id "
        "WHERE x.state = 'open'")
    docs = [orjson.loads(row["doc"]) for row in rows]
    disputed = sorted({i for doc in docs for i in doc["item_ids"]})
    # of the disputed items, those the reader received (not every item they ever received)
    received: set[str] = set()
    for at in range(0, len(disputed), 500):
        chunk = disputed[at:at + 500]
        received |= {r["item_id"] for r in await store.fetch(
            f"SELECT item_id FROM {t['items']} WHERE receiver = $1 "
            f"AND item_id IN ({_marks(len(chunk), 2)})", actor.id, *chunk)}
    found = []
    for row, doc in zip(rows, docs, strict=True):
        if actor.id in doc["stated_by"]:
            continue
        concerned = received & set(doc["item_ids"])
        if actor.id in (row["leaver_id"], doc["raised_by"]) or concerned:
            found.append(_entry("state_in_dispute", row, doc["raised_at"],
                                dispute_id=row["dispute_id"]))
    return found


async def _item_count(store: ProjectionStore, t: dict[str, str], ids: list[str]) -> int:
    rows = await store.fetch(
        f"SELECT count(*) AS n FROM (SELECT DISTINCT item_id, action FROM {t['entries']} "
        f"WHERE party IN ({_marks(len(ids))}) AND phase = 0) z", *ids)
    return int(rows[0]["n"])


async def inbox(store: ProjectionStore, principals: PrincipalStore, actor: Actor,
                wait: Wait | None = None, *, limit: int | None = None,
                offset: int = 0) -> dict[str, Any]:
    """What ``actor`` must do now, oldest first: the page ``limit``/``offset`` asks for
    (every entry when ``limit`` is None) and ``total``, how many entries there are. Entries
    on items, which grow with what the reader takes part in, are read up to the page's end
    only: they are in the inbox's order, in which the others (a few: cases to approve, sign
    or close, items to waive, requests, disputes) are merged after them at equal keys."""
    where = await board_position(store, wait)
    t = tables(where.generation)
    ids = sorted(actor.acting_for())
    first = None if limit is None else offset + limit
    entries = await _item_actions(store, t, ids, first)
    total = len(entries) if first is None or len(entries) < first else (
        await _item_count(store, t, ids))  # fewer than asked for: they are all there are
    others = len(entries)
    entries += await _case_actions(store, t, actor, ids)
    if actor.role == "hr":
        # HR's work: not shown to an HR owner acting in another role
        entries += await _checklist_actions(store, t, actor)
        entries += await _waive_actions(store, principals, t, actor)
        entries += [_entry("accept_or_decline", row, orjson.loads(row["doc"])["started_at"])
                    for row in await store.fetch(
                        f"SELECT d.departure_id, d.leaver_name, d.doc FROM {t['departures']} d "
                        "WHERE d.state = 'requested' AND d.leaver_id <> $1", actor.id)]
    entries += await _dispute_actions(store, t, actor)
    total += len(entries) - others
    entries.sort(key=_oldest_first)
    page = entries if limit is None else entries[offset:offset + limit]
    return {"position": where.position, "items": page, "total": total}


def _queue_page(t: dict[str, str], dialect: str, limit: int | None, offset: int) -> str:
    """Queue $1's entries from ``offset`` (``limit`` of them; all when None), in the key's
    order: one range of the key's index, then the page's items and cases by their keys."""
    page = "" if limit is None else f" LIMIT {int(limit)} OFFSET {int(offset)}"
    keys = (f"SELECT * FROM {t['entries']} WHERE party = $1 "
            f"ORDER BY {entry_key(dialect)}{page}")
    return ("SELECT e.action, e.since, e.item_id, e.departure_id, i.title, i.state, "
            f"i.due_date, i.label, d.leaver_name, ({_count(t)}) AS total FROM ({keys}) e "
            f"JOIN {t['items']} i ON i.item_id = e.item_id JOIN {t['departures']} d "
            "ON d.departure_id = e.departure_id "
            f"ORDER BY {entry_key(dialect, 'e.')}")


def _count(t: dict[str, str]) -> str:
    return f"SELECT count(*) AS n FROM {t['entries']} WHERE party = $1"


def _queue_entry(row: dict[str, Any]) -> dict[str, Any]:
    more = {"item_id": row["item_id"], "title": row["title"], "label": row["label"],
            "due_date": row["due_date"]}
    if row["action"] == "awaiting_giver":
        more["state"] = row["state"]
    return {"action": row["action"], "departure_id": row["departure_id"],
            "leaver": row["leaver_name"], "since": row["since"], **more}


async def department_queue(store: ProjectionStore, actor: Actor, department: str,
                           wait: Wait | None = None, *, limit: int | None = None,
                           offset: int = 0) -> dict[str, Any]:
    """The open items a department queue gives, receives or must sign, oldest first: the
    page ``limit``/``offset`` asks for (every entry when ``limit`` is None) and ``total``,
    how many entries the queue holds."""
    queue = f"dept:{department}"
    if actor.role != "hr" and QUEUE_ROLES.get(department) != actor.role:
        raise ForbiddenError(f"only HR and the {department} department read its queue")
    where = await board_position(store, wait)
    t = tables(where.generation)
    rows = await store.fetch(_queue_page(t, store.dialect, limit, offset), queue)
    if rows:
        total = int(rows[0]["total"])
    elif offset:  # past the last entry: how many there are
        total = int((await store.fetch(_count(t), queue))[0]["n"])
    else:
        total = 0
    return {"position": where.position, "department": department,
            "items": [_queue_entry(r) for r in rows], "total": total}
