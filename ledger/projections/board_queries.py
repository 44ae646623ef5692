"""Reads of the board: a case's board, and the HR dashboard sorted by risk.

Authorization is the read use cases': a case's board to whoever may read the case
(``ledger.service.queries.get_departure``), the dashboard to HR, legal and auditors (leavers'
requests, until accepted, to HR only). Every answer names the log position it reflects; a
reader may ask to wait (boundedly) until the board has reached a position.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson

from ledger.aggregates.departure import Departure
from ledger.aggregates.dispute import Dispute
from ledger.aggregates.snapshot import restore
from ledger.errors import InvalidInputError, NotFoundError, PushbackError
from ledger.projections.board import NAME, case_columns, tables
from ledger.service.context import Actor
from ledger.service.dispute_queries import authorize_dispute
from ledger.service.ledger import Ledger
from ledger.service.policy import require_role
from ledger.service.queries import get_departure
from ledger.service.relation import OVERSEERS, may_read_departure
from ledger.store.principal_port import PrincipalStore
from ledger.store.projection_port import ProjectionStore
from ledger.store.read_scope import require_current

MAX_WAIT_SECONDS = 5.0
RULES = ("last_day_near", "item_overdue", "accounts_not_revoked", "rejection_not_resubmitted")
# and "receiver_inactive", read for the cases shown (``_unreceived``)


@dataclass(frozen=True)
class Position:
    """The board's log position and table generation."""

    position: int
    generation: int


@dataclass(frozen=True)
class Wait:
    """What a read waits for: a log position, and/or an event (a command's response names
    its events) to be sequenced and reached."""

    position: int = 0
    event: UUID | None = None


async def _event_index(store: ProjectionStore, event_id: UUID, deadline: float) -> int:
    while True:
        rows = await store.fetch("SELECT l.idx, e.position FROM events e LEFT JOIN log_entries l "
                                 "ON l.position = e.position WHERE e.event_id = $1", event_id)
        if not rows:
            raise InvalidInputError(f"after_event: no event {event_id}", field="after_event")
        if rows[0]["idx"] is not None:
            return int(rows[0]["idx"])
        if asyncio.get_running_loop().time() >= deadline:
            raise PushbackError(f"event {event_id} is not in the log yet; retry shortly",
                                retry_after=1)
        await asyncio.sleep(0.02)


async def board_position(store: ProjectionStore, wait: Wait | None = None) -> Position:
    """Where the board stands; waits up to MAX_WAIT_SECONDS for ``wait`` (an event is
    reached once the position is past its log index). A position beyond the log's size is
    one no client can have been given: refused, not waited for."""
    deadline = asyncio.get_running_loop().time() + MAX_WAIT_SECONDS
    wait = wait or Wait()
    if wait.position or wait.event is not None:
        require_current()  # a read replica answers once it has what the primary has now
    at_least = wait.position
    if at_least and at_least > await store.log_size():
        raise InvalidInputError("min_position is beyond the log's size", field="min_position")
    if wait.event is not None:
        at_least = max(at_least, await _event_index(store, wait.event, deadline) + 1)
    while True:
        rows = await store.fetch("SELECT position, generation FROM projection_state "
                                 "WHERE name = $1", NAME)
        found = Position(int(rows[0]["position"]), int(rows[0]["generation"])) if rows else (
            Position(0, 1))
        if found.position >= at_least:
            return found
        if asyncio.get_running_loop().time() >= deadline:
            raise PushbackError(f"the board is at log position {found.position}, not yet "
                                f"{at_least}; retry shortly", retry_after=1)
        await asyncio.sleep(0.02)


@dataclass(frozen=True)
class Moments:
    """The dates and times the risk rules compare with (the organisation's)."""

    today: dt.date
    now: dt.datetime

    def params(self) -> list[object]:
        day = dt.timedelta(days=1)
        return [self.today.isoformat(), (self.today + 3 * day).isoformat(),
                (self.today - 2 * day).isoformat(), (self.today - day).isoformat(),
                (self.now - 2 * day).strftime("%Y-%m-%dT%H:%M:%S.%fZ")]


# $1 today, $2 today+3, $3 today-2, $4 today-1, $5 now-2 days (as stored times); the
# columns are the board's stored risk inputs (ledger.projections.board.RISK_INPUTS), NULL
# where a rule cannot hold.
_RISK_FLAGS = (
    "(d.risk_near BETWEEN $1 AND $2)",
    "(d.risk_overdue < $3)",
    "(d.risk_accounts < $4)",
    "(d.risk_rejected < $5)",
)
_SCORE = " + ".join(f"(CASE WHEN {flag} THEN 1 ELSE 0 END)" for flag in _RISK_FLAGS)
_FLAGS = ", ".join(f"(CASE WHEN {f} THEN 1 ELSE 0 END) AS r{n}"
                   for n, f in enumerate(_RISK_FLAGS))


def _reasons(row: dict[str, Any]) -> list[dict[str, Any]]:
    reasons = []
    for rule, hit in zip(RULES, (row[f"r{n}"] for n in range(4)), strict=True):
        if hit:
            reasons.append({"rule": rule, "why": _why(rule, row),
                            "figures": _figures(rule, row)})
    return reasons


def _figures(rule: str, row: dict[str, Any]) -> dict[str, Any]:
    """What the rule compared, for a reader to word the reason in its own language."""
    return {
        "last_day_near": {"last_working_day": row["last_working_day"],
                          "done": row["mandatory_done"], "total": row["mandatory_total"]},
        "item_overdue": {"due": row["next_due"]},
        "accounts_not_revoked": {"accounts_open": row["accounts_open"],
                                 "last_working_day": row["last_working_day"]},
        "rejection_not_resubmitted": {"rejected_at": row["oldest_rejection"]},
    }[rule]


def _why(rule: str, row: dict[str, Any]) -> str:
    done, total = row["mandatory_done"], row["mandatory_total"]
    return {
        "last_day_near": f"last working day {row['last_working_day']} is within 3 days and "
                         f"{done} of {total} mandatory items are done",
        "item_overdue": f"an item was due on {row['next_due']}, more than 2 days ago",
        "accounts_not_revoked": f"{row['accounts_open']} account item(s) still open more "
                                f"than 24 hours after the last working day "
                                f"{row['last_working_day']}",
        "rejection_not_resubmitted": f"an item rejected at {row['oldest_rejection']} has not "
                                     "been resubmitted within 2 days",
    }[rule]


def risk_level(score: int) -> str:
    """none, medium (one rule) or high (two or more)."""
    return "high" if score >= 2 else "medium" if score == 1 else "none"


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    total, done = row["mandatory_total"], row["mandatory_done"]
    return {**orjson.loads(row["doc"]), "items_total": row["items_total"],
            "mandatory_total": total, "mandatory_done": done,
            "percent_done": round(100 * done / total) if total else 100,
            "next_due": row["next_due"], "risk": risk_level(int(row["score"])),
            "risk_reasons": _reasons(row)}


async def _unreceived(store: ProjectionStore, principals: PrincipalStore | None,
                      t: dict[str, str], summaries: list[dict[str, Any]]) -> None:
    """The fifth rule, read for the cases shown (a principal's deactivation is not in the
    log, so it cannot be projected): a mandatory open item whose receiver is no active
    principal raises the case's risk, with the reason."""
    if principals is None or not summaries:
        return
    cases = [x["id"] for x in summaries]
    marks = ", ".join(f"${n}" for n in range(1, len(cases) + 1))
    mine = (f"FROM {t['items']} WHERE departure_id IN ({marks}) AND open = 1 "
            "AND mandatory = 1 AND receiver NOT LIKE 'dept:%'")
    # the receivers first (a page of cases names a few dozen, nearly always all active),
    # then the items of the inactive ones only
    receivers = {r["receiver"] for r in await store.fetch(
        f"SELECT DISTINCT receiver {mine}", *cases)}
    inactive = sorted(await principals.inactive_among(receivers))
    if not inactive:
        return
    more = ", ".join(f"${n}" for n in range(len(cases) + 1, len(cases) + len(inactive) + 1))
    rows = await store.fetch(f"SELECT departure_id, title, receiver {mine} AND receiver IN "
                             f"({more})", *cases, *inactive)
    by_case = {x["id"]: x for x in summaries}
    for row in rows:
        case = by_case[row["departure_id"]]
        case["risk_reasons"].append({
            "rule": "receiver_inactive", "why": f"mandatory item {row['title']!r} has no "
            f"active receiver ({row['receiver']})",
            "figures": {"item": row["title"], "receiver": row["receiver"]}})
        case["risk"] = risk_level(len(case["risk_reasons"]))


def _keys(t: dict[str, str], clause: str) -> str:
    """The matching cases' sort keys and risk flags (which also give every moment its
    parameter's type, where the clause names none of them)."""
    return (f"SELECT d.departure_id, d.last_working_day, d.started_at, d.next_due, {_FLAGS} "
            f"FROM {t['departures']} d{clause}")


def _ranked(t: dict[str, str], clause: str, limit: int, offset: int) -> str:
    """One page of the dashboard: the cases ranked on their score alone (a top-N sort over
    four column comparisons a case), the rules' flags and the whole rows read for the page's
    cases only."""
    ranked = (f"SELECT d.departure_id, d.last_working_day, ({_SCORE}) AS score "
              f"FROM {t['departures']} d{clause} "
              "ORDER BY score DESC, d.last_working_day, d.departure_id "
              f"LIMIT {int(limit)} OFFSET {int(offset)}")
    return (f"SELECT {case_columns('d')}, {_FLAGS}, k.score FROM ({ranked}) k "
            f"JOIN {t['departures']} d ON d.departure_id = k.departure_id "
            "ORDER BY k.score DESC, k.last_working_day, k.departure_id")


def _select(t: dict[str, str]) -> str:
    return (f"SELECT {case_columns('d')}, {_FLAGS}, ({_SCORE}) AS score "
            f"FROM {t['departures']} d")


async def departure_board(ledger: Ledger, store: ProjectionStore, actor: Actor,
                          departure_id: UUID, moments: Moments,
                          wait: Wait | None = None,
                          principals: PrincipalStore | None = None) -> dict[str, Any]:
    """One case's board: its summary and risk, items by category, blocking and overdue
    items, disputes."""
    departure = await get_departure(ledger, actor, departure_id)  # else absent
    whole = may_read_departure(actor, departure)  # else only the items they work on
    where = await board_position(store, wait)
    t = tables(where.generation)
    rows = await store.fetch(f"{_select(t)} WHERE d.departure_id = $6",
                             *moments.params(), str(departure_id))
    if not rows:
        raise PushbackError(f"the board has not reached departure {departure_id} yet "
                            f"(at log position {where.position}); retry shortly")
    items = [item for item in (orjson.loads(r["doc"]) for r in await store.fetch(
        f"SELECT doc FROM {t['items']} WHERE departure_id = $1 ORDER BY item_id",
        str(departure_id))) if whole or _works_on(actor, item)]
    disputes = [d for d in (orjson.loads(r["doc"]) for r in await store.fetch(
        f"SELECT doc FROM {t['disputes']} WHERE departure_id = $1 ORDER BY dispute_id",
        str(departure_id))) if await _reads_dispute(ledger, actor, d["id"])]
    categories: dict[str, list[dict[str, Any]]] = {}
    for item in sorted(items, key=lambda i: (i["category"], i["title"])):
        categories.setdefault(item["category"], []).append(item)
    today = moments.today.isoformat()
    open_items = [i for i in items if i["state"] not in ("confirmed", "waived")]
    summary = _summary(rows[0])
    await _unreceived(store, principals, t, [summary])
    return {"position": where.position, "departure": summary,
            "categories": categories,
            "blocking": [_brief(i) for i in open_items if i["mandatory"]],
            "overdue": [_brief(i) for i in open_items if i["due_date"] and i["due_date"] < today],
            "disputes": disputes}


def _works_on(actor: Actor, item: dict[str, Any]) -> bool:
    """As ``may_read_item_alone``, from the board's record of the item."""
    acting_for = set(actor.acting_for())
    return actor.id == item["giver_id"] or bool(
        acting_for & {item["giver_id"], item["receiver"], *item["signers"]})


async def _reads_dispute(ledger: Ledger, actor: Actor, dispute_id: str) -> bool:
    try:
        await authorize_dispute(ledger, actor, await ledger.load(Dispute, UUID(dispute_id)))
    except NotFoundError:
        return False
    return True


def _brief(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in ("id", "title", "state", "receiver", "due_date")}


@dataclass(frozen=True)
class DashboardFilter:
    """What HR narrows the dashboard to (None: any)."""

    state: str | None = None
    department: str | None = None
    hr_owner_id: str | None = None
    last_day_from: dt.date | None = None
    last_day_to: dt.date | None = None
    overdue: bool = False
    risk: str | None = None  # "medium" (at least one rule) or "high"
    include_closed: bool = False


def _conditions(wanted: DashboardFilter, actor: Actor) -> tuple[list[str], list[object]]:
    conditions: list[str] = []
    args: list[object] = []

    def add(sql: str, value: object) -> None:
        args.append(value)
        conditions.append(sql.replace("?", f"${5 + len(args)}"))

    if wanted.state is not None:
        add("d.state = ?", wanted.state)
    elif not wanted.include_closed:
        conditions.append("d.open = 1")
    if actor.role != "hr":  # a request not yet accepted: its leaver and HR only
        conditions.append("d.hr_owner_id <> ''")  # an accepted or HR-started case
    if wanted.department is not None:
        add("d.department = ?", wanted.department)
    if wanted.hr_owner_id is not None:
        add("d.hr_owner_id = ?", wanted.hr_owner_id)
    if wanted.last_day_from is not None:
        add("d.last_working_day >= ?", wanted.last_day_from.isoformat())
    if wanted.last_day_to is not None:
        add("d.last_working_day <= ?", wanted.last_day_to.isoformat())
    if wanted.overdue:
        conditions.append("d.next_due < $1")
    if wanted.risk is not None:
        conditions.append(f"({_SCORE}) >= {2 if wanted.risk == 'high' else 1}")
    return conditions, args


@dataclass(frozen=True)
class _Matching:
    """The board's position and tables, and the SQL clause and parameters of a filter."""

    where: Position
    t: dict[str, str]
    clause: str
    params: list[object]

    async def count(self, store: ProjectionStore) -> int:
        rows = await store.fetch(f"SELECT count(*) AS n FROM ({_keys(self.t, self.clause)}) z",
                                 *self.params)
        return int(rows[0]["n"])

    async def counts(self, store: ProjectionStore) -> tuple[int, int]:
        """How many cases match, and how many of them have an item past its due date (the
        ``overdue`` filter's test, ``next_due < today``), in one read."""
        rows = await store.fetch(
            "SELECT count(*) AS n, coalesce(sum(CASE WHEN z.next_due < $1 THEN 1 ELSE 0 END), "
            f"0) AS late FROM ({_keys(self.t, self.clause)}) z", *self.params)
        return int(rows[0]["n"]), int(rows[0]["late"])


async def _matching(store: ProjectionStore, actor: Actor, wanted: DashboardFilter,
                    moments: Moments, wait: Wait | None, action: str) -> _Matching:
    """HR, legal and auditors only: the departures ``wanted`` names, as of the board."""
    require_role(actor, OVERSEERS, action)
    where = await board_position(store, wait)
    conditions, args = _conditions(wanted, actor)
    clause = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return _Matching(where, tables(where.generation), clause, [*moments.params(), *args])


async def hr_dashboard(store: ProjectionStore, actor: Actor, wanted: DashboardFilter,
                       moments: Moments, limit: int, offset: int,
                       wait: Wait | None = None,
                       principals: PrincipalStore | None = None, *,
                       count_overdue: bool = False) -> dict[str, Any]:
    """Open departures, riskiest first (then by last working day), filtered and paged; with
    ``count_overdue`` also ``overdue_total``, how many of the matching cases the ``overdue``
    filter would keep (read with the total, in the same query)."""
    m = await _matching(store, actor, wanted, moments, wait, "read the HR dashboard")
    rows = await store.fetch(_ranked(m.t, m.clause, limit, offset), *m.params)
    summaries = [_summary(r) for r in rows]
    await _unreceived(store, principals, m.t, summaries)
    if not count_overdue:
        return {"position": m.where.position, "total": await m.count(store), "limit": limit,
                "offset": offset, "items": summaries}
    total, overdue = await m.counts(store)
    return {"position": m.where.position, "total": total, "limit": limit, "offset": offset,
            "items": summaries, "overdue_total": overdue}


async def list_departures(store: ProjectionStore, actor: Actor, wanted: DashboardFilter,
                          moments: Moments, limit: int, offset: int,
                          wait: Wait | None = None) -> tuple[list[Departure], int, int]:
    """``GET /v1/departures``: the departures matching ``wanted`` (every state unless it
    names one), oldest first, each whole as of the board's position (its ``whole`` column:
    one query for the page, none per case); with how many match in all and the position."""
    m = await _matching(store, actor, wanted, moments, wait, "list departures")
    rows = await store.fetch(
        f"SELECT d.whole FROM {m.t['departures']} d WHERE d.departure_id IN ("
        f"SELECT z.departure_id FROM ({_keys(m.t, m.clause)}) z "
        f"ORDER BY z.started_at, z.departure_id LIMIT {int(limit)} OFFSET {int(offset)}) "
        "ORDER BY d.started_at, d.departure_id", *m.params)
    found = [restore(Departure, r["whole"]) for r in rows]
    return found, await m.count(store), m.where.position


async def changed_cases(store: ProjectionStore, actor: Actor, start: int,
                        end: int) -> list[str]:
    """The departures (as ``actor``, an overseer, may list them) whose case, items or
    disputes have log entries in [``start``, ``end``)."""
    require_role(actor, OVERSEERS, "follow the HR dashboard")
    t = tables((await board_position(store)).generation)
    touched = {str(r["stream_id"]) for r in await store.fetch(
        "SELECT DISTINCT e.stream_id FROM log_entries l JOIN events e "
        "ON e.position = l.position WHERE l.idx >= $1 AND l.idx < $2", start, end)}
    if not touched:
        return []
    hidden = "" if actor.role == "hr" else (
        " AND d.hr_owner_id <> ''")
    found: set[str] = set()
    streams = sorted(touched)
    for at in range(0, len(streams), 500):
        chunk = streams[at:at + 500]
        marks = ", ".join(f"${n}" for n in range(1, len(chunk) + 1))
        rows = await store.fetch(
            f"SELECT d.departure_id FROM {t['departures']} d WHERE (d.departure_id IN "
            f"({marks}) OR d.departure_id IN (SELECT departure_id FROM {t['items']} WHERE "
            f"item_id IN ({marks})) OR d.departure_id IN (SELECT departure_id FROM "
            f"{t['disputes']} WHERE dispute_id IN ({marks}))){hidden}", *chunk)
        found |= {str(r["departure_id"]) for r in rows}
    return sorted(found)
