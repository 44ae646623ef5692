"""Run a batch of commands (``POST /v1/commands``) as ``Ledger.execute`` would run them one
after another, sharing the work: one idempotency read, one look-up per principal or key, and
one append (one transaction, one commit) for every command that succeeds.

- **Sequential semantics.** Commands are decided in order, each on the state the earlier ones
  left (``ledger.service.staging``): a second command on an aggregate sees the first one's
  events, exactly as if the first had committed before it ran. Two commands that cannot both
  happen (confirming an item twice) give the second the error it would get alone (409).
- **One failing command does not fail the others.** A command whose decision fails gets its
  own error and leaves the staging as it found it; the others still commit.
- **Per-command idempotency.** Each key is scoped to the actor as for a single request; a key
  already stored replays its first outcome (appending nothing), a key repeated within the
  batch replays the first command's outcome, and the records of the new outcomes are written in
  the batch's transaction.
- **Conflicts.** The append is refused when another writer moved a stream the batch decided on
  (a version taken, a read dependency moved, a key stored concurrently). Every decision of the
  batch is then void, so its commands run again one by one through ``Ledger.execute``, each
  committing alone with its own retry: a conflict in one never fails the others. If the
  append fails for any other reason its outcome is unknown (a connection lost during COMMIT),
  so every command it carried gets that error: a keyed retry resolves it.

Streams the batch appends to are not read dependencies of the combined append (a batch may
read a stream, then append to it): their chains' UNIQUE (stream, version) already refuses the
append if another writer got there first.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.canonical import JSONObject
from ledger.errors import (
    ConflictError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    PreconditionFailedError,
    VerificationError,
)
from ledger.principals import Principal
from ledger.service import commands as c
from ledger.service.context import Actor, RequestContext
from ledger.service.ledger import CommandKey, CommandOutcome, Ledger, replay_outcome
from ledger.service.staging import Staging, StaleStagingError
from ledger.service.unit_of_work import KeyLookup, PrincipalDirectory
from ledger.store.port import (
    DependencyChangedError,
    IdempotencyRecord,
    NewEvent,
    ReadDependency,
)

# Decided on cached state, these may be wrong: decided once more on fresh state (as execute).
_ALONE_ATTEMPTS = 4  # Ledger.execute calls per command when run alone (see _one_by_one)
_RETRIED = (InvalidTransitionError, ForbiddenError, NotFoundError, ConflictError,
            InvalidInputError, VerificationError)


class _Pending:
    """What the batch will append: events and idempotency records, in command order."""

    def __init__(self) -> None:
        self.events: list[NewEvent] = []
        self.records: list[IdempotencyRecord] = []
        self.by_key: dict[str, IdempotencyRecord] = {}
        self.decided: list[int] = []  # the commands whose outcome waits for the append


Results = list[CommandOutcome | Exception | None]


async def run_batch(ledger: Ledger, commands: Sequence[tuple[c.Model, str | None]],
                    actor: Actor, context: RequestContext) -> list[CommandOutcome | Exception]:
    """Per command, in order: its outcome, or the error it met (see the module docstring)."""
    results: Results = [None] * len(commands)
    keys = _keys(commands, actor, results)
    stored = await ledger.store.find_idempotencies(
        [k.record_key for n, k in enumerate(keys) if k is not None and results[n] is None])
    staged: Staging = {}
    shared = _SharedLookups(ledger.directory, ledger.keys)
    pending = _Pending()
    for n, (command, _) in enumerate(commands):
        key = keys[n]
        if results[n] is not None:
            continue
        if key is not None and (record := stored.get(key.record_key)
                                or pending.by_key.get(key.record_key)) is not None:
            results[n] = _replayed(record, key.request_hash)
            continue
        try:
            events, body = await _decide(ledger, command, actor, context, staged, shared)
        except StaleStagingError:
            _forget(ledger, staged)
            return await _one_by_one(ledger, commands, actor, context)
        except Exception as e:  # this command's own failure: the others go on
            results[n] = e
            continue
        results[n] = _outcome(body, key, pending)
        pending.events.extend(events)
        pending.decided.append(n)
    if not await _commit(ledger, staged, pending, results, actor):
        return await _one_by_one(ledger, commands, actor, context)
    return [r if r is not None else ConflictError("the command was not run") for r in results]


def _keys(commands: Sequence[tuple[c.Model, str | None]], actor: Actor,
          results: Results) -> list[CommandKey | None]:
    """Each command's idempotency key; a malformed one is that command's result."""
    keys: list[CommandKey | None] = []
    for n, (command, given) in enumerate(commands):
        try:
            keys.append(CommandKey.of(command, actor, given) if given is not None else None)
        except InvalidInputError as e:
            keys.append(None)
            results[n] = e
    return keys


async def _commit(ledger: Ledger, staged: Staging, pending: _Pending,
                  results: Results, actor: Actor) -> bool:
    """Append what the batch decided; False when another writer got there first (nothing
    was appended: the batch is to run one by one)."""
    if pending.events or pending.records:
        try:
            await ledger.store.append_commands(pending.events, pending.records,
                                               _dependencies(staged))
        except ConflictError:
            _forget(ledger, staged)
            return False
        except Exception as e:  # the outcome is unknown: each of its commands says so
            _forget(ledger, staged)
            for n in pending.decided:
                results[n] = e
            return True
    _remember(ledger, staged)
    await ledger.committed(pending.events, actor)
    return True


async def _decide(ledger: Ledger, command: c.Model, actor: Actor, context: RequestContext,
                  staged: Staging, shared: _SharedLookups,
                  ) -> tuple[list[NewEvent], JSONObject]:
    """Decide one command on the batch's staging, once more on fresh state if it failed on
    cached state (as ``Ledger.execute``); on success its aggregates join the staging."""
    for attempt in (1, 2):
        uow = ledger.unit_of_work(trust_cache=attempt == 1, staged=staged,
                                  keys=shared if ledger.keys is not None else None,
                                  directory=shared if ledger.directory is not None else None)
        try:
            events, body = await ledger.decide(command, actor, context, uow)
        except PreconditionFailedError:
            raise  # the caller's If-Match is stale: never retried behind their back
        except StaleStagingError:
            raise
        except _RETRIED:
            if attempt == 1 and uow.used_cache:
                continue
            raise
        uow.stage()
        return events, body
    raise ConflictError("unreachable")  # pragma: no cover


def _outcome(body: JSONObject, key: CommandKey | None,
             pending: _Pending) -> CommandOutcome:
    if key is None:
        return CommandOutcome(body, replayed=False)
    record = key.record(body)
    pending.records.append(record)
    pending.by_key[record.key] = record
    return CommandOutcome(body, replayed=False, raw=record.response)


def _replayed(record: IdempotencyRecord, request_hash: bytes) -> CommandOutcome | Exception:
    try:
        return replay_outcome(record, request_hash)
    except IdempotencyKeyReusedError as e:
        return e


def _dependencies(staged: Staging) -> list[ReadDependency]:
    """The streams the batch read but does not append to, at the versions it read."""
    return [ReadDependency(stream_id, s.base_version) for stream_id, s in staged.items()
            if not s.written]


def _remember(ledger: Ledger, staged: Staging) -> None:
    """After the append: what the batch appended to is the cache's new truth (but a case
    that is over leaves it: ``AggregateCache.settle``)."""
    ledger.cache.settle([(s.aggregate, s.last_hash) for s in staged.values()
                         if s.written and s.last_hash is not None],
                        [s.aggregate for s in staged.values() if not s.written])


def _forget(ledger: Ledger, staged: Staging) -> None:
    """After a refused append: what the batch read may be stale in the cache."""
    for stream_id in staged:
        ledger.cache.evict(stream_id)


async def _one_by_one(ledger: Ledger, commands: Sequence[tuple[c.Model, str | None]],
                      actor: Actor, context: RequestContext
                      ) -> list[CommandOutcome | Exception]:
    """Each command through ``Ledger.execute``, committing alone. Under contention (batches
    racing on the same streams) its two decisions may both lose the race to other writers:
    a refused append changed nothing, so it is run again, a bounded number of times."""
    results: list[CommandOutcome | Exception] = []
    for command, key in commands:
        for attempt in range(1, _ALONE_ATTEMPTS + 1):
            try:
                results.append(await ledger.execute(command, actor, context,
                                                    idempotency_key=key))
            except Exception as e:  # this command's own failure: the others go on
                if attempt < _ALONE_ATTEMPTS and _lost_race(e):
                    continue
                results.append(e)
            break
    return results


def _lost_race(error: Exception) -> bool:
    """Whether the store refused the append because another writer got there first (a
    version taken, a dependency moved), not because of the command or its If-Match."""
    return type(error) is ConflictError or isinstance(error, DependencyChangedError)


class _SharedLookups:
    """The principals and signature keys a batch's commands name, each looked up once per
    batch (as a single request looks each up at most once)."""

    def __init__(self, directory: PrincipalDirectory | None, keys: KeyLookup | None) -> None:
        self._directory = directory
        self._keys = keys
        self._principals: dict[str, Principal | NotFoundError] = {}
        self._found_keys: dict[str, tuple[str, bytes] | None] = {}

    async def get_principal(self, principal_id: str) -> Principal:
        """``PrincipalDirectory.get_principal``, once per principal."""
        if self._directory is None:
            raise NotFoundError(f"principal {principal_id!r} not found")
        found = self._principals.get(principal_id)
        if found is None:
            try:
                found = await self._directory.get_principal(principal_id)
            except NotFoundError as e:
                found = e
            self._principals[principal_id] = found
        if isinstance(found, NotFoundError):
            raise NotFoundError(str(found))
        return found

    async def find_key(self, key_id: str) -> tuple[str, bytes] | None:
        """``KeyLookup.find_key``, once per key."""
        if self._keys is None:
            return None
        if key_id not in self._found_keys:
            self._found_keys[key_id] = await self._keys.find_key(key_id)
        return self._found_keys[key_id]
