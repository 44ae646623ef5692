"""The departure board projection: one row per case, per item and per dispute, as of the
projection's log position, for the board of a case, the HR dashboard, inboxes and queues.

Aggregates are folded event by event from the log (``ledger.projections.fold``), so every row
is exactly the aggregate as of the position, never a newer state; the case's figures over its
items (done, blocking, next due, oldest rejection) are recomputed in SQL when a batch touched
the case.
"""

from __future__ import annotations

import pickle
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ledger.aggregates.departure import ENDED_STATES, Departure
from ledger.aggregates.dispute import Dispute
from ledger.aggregates.item import HandoverItem
from ledger.entry import Entry
from ledger.projections.board_entries import (
    CLOSED,
    ENTRY_COLUMNS,
    ENTRY_KEY,
    ITEM_INPUTS,
    CaseGate,
    EntryRow,
    ItemInputs,
    case_gate,
    item_entries,
    item_inputs,
)
from ledger.projections.board_rows import (
    ACCOUNTS,
    departure_columns,
    dispute_columns,
    item_columns,
    new_extras,
    update_extras,
)
from ledger.projections.fold import CAPACITY, Folder
from ledger.store.projection_port import LoggedEvent, ProjectionTx

NAME = "board"


def tables(generation: int) -> dict[str, str]:
    """The physical names of the board's tables in ``generation``."""
    return {"departures": f"board_departures_g{generation}",
            "items": f"board_items_g{generation}",
            "disputes": f"board_disputes_g{generation}",
            "parties": f"board_parties_g{generation}",
            "entries": f"board_entries_g{generation}"}


ITEM_COLUMNS = ("item_id", "departure_id", "category", "title", "state", "giver_id",
                "receiver", "mandatory", "open", "due_date", "confirm_by", "rejected_at",
                "signers", "pending_signers", "urgent", "submitted_at", "questions_to", "label",
                "doc")
DEPARTURE_COLUMNS = ("departure_id", "state", "leaver_id", "leaver_name", "department",
                     "hr_owner_id", "manager_id", "last_working_day", "waiting_for", "open",
                     "started_at", "closed_at", "skipped", "whole", "doc")
DISPUTE_COLUMNS = ("dispute_id", "departure_id", "state", "doc")
# What the dashboard, boards and inboxes read of a case: every column but ``whole`` and
# ``skipped`` (its HR owner's inbox only reads that).
CASE_COLUMNS = (*DEPARTURE_COLUMNS[:-3], "items_total", "mandatory_total", "mandatory_done",
                "next_due", "accounts_open", "oldest_rejection", "risk_near", "risk_overdue",
                "risk_accounts", "risk_rejected", "doc")


def entry_key(dialect: str, alias: str = "") -> str:
    """The entries' order (``ENTRY_KEY``), its text compared as Python compares strings
    (code points: PostgreSQL's "C" collation, SQLite's default), for the key's index and
    the queries it serves, which must name it alike."""
    collate = ' COLLATE "C"' if dialect == "postgres" else ""
    return ", ".join(f"{alias}{c}{collate if c in _TEXT_KEY else ''}" for c in ENTRY_KEY)


_TEXT_KEY = ("since", "departure_id", "item_id")


async def _rows_where_in(tx: ProjectionTx, select: str, column: str,
                         values: Sequence[str]) -> list[dict[str, Any]]:
    """The rows of ``select`` whose ``column`` is one of ``values``, asked 500 at a time (a
    statement's parameters are bounded)."""
    rows: list[dict[str, Any]] = []
    for at in range(0, len(values), 500):
        chunk = values[at:at + 500]
        marks = ", ".join(f"${n}" for n in range(1, len(chunk) + 1))
        rows += await tx.fetch(f"{select} WHERE {column} IN ({marks})", *chunk)
    return rows


def case_columns(alias: str) -> str:
    """``CASE_COLUMNS`` of the departures table named ``alias`` in a query."""
    return ", ".join(f"{alias}.{c}" for c in CASE_COLUMNS)


def _upsert(table: str, columns: tuple[str, ...]) -> str:
    values = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values}) "
            f"ON CONFLICT ({columns[0]}) DO UPDATE SET {updates}")


def _row(values: dict[str, Any], columns: tuple[str, ...]) -> list[object]:
    return [orjson.dumps(values[c]).decode() if c == "doc" else values[c] for c in columns]


class BoardProjector:
    """Projects departures, items and disputes into the board's tables."""

    name = NAME

    def __init__(self, capacity: int = CAPACITY) -> None:
        """``capacity``: how many aggregates the folder keeps, and how many items' written
        state (LRU each; LEDGER_BOARD_CACHE_SIZE)."""
        self.capacity = capacity
        self.folder = Folder(capacity)
        self._items: dict[str, dict[str, Any]] = {}
        self._departures: dict[str, dict[str, Any]] = {}
        self._disputes: dict[str, dict[str, Any]] = {}
        self._touched: set[str] = set()
        self._stored: dict[str, _Stored] = {}
        self._versions: dict[str, int] = {}
        # What this projector last wrote of recent items, by (generation, item id): the
        # version it is as of, and the stored state a later batch starts from (read again when
        # the item's next event is not the version after it, as after another process wrote).
        # Packed (``_pack``): 10,000 of them as objects were 50,000 for the collector to walk.
        self._written: OrderedDict[tuple[int, str], tuple[int, bytes]] = OrderedDict()

    def held(self) -> dict[str, tuple[int, int]]:
        """What this projector keeps in memory, by cache: entries and packed bytes."""
        return {"board_folded": self.folder.held(),
                "board_written": (len(self._written),
                                  sum(len(w[1]) for w in self._written.values()))}

    def shape_probe(self, generation: int) -> str:
        """Fails on tables an earlier release made without the columns this one reads (the
        runner then rebuilds them)."""
        t = tables(generation)
        return (f"SELECT d.risk_near, d.risk_overdue, d.risk_accounts, d.risk_rejected, "
                f"d.whole, d.skipped, i.label, i.signers FROM {t['departures']} d, {t['items']} i "
                "WHERE 1 = 0")

    def schema(self, dialect: str, generation: int) -> list[str]:
        t = tables(generation)
        return [
            f"""CREATE TABLE IF NOT EXISTS {t['departures']} (
                departure_id TEXT PRIMARY KEY, state TEXT NOT NULL, leaver_id TEXT NOT NULL,
                leaver_name TEXT NOT NULL, department TEXT NOT NULL,
                hr_owner_id TEXT NOT NULL, manager_id TEXT NOT NULL,
                last_working_day TEXT NOT NULL, waiting_for TEXT, open INTEGER NOT NULL,
                items_total INTEGER NOT NULL DEFAULT 0,
                mandatory_total INTEGER NOT NULL DEFAULT 0,
                mandatory_done INTEGER NOT NULL DEFAULT 0,
                next_due TEXT, accounts_open INTEGER NOT NULL DEFAULT 0,
                oldest_rejection TEXT, started_at TEXT NOT NULL, closed_at TEXT,
                risk_near TEXT, risk_overdue TEXT, risk_accounts TEXT, risk_rejected TEXT,
                skipped TEXT, whole TEXT NOT NULL, doc TEXT NOT NULL)""",
            # the dashboard ranks open cases from this index alone (their order's keys and
            # the risk rules' inputs: ``board_queries._ranked``)
            f"CREATE INDEX IF NOT EXISTS {t['departures']}_open "
            f"ON {t['departures']} (open, last_working_day, departure_id, risk_near, "
            "risk_overdue, risk_accounts, risk_rejected)",
            f"CREATE INDEX IF NOT EXISTS {t['departures']}_started "
            f"ON {t['departures']} (started_at, departure_id)",
            f"CREATE INDEX IF NOT EXISTS {t['departures']}_owner "
            f"ON {t['departures']} (hr_owner_id)",
            # open cases with checklists the approval left to their HR owner (a few: every
            # HR inbox reads them)
            f"CREATE INDEX IF NOT EXISTS {t['departures']}_skipped "
            f"ON {t['departures']} (hr_owner_id) WHERE skipped IS NOT NULL AND open = 1",
            f"CREATE INDEX IF NOT EXISTS {t['departures']}_waiting "
            f"ON {t['departures']} (waiting_for)",
            f"CREATE INDEX IF NOT EXISTS {t['departures']}_leaver "
            f"ON {t['departures']} (leaver_id)",
            # leavers' requests HR has yet to accept or decline (every HR inbox reads them;
            # the cases' table keeps every case ever closed)
            f"CREATE INDEX IF NOT EXISTS {t['departures']}_requested "
            f"ON {t['departures']} (leaver_id) WHERE state = 'requested'",
            f"""CREATE TABLE IF NOT EXISTS {t['items']} (
                item_id TEXT PRIMARY KEY, departure_id TEXT NOT NULL, category TEXT NOT NULL,
                title TEXT NOT NULL, state TEXT NOT NULL, giver_id TEXT NOT NULL,
                receiver TEXT NOT NULL, mandatory INTEGER NOT NULL, open INTEGER NOT NULL,
                due_date TEXT, confirm_by TEXT, rejected_at TEXT,
                signers TEXT NOT NULL DEFAULT '', pending_signers TEXT NOT NULL,
                urgent INTEGER NOT NULL, submitted_at TEXT,
                questions_to TEXT NOT NULL, label TEXT NOT NULL, doc TEXT NOT NULL)""",
            f"CREATE INDEX IF NOT EXISTS {t['items']}_departure "
            f"ON {t['items']} (departure_id)",
            f"CREATE INDEX IF NOT EXISTS {t['items']}_receiver ON {t['items']} (receiver, open)",
            f"CREATE INDEX IF NOT EXISTS {t['items']}_giver ON {t['items']} (giver_id, open)",
            # the receivers of a case's open mandatory items: an HR owner's inbox (items to
            # waive) and the dashboard's ``receiver_inactive`` rule read them case by case
            # from this index, not by scanning every item
            f"CREATE INDEX IF NOT EXISTS {t['items']}_mandatory ON {t['items']} "
            "(departure_id, receiver) WHERE open = 1 AND mandatory = 1",
            f"""CREATE TABLE IF NOT EXISTS {t['disputes']} (
                dispute_id TEXT PRIMARY KEY, departure_id TEXT NOT NULL, state TEXT NOT NULL,
                doc TEXT NOT NULL)""",
            f"CREATE INDEX IF NOT EXISTS {t['disputes']}_departure "
            f"ON {t['disputes']} (departure_id)",
            # who must act on an open item now (its giver, pending signers, the addressees
            # of its open questions): the inboxes' index
            f"""CREATE TABLE IF NOT EXISTS {t['parties']} (
                party TEXT NOT NULL, item_id TEXT NOT NULL, PRIMARY KEY (party, item_id))""",
            f"CREATE INDEX IF NOT EXISTS {t['parties']}_item ON {t['parties']} (item_id)",
            # what each party must do now (ledger.projections.board_entries): an inbox reads
            # its parties' phase 0 by the key, a queue's page is one range of the key's index
            f"""CREATE TABLE IF NOT EXISTS {t['entries']} (
                party TEXT NOT NULL, phase INTEGER NOT NULL, item_id TEXT NOT NULL,
                step INTEGER NOT NULL, action TEXT NOT NULL, undated INTEGER NOT NULL,
                since TEXT NOT NULL, departure_id TEXT NOT NULL,
                PRIMARY KEY (party, phase, item_id, step))""",
            f"CREATE INDEX IF NOT EXISTS {t['entries']}_key ON {t['entries']} "
            f"(party, {entry_key(dialect)})",
        ]

    def drop(self, generation: int) -> list[str]:
        return [f"DROP TABLE IF EXISTS {name}" for name in tables(generation).values()]

    def reset(self) -> None:
        self.folder.clear()
        self._items.clear()
        self._departures.clear()
        self._disputes.clear()
        self._touched.clear()
        self._stored = {}
        self._versions.clear()
        self._written.clear()

    async def apply(self, tx: ProjectionTx, generation: int, logged: LoggedEvent,
                    entry: Entry) -> None:
        if entry.stream_type == "template":
            return
        aggregate = await self.folder.fold(tx, entry)
        if isinstance(aggregate, HandoverItem):
            item_id = str(aggregate.id)
            columns = item_columns(aggregate, update_extras(self._extras(item_id), entry))
            self._items[item_id] = columns
            self._versions[item_id] = entry.version
            stored = self._stored.get(item_id)
            if stored is None or stored.figures != _figure_inputs(columns):
                self._touched.add(aggregate.departure_id)  # else its case's figures stand
        elif isinstance(aggregate, Departure):
            columns = departure_columns(aggregate)
            self._departures[str(aggregate.id)] = columns
            self._touched.add(str(aggregate.id))
        elif isinstance(aggregate, Dispute):
            self._disputes[str(aggregate.id)] = dispute_columns(aggregate)

    async def begin(self, tx: ProjectionTx, generation: int,
                    batch: Sequence[LoggedEvent]) -> None:
        """Read, in one query, what is stored of every item the batch touches: its running
        figures, what its case's figures are computed from, and its parties (a batch that
        leaves these as they were, comments for instance, writes only the item's row)."""
        first: dict[str, int] = {}  # each item's first version in the batch
        for logged in batch:
            if logged.event.stream_type == "item":
                first.setdefault(str(logged.event.stream_id), logged.event.version)
        self._stored = {}
        ids = []
        for item_id, version in sorted(first.items()):
            held = self._written.get((generation, item_id))
            if held is not None and held[0] == version - 1:
                self._stored[item_id] = _unpack(held[1])
            elif version > 1:  # a new item has nothing stored
                ids.append(item_id)
        columns = ", ".join(dict.fromkeys(("item_id", "doc", *ITEM_INPUTS, *_FIGURE_INPUTS)))
        for row in await _rows_where_in(tx, f"SELECT {columns} FROM "
                                        f"{tables(generation)['items']}", "item_id", ids):
            row["doc"] = orjson.loads(row["doc"])
            self._stored[row["item_id"]] = _Stored(
                {k: row["doc"][k] for k in new_extras()}, _figure_inputs(row),
                _parties(row), item_inputs(row))

    def _extras(self, item_id: str) -> dict[str, Any]:
        if (pending := self._items.get(item_id)) is not None:
            return {k: pending["doc"][k] for k in new_extras()}
        stored = self._stored.get(item_id)
        return dict(stored.extras) if stored is not None else new_extras()

    async def flush(self, tx: ProjectionTx, generation: int) -> None:
        t = tables(generation)
        # items whose entries may change, and their cases' gates as stored before the batch
        moved = self._changed_inputs()
        gates = await self._gates(tx, t, moved)
        if self._departures:
            await tx.executemany(_upsert(t["departures"], DEPARTURE_COLUMNS),
                                 [_row(v, DEPARTURE_COLUMNS) for v in self._departures.values()])
        if self._items:
            await tx.executemany(_upsert(t["items"], ITEM_COLUMNS),
                                 [_row(v, ITEM_COLUMNS) for v in self._items.values()])
            changed = {i: found for i, v in self._items.items()
                       if (found := _parties(v)) != self._stored_parties(i)}
            gone = [(i,) for i in changed if i in self._stored]
            if gone:
                await tx.executemany(f"DELETE FROM {t['parties']} WHERE item_id = $1", gone)
            parties = [(p, i) for i, found in changed.items() for p in sorted(found)]
            if parties:
                await tx.executemany(f"INSERT INTO {t['parties']} (party, item_id) "
                                     "VALUES ($1, $2)", parties)
        turned = await self._write_entries(tx, t, moved, gates)
        if self._disputes:
            await tx.executemany(_upsert(t["disputes"], DISPUTE_COLUMNS),
                                 [_row(v, DISPUTE_COLUMNS) for v in self._disputes.values()])
        if self._touched:
            await tx.executemany(_figures(t), [(d,) for d in sorted(self._touched)])
        for item_id, columns in self._items.items():
            self._written[(generation, item_id)] = (self._versions[item_id], _pack(_Stored(
                {k: columns["doc"][k] for k in new_extras()}, _figure_inputs(columns),
                _parties(columns), item_inputs(columns))))
            self._written.move_to_end((generation, item_id))
        while len(self._written) > self.capacity:
            self._written.popitem(last=False)
        self._forget_ended(generation, turned)
        self._items.clear()
        self._departures.clear()
        self._disputes.clear()
        self._touched.clear()
        self._stored = {}
        self._versions.clear()

    def _forget_ended(self, generation: int, turned: dict[str, str]) -> None:
        """A case the batch ended (closed, withdrawn, declined) leaves the folder and the
        written items' memory with its items (those the batch wrote, and those read because
        its gate turned): what is held follows the open work, and a later event of one
        replays it from the log."""
        ended = {d for d, v in self._departures.items() if v["state"] in ENDED_STATES}
        if not ended:
            return
        items = {i for i, v in self._items.items() if v["departure_id"] in ended}
        items |= {i for i, d in turned.items() if d in ended}
        self.folder.forget(ended | items)
        for item_id in items:
            self._written.pop((generation, item_id), None)

    def _changed_inputs(self) -> dict[str, ItemInputs]:
        """The batch's items whose entries' inputs changed (a comment changes none)."""
        changed = {}
        for item_id, columns in self._items.items():
            inputs = item_inputs(columns)
            stored = self._stored.get(item_id)
            if stored is None or stored.inputs != inputs:
                changed[item_id] = inputs
        return changed

    async def _gates(self, tx: ProjectionTx, t: dict[str, str],
                     changed: dict[str, ItemInputs]) -> dict[str, CaseGate]:
        """The stored gates of the batch's cases and of its changed items' cases (none to read
        for a batch of comments)."""
        cases = sorted({*self._departures, *(x.departure_id for x in changed.values())})
        gates = {}
        for row in await _rows_where_in(tx, f"SELECT departure_id, state, open FROM "
                                        f"{t['departures']}", "departure_id", cases):
            gates[row["departure_id"]] = case_gate(row["state"], row["open"])
        return gates

    async def _write_entries(self, tx: ProjectionTx, t: dict[str, str],
                             changed: dict[str, ItemInputs],
                             before: dict[str, CaseGate]) -> dict[str, str]:
        """Keep the entries in step with the batch: those of its changed items, and of every
        item of a case whose gate it changed (accepted, closed...). What is stored is always
        ``item_entries`` of the stored item and case, so the difference is exact. Returns
        the items of those cases it read (item id → case)."""
        after = {**before, **{d: case_gate(v["state"], v["open"])
                              for d, v in self._departures.items()}}
        old: set[EntryRow] = set()
        new: set[EntryRow] = set()
        for item_id, inputs in changed.items():
            stored = self._stored.get(item_id)
            if stored is not None:
                old |= item_entries(stored.inputs, before.get(inputs.departure_id, CLOSED))
            new |= item_entries(inputs, after.get(inputs.departure_id, CLOSED))
        turned = sorted(d for d, gate in after.items() if gate != before.get(d, CLOSED))
        read: dict[str, str] = {}
        for row in await _rows_where_in(tx, f"SELECT {', '.join(ITEM_INPUTS)} FROM "
                                        f"{t['items']}", "departure_id", turned):
            read[row["item_id"]] = row["departure_id"]
            if row["item_id"] not in changed:  # as stored before the batch, and now
                inputs = item_inputs(row)
                old |= item_entries(inputs, before.get(inputs.departure_id, CLOSED))
                new |= item_entries(inputs, after[inputs.departure_id])
        if gone := sorted(old - new):
            await tx.executemany(f"DELETE FROM {t['entries']} WHERE party = $1 AND phase = $2 "
                                 "AND item_id = $3 AND step = $4", [e[:4] for e in gone])
        if made := sorted(new - old):
            marks = ", ".join(f"${n}" for n in range(1, len(ENTRY_COLUMNS) + 1))
            await tx.executemany(f"INSERT INTO {t['entries']} ({', '.join(ENTRY_COLUMNS)}) "
                                 f"VALUES ({marks})", made)
        return read

    def _stored_parties(self, item_id: str) -> set[str] | None:
        stored = self._stored.get(item_id)
        return stored.parties if stored is not None else None


@dataclass(frozen=True)
class _Stored:
    """What the board's tables hold of an item before the batch."""

    extras: dict[str, Any]
    figures: tuple[object, ...]
    parties: set[str]
    inputs: ItemInputs  # what its entries are made of (``board_entries``)


def _pack(stored: _Stored) -> bytes:
    return pickle.dumps((stored.extras, stored.figures, stored.parties, tuple(stored.inputs)),
                        protocol=pickle.HIGHEST_PROTOCOL)


def _unpack(packed: bytes) -> _Stored:
    # Only ``_pack``'s output, made in this process from the board's own rows.
    extras, figures, parties, inputs = pickle.loads(packed)  # noqa: S301
    return _Stored(extras, figures, parties, ItemInputs(*inputs))


# The item columns its case's figures are computed from (``_figures``).
_FIGURE_INPUTS = ("mandatory", "open", "due_date", "category", "rejected_at")


def _figure_inputs(item: dict[str, Any]) -> tuple[object, ...]:
    return tuple(item[c] for c in _FIGURE_INPUTS)


def _parties(item: dict[str, Any]) -> set[str]:
    """Who takes part in an open item: its giver, its declared signers (a queue's list shows
    what it will sign), and whoever an open question is addressed to; the inbox decides who
    must act now."""
    if not item["open"]:
        return set()
    return {item["giver_id"], *item["doc"]["signers"], *item["questions_to"].split()}


# What each risk rule compares with the date or time of the read (ledger.projections.
# board_queries), NULL where the rule cannot hold whatever the date: the case's last working
# day while under half its mandatory items are done (within 3 days of it), its earliest due
# open item (overdue by more than 2 days), its last working day while an account item is open
# (24 hours after it), its oldest open rejection (not resubmitted within 2 days). Stored with
# the figures they come from, so the dashboard compares four columns with its moments instead
# of working the rules out over every open case on each read; a rule that comes to hold as
# time passes shows as soon as it does, no write needed.
def _risk_inputs(done: str, total: str, next_due: str, accounts: str, rejection: str) -> str:
    """The SET clause of the risk inputs, given the figures they come from."""
    return (f"risk_near = CASE WHEN open = 1 AND {done} * 2 < {total} "
            "THEN last_working_day END, "
            f"risk_overdue = CASE WHEN open = 1 THEN {next_due} END, "
            f"risk_accounts = CASE WHEN open = 1 AND {accounts} > 0 THEN last_working_day END, "
            f"risk_rejected = CASE WHEN open = 1 THEN {rejection} END")


RISK_INPUTS = _risk_inputs("mandatory_done", "mandatory_total", "next_due", "accounts_open",
                           "oldest_rejection")


def _figures(t: dict[str, str]) -> str:
    """Recompute one case's figures over its items, and the risk inputs they give (one
    statement: an UPDATE's expressions all see the row as it was)."""
    items = t["items"]

    def over(expression: str, where: str = "") -> str:
        return (f"(SELECT {expression} FROM {items} i WHERE i.departure_id = "
                f"{t['departures']}.departure_id{where})")

    figures = {
        "items_total": over("count(*)"),
        "mandatory_total": over("count(*)", " AND i.mandatory = 1"),
        "mandatory_done": over("count(*)", " AND i.mandatory = 1 AND i.open = 0"),
        "next_due": over("min(i.due_date)", " AND i.open = 1"),
        "accounts_open": over("count(*)", f" AND i.open = 1 AND i.category = {ACCOUNTS!r}"),
        "oldest_rejection": over("min(i.rejected_at)", " AND i.open = 1"),
    }
    return (
        f"UPDATE {t['departures']} SET "
        + ", ".join(f"{column} = {value}" for column, value in figures.items()) + ", "
        + _risk_inputs(figures["mandatory_done"], figures["mandatory_total"],
                       figures["next_due"], figures["accounts_open"],
                       figures["oldest_rejection"]) + " "
        "WHERE departure_id = $1"
    )

