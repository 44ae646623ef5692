"""The people and cases scripts/load.py works on: HR, managers, successors (the receivers),
an operator and the leavers of ``departures`` cases handing over with the sales checklist
(and the clearance checklist the approval applies), each with a bearer token, written through
the runtime's own ledger and principal store (benchdb.start_case) before ``ledger serve``
starts on the same database and key folder.

``staggered`` (the steady workload) seeds the cases as a company's open cases stand on any
day: each further along than the one before, case ``n`` of ``N`` with ``n/N`` of its items
(rounded down) submitted and confirmed, and every other case's next item submitted (the last
one finished, waiting for its confirmation and close), so cases finish from the first minute
and the open items stay level."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from benchdb import add_people, start_case
from load_handover import Handover, Progress, checklist_lines, part_of

from ledger.aggregates.departure import Departure
from ledger.aggregates.item import HandoverItem
from ledger.bootstrap import bootstrap
from ledger.principals import Principal, new_token
from ledger.runtime import Runtime
from ledger.service import commands as c
from ledger.service.context import Actor, RequestContext
from ledger.settings import Settings
from ledger.store.principal_port import PrincipalStore

HRS = 3
MANAGERS = 5
SUCCESSORS = 10
# Who works each department's queue (the checklists give items to dept:finance, dept:admin
# and dept:it).
DEPARTMENTS = {"it": "it.load", "finance": "finance.load", "admin": "admin.load"}


@dataclass(frozen=True)
class Case:
    """One seeded departure: its id, items and the people (tokens) who work it."""

    departure_id: uuid.UUID
    items: tuple[uuid.UUID, ...]  # the leaver gives each
    received: tuple[uuid.UUID, ...]  # those the successor receives (not a department's)
    hr: str
    manager: str
    successor: str
    leaver: str


@dataclass
class Population:
    """Everyone's token (by principal id) and the seeded cases."""

    tokens: dict[str, str] = field(default_factory=dict)
    cases: list[Case] = field(default_factory=list)  # the steady workload: those read
    operator: str = "ops.load"
    handovers: dict[uuid.UUID, Handover] = field(default_factory=dict)  # staggered seeds'

    def hrs(self) -> list[str]:
        return [f"hr.{n}" for n in range(HRS)]

    def managers(self) -> list[str]:
        return [f"mgr.{n}" for n in range(MANAGERS)]

    def successors(self) -> list[str]:
        return [f"succ.{n}" for n in range(SUCCESSORS)]

    def pick(self, rng: random.Random) -> Case:
        return rng.choice(self.cases)


async def _token(principals: PrincipalStore, population: Population, principal_id: str) -> None:
    token, token_hash = new_token()
    await principals.add_token(token_hash, principal_id, "load")
    population.tokens[principal_id] = token


def actor_of(party: str, hr: str) -> Actor:
    """Who acts for ``party``: a department queue's worker, the HR owner, or an employee."""
    if party.startswith("dept:"):
        return Actor(id=DEPARTMENTS[party.removeprefix("dept:")],
                     role=party.removeprefix("dept:"))
    return Actor(id=party, role="hr" if party == hr else "employee")


def principal_of(party: str) -> str:
    """The principal whose token acts for ``party`` (a department queue's worker)."""
    return DEPARTMENTS[party.removeprefix("dept:")] if party.startswith("dept:") else party


async def _hand_over(runtime: Runtime, departure_id: uuid.UUID, hr: str, share: float,
                     submit_next: bool, context: RequestContext) -> Handover:
    """Every item of the case as a part; the first ``share`` of them (those that require
    others last) submitted and confirmed (directly where the line allows), the next one
    submitted with ``submit_next``."""
    lines = checklist_lines()
    departure = await runtime.ledger.load(Departure, departure_id)
    items = [await runtime.ledger.load(HandoverItem, i) for i in departure.item_ids]
    parts = {str(i.id): part_of(str(i.id), i.title, i.giver_id, i.required_signers(),
                                list(i.requires), i.mandatory, lines) for i in items}
    progress = {i: Progress() for i in parts}
    order = sorted(parts, key=lambda i: bool(parts[i].requires))
    done = int(len(order) * share)  # only the last case has every item done
    for n, item in enumerate(order[:done + submit_next]):
        part = parts[item]
        if not part.direct:
            await runtime.ledger.execute(c.SubmitItem(item_id=uuid.UUID(item),
                                                      note="Handed over (seeded)"),
                                         actor_of(part.giver, hr), context)
            progress[item] = Progress(state="submitted", submissions=1)
        if n == done:  # the next one, submitted and awaiting its signers
            break
        for signer in part.signers[:1] if part.direct else part.signers:
            await runtime.ledger.execute(c.ConfirmItem(item_id=uuid.UUID(item),
                                                       note="Received (seeded)"),
                                         actor_of(signer, hr), context)
        progress[item] = Progress(state="confirmed", submissions=int(not part.direct),
                                  signed=len(part.signers))
    return Handover(str(departure_id), hr, parts, progress)


async def seed(dsn: str, folder: Path, origin: str, departures: int,
               progress: bool = True, staggered: bool = False) -> Population:
    """Write the population into the fresh database at ``dsn`` (schema, keys and checklists
    made as ``ledger serve`` would, with the key folder under ``folder``); with
    ``staggered``, each case handed over as far as its place in the seed says."""
    settings = Settings(database_url=dsn, data_dir=folder / "data", key_dir=folder / "keys",
                        log_origin=origin)
    runtime = await bootstrap(settings)
    population = Population()
    try:
        await runtime.ledger.install_builtin_templates()
        principals = runtime.principals
        await principals.add_principal(Principal(population.operator, "Load operator",
                                                 ("operator",)))
        for hr in population.hrs():
            await principals.add_principal(Principal(hr, f"HR {hr}", ("hr",)))
        for department, worker in DEPARTMENTS.items():
            await principals.add_principal(Principal(worker, worker, (department,)))
        await add_people(principals, *population.managers(), *population.successors())
        for principal_id in (population.operator, *population.hrs(), *population.managers(),
                             *population.successors(), *DEPARTMENTS.values()):
            await _token(principals, population, principal_id)
        context = RequestContext(ip="127.0.0.1", user_agent="load", auth="load")
        for n in range(1, departures + 1):
            hr = population.hrs()[n % HRS]
            manager = population.managers()[n % MANAGERS]
            successor = population.successors()[n % SUCCESSORS]
            departure_id, items = await start_case(
                runtime.ledger, n, Actor(id=hr, role="hr"), Actor(id=manager, role="employee"),
                successor, context, principals=principals)
            leaver = f"emp-bench-{n}"
            await _token(principals, population, leaver)
            received = [i for i in items
                        if (await runtime.ledger.load(HandoverItem, i)).receiver == successor]
            population.cases.append(Case(departure_id, tuple(items), tuple(received), hr,
                                         manager, successor, leaver))
            if staggered:
                population.handovers[departure_id] = await _hand_over(
                    runtime, departure_id, hr, n / departures, n % 2 == 1, context)
            if progress and n % 50 == 0:
                print(f"  seeded {n}/{departures} departures", flush=True)
    finally:
        await runtime.close()
    return population
