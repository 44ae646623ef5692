"""Items that require other items first, receivers' deadlines and questions: the rules the
HandoverItem aggregate applies, kept here so that item.py stays one state machine.

- Dependencies (004: "方能进入下一环"; devices are wiped only after the laptop review): an item
  that requires others cannot be submitted or confirmed until each is confirmed or waived.
  The service hands the aggregate the required items' states (read dependencies of the
  command, so the check still holds when the append commits).
- Deadlines (002: "接收方需在3个工作日内确认"): a submission records the date its receiver
  must confirm by; after that date an escalation may be recorded, once per submission.
- Questions (003: "老刘需要在离职前完成所有问题的解答"): a comment addressed to someone, which
  only that person answers; unanswered ones are warnings (never a block) at close.

Pure: no clock (the service passes today's date), no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ledger.errors import InvalidInputError, InvalidTransitionError

DONE = frozenset({"confirmed", "waived"})


class PrerequisitesNotDoneError(InvalidTransitionError):
    """Submitting or confirming an item before every item it requires is confirmed or
    waived."""


class DependencyCycleError(InvalidInputError):
    """Requirements that go round in a circle: no item of the circle could ever be done."""


class NotOverdueError(InvalidTransitionError):
    """Escalating a confirmation that is not (or no longer) past its deadline, or that was
    already escalated for this submission."""


class QuestionStateError(InvalidTransitionError):
    """Answering a question that does not exist or was answered already."""


def require_prerequisites_done(item_id: object, requires: Iterable[str],
                               states: Mapping[str, str] | None,
                               unresolved: Iterable[str] = ()) -> None:
    """Refuse unless every required item's state is confirmed or waived, and no required
    checklist line is still unapplied (``unresolved``: keys no item of the case holds yet:
    the clearance's wipe applied before the role family's laptop review waits for it; HR
    may still waive the item).

    ``states`` maps each required item id to its current state; None (the caller supplied
    nothing) is refused whenever anything is required, so a use case that forgets to look
    cannot slip past the rule.
    """
    keys = list(unresolved)
    if keys:
        raise PrerequisitesNotDoneError(
            f"item {item_id} requires checklist line {', '.join(keys)}, not yet applied")
    required = list(requires)
    if not required:
        return
    given = states or {}
    pending = [r for r in required if given.get(r) not in DONE]
    if pending:
        shown = ", ".join(f"{r} ({given.get(r, 'unknown')})" for r in pending)
        raise PrerequisitesNotDoneError(
            f"item {item_id} requires {shown} to be confirmed or waived first")


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle in ``graph`` (node → the nodes it requires), as the nodes along it with the
    first repeated at the end, or None. Edges to nodes outside the graph are ignored."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []
    for node in graph:
        if node not in state and (found := _visit(graph, node, state, path)) is not None:
            return found
    return None


def _visit(graph: Mapping[str, Iterable[str]], node: str, state: dict[str, int],
           path: list[str]) -> list[str] | None:
    # A function, not a closure that calls itself: that is a reference cycle (it holds the
    # cell that holds it), left with everything it reads for the cyclic collector, which
    # under load comes a minute or more apart and frees them all while the event loop waits.
    state[node] = 1
    path.append(node)
    for nxt in graph.get(node, ()):
        if nxt not in graph:
            continue
        if state.get(nxt) == 1:
            return [*path[path.index(nxt):], nxt]
        if nxt not in state and (found := _visit(graph, nxt, state, path)) is not None:
            return found
    path.pop()
    state[node] = 2
    return None


def require_acyclic(graph: Mapping[str, Iterable[str]], field: str) -> None:
    """Raise DependencyCycleError naming the cycle, if ``graph`` has one."""
    cycle = find_cycle(graph)
    if cycle is not None:
        raise DependencyCycleError(
            f"requirements go round in a circle: {' → '.join(cycle)}", field=field)


def require_overdue(item_id: object, state: str, confirm_by: str | None, today: str,
                    escalated_submission: int, submission: int) -> None:
    """Refuse an escalation unless the item awaits confirmation past its deadline and this
    submission was not escalated yet (ISO dates compare as strings)."""
    if state != "submitted" or confirm_by is None:
        raise NotOverdueError(f"item {item_id} is {state} and awaits no confirmation by a "
                              "deadline")
    if today <= confirm_by:
        raise NotOverdueError(f"item {item_id} may be confirmed until {confirm_by}; "
                              f"it is not overdue on {today}")
    if escalated_submission == submission:
        raise NotOverdueError(f"submission {submission} of item {item_id} was already "
                              "escalated")
