"""Load aggregates from verified chains and turn their new events into chained entries.

With a cache, a command trusts the cached state (no read at all) and ``Ledger.execute``
retries once, from fresh reads, if the append then meets a newer version; without trusting it,
only the rows after the cached version are read and verified.

Every aggregate a command loads but does not append to is a **read dependency**
(``read_dependencies``): the append commits only if each is still at the version read, checked
by the store at commit time. So the cached state may be trusted for those too (a departure an
item command checks, the items a close counts): a stale read fails that check and the command
is decided again on fresh state, instead of a fresh read on every command that could still go
stale between the read and the commit.

In a batch (``ledger.service.batch``) every command's unit of work reads the batch's
**staging** first: the aggregates as its earlier commands left them, not yet committed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.aggregates.codec import clone_aggregate, encode_event, replay, stream_type_of
from ledger.chain import verify_stream
from ledger.entry import encode_entry
from ledger.errors import LedgerError, NotFoundError, PreconditionFailedError
from ledger.principals import Principal
from ledger.service.cache import AggregateCache, Cached
from ledger.service.context import Actor, RequestContext
from ledger.service.staging import Staged, Staging, StaleStagingError
from ledger.store.port import EventStore, NewEvent, ReadDependency
from ledger.workday import WorkingCalendar

A = TypeVar("A", bound=Aggregate)


class KeyLookup(Protocol):
    """Registered signature keys: key id → (owner principal id, Ed25519 public key)."""

    async def find_key(self, key_id: str) -> tuple[str, bytes] | None:
        """The owner and public key of a registered key."""


class PrincipalDirectory(Protocol):
    """Who the ledger knows: the people and systems a case may name."""

    async def get_principal(self, principal_id: str) -> Principal:
        """The principal (``active`` says whether it may still act); NotFoundError if unknown."""


class UnitOfWork:
    """Tracks the aggregates one command touches; ``collect`` yields what to append."""

    def __init__(self, store: EventStore, cache: AggregateCache | None = None,
                 trust_cache: bool = False, keys: KeyLookup | None = None,
                 directory: PrincipalDirectory | None = None,
                 staged: Staging | None = None, admit: bool = True) -> None:
        self.store = store
        # whether a stream read afresh joins the cache (a query's reads only refresh what
        # is there: the cache follows the commands' open work, not whatever was read)
        self.admit = admit
        self.staged = staged  # a batch's pending state, read before the cache (see ``get``)
        self.keys = keys
        self.directory = directory
        self.separation_of_duties = True  # Settings.separation_of_duties, set by the Ledger
        # the organisation's working calendar (None: the PRC's) and the clock the use
        # cases read (the aggregates never do), both set by the Ledger
        self.calendar: WorkingCalendar | None = None
        self.clock: Callable[[], dt.datetime] = utc_now
        self.close_requires_confirmation = True  # Settings.close_requires_confirmation, too
        self.auto_apply_checklists = False  # Settings.auto_apply_checklists, likewise
        self.cache = cache
        self.trust_cache = trust_cache
        self.used_cache = False
        # One record per aggregate (one hash of its UUID key per look-up: every command's
        # path goes through here, and a UUID hashes in Python code).
        self._tracked: dict[UUID, _Tracked] = {}
        self._stale: list[PreconditionFailedError] = []  # If-Match expectations not met

    async def get(self, cls: type[A], aggregate_id: UUID | str,
                  expected_version: int | None = None, fresh: bool = False,
                  read_only: bool = False) -> A:
        """Load (verifying its chain) the aggregate ``aggregate_id`` of type ``cls``.

        ``fresh`` reads the rows after the cached version even when the cache is trusted. It
        is rarely needed: an aggregate the command only reads is a read dependency, which the
        append re-checks at commit. ``read_only``: the command will not change it (an item
        command's departure); ``collect`` refuses a command that does.
        """
        key = aggregate_id if isinstance(aggregate_id, UUID) else _parse_id(aggregate_id)
        tracked = self._tracked.get(key)
        if tracked is not None:
            return _checked(cls, tracked.aggregate, key)
        if self.staged is not None and (staged := self.staged.get(key)) is not None:
            return await self._get_staged(cls, key, staged, expected_version, fresh)
        # The cache hands out a new aggregate each time (it keeps them packed): this unit's
        # own, to change or to replay onto.
        cached = self.cache.get(key) if self.cache is not None else None
        trusted = False
        if cached is not None and self.trust_cache and not fresh and expected_version in (
                None, cached.aggregate.version):
            self.used_cache = trusted = True
        else:
            cached = await self._refresh(key, cached)
        aggregate = _checked(cls, cached.aggregate, key)
        self._expect(cls, key, aggregate, expected_version)
        self._tracked[key] = _Tracked(aggregate, cached.last_hash, aggregate.version,
                                      read_only, trusted=trusted)
        return aggregate

    def _expect(self, cls: type[A], key: UUID, aggregate: A,
                expected_version: int | None) -> None:
        if expected_version is not None and aggregate.version != expected_version:
            # Not raised here: the use case first decides whether its actor may see this
            # aggregate at all, so a stranger's If-Match learns nothing (see ``stale``).
            self._stale.append(PreconditionFailedError(
                f"{cls.__name__} {key} is at version {aggregate.version}, "
                f"not {expected_version}"))

    async def _get_staged(self, cls: type[A], key: UUID, staged: Staged,
                          expected_version: int | None, fresh: bool) -> A:
        """An aggregate as the batch's earlier commands left it (a clone: a failing command
        leaves the staging unchanged). On fresh state, staging that came from the cache is
        first checked against the store: moved, the batch's decisions are void."""
        if staged.trusted:
            if self.trust_cache and not fresh:
                self.used_cache = True
            else:
                if await self.store.read_stream(key, staged.base_version):
                    raise StaleStagingError(f"{key} moved under the batch")
                staged.trusted = False
        aggregate = _checked(cls, clone_aggregate(staged.aggregate), key)
        self._expect(cls, key, aggregate, expected_version)
        self._tracked[key] = _Tracked(aggregate, staged.last_hash, aggregate.version, False,
                                      trusted=staged.trusted)
        return aggregate

    def stage(self) -> None:
        """After a batch's command was decided: the aggregates it loaded, as it left them,
        become what the batch's later commands read (precondition: ``staged`` is set and
        ``collect`` was called)."""
        if self.staged is None:
            raise LedgerError("stage: this unit of work belongs to no batch")
        for key, tracked in self._tracked.items():
            prior = self.staged.get(key)
            if prior is None:
                self.staged[key] = Staged(tracked.aggregate, tracked.last_hash,
                                          tracked.version_read or 0, tracked.appended,
                                          tracked.trusted)
            else:
                prior.aggregate, prior.last_hash = tracked.aggregate, tracked.last_hash
                prior.written = prior.written or tracked.appended

    def check_expectations(self) -> None:
        """Raise the first unmet If-Match expectation (the caller's view is stale)."""
        if self._stale:
            raise self._stale[0]

    async def _refresh(self, key: UUID, cached: Cached | None) -> Cached:
        after = cached.aggregate.version if cached is not None else 0
        rows = await self.store.read_stream(key, after)
        if not rows:
            if cached is None:
                raise NotFoundError(f"{key} not found")
            return cached  # nothing new: the cache already holds it
        entries = verify_stream(rows, strict=False, after_version=after,
                                after_hash=cached.last_hash if cached else None)
        fresh = Cached(replay(entries, cached.aggregate if cached else None),
                       entries[-1].event_hash)
        if self.cache is not None and (self.admit or key in self.cache):
            self.cache.put(fresh.aggregate, fresh.last_hash)
        return fresh

    def add(self, aggregate: Aggregate) -> None:
        """Track a newly created aggregate."""
        self._tracked[aggregate.id] = _Tracked(aggregate, None, None, False)

    def collect(self, actor: Actor, context: RequestContext) -> list[NewEvent]:
        """Encode every pending event as a chained entry, in the order they happened."""
        out: list[NewEvent] = []
        actor_json, context_json = actor.as_json(), context.as_json()
        for aggregate_id, tracked in self._tracked.items():
            aggregate = tracked.aggregate
            if not aggregate.pending_events:
                continue
            if tracked.read_only:
                if self.cache is not None:  # a command that broke its word: read it afresh
                    self.cache.evict(aggregate_id)
                raise LedgerError(f"a command changed {aggregate_id}, loaded read-only")
            prev = tracked.last_hash
            stream_type = stream_type_of(aggregate)
            for domain_event in aggregate.collect_events():
                event_type, payload = encode_event(domain_event)
                event_id = uuid.uuid4()
                raw, event_hash = encode_entry(
                    event_id=event_id, stream_type=stream_type, stream_id=aggregate_id,
                    version=domain_event.originator_version, event_type=event_type,
                    recorded_at=domain_event.timestamp, actor=actor_json,
                    context=context_json, payload=payload, prev=prev,
                )
                out.append(NewEvent(event_id, stream_type, aggregate_id,
                                    domain_event.originator_version, event_type,
                                    domain_event.timestamp, raw, event_hash))
                prev = event_hash
                tracked.appended = True
            tracked.last_hash = prev
        return out

    def read_dependencies(self) -> list[ReadDependency]:
        """After ``collect``: every loaded aggregate the command appends nothing to, at the
        version it was read (the store refuses the append if any has moved since)."""
        return [ReadDependency(aggregate_id, tracked.version_read)
                for aggregate_id, tracked in self._tracked.items()
                if tracked.version_read is not None and not tracked.appended]

    def remember(self) -> None:
        """After a successful append: the aggregates it appended to are the cache's new truth
        (the ones only read are in the cache already, as they were read), those of a case
        that is over leave it (``AggregateCache.settle``)."""
        if self.cache is None:
            return
        tracked = self._tracked.values()
        self.cache.settle([(t.aggregate, t.last_hash) for t in tracked
                           if t.appended and t.last_hash is not None],
                          [t.aggregate for t in tracked if not t.appended])

    def forget(self) -> None:
        """After a conflict: drop what this command read from the cache."""
        if self.cache is not None:
            for aggregate_id in self._tracked:
                self.cache.evict(aggregate_id)


class _Tracked:
    """One aggregate a command touches: the state, the hash its next event chains onto, the
    version it was loaded at (None: created by this command), whether it was loaded read-only
    (so it must stay unchanged), whether events were collected, and whether it
    came from the trusted cache unread (a batch's staging remembers that)."""

    __slots__ = ("aggregate", "appended", "last_hash", "read_only", "trusted", "version_read")

    def __init__(self, aggregate: Aggregate, last_hash: bytes | None, version_read: int | None,
                 read_only: bool, trusted: bool = False) -> None:
        self.aggregate = aggregate
        self.last_hash = last_hash
        self.version_read = version_read
        self.read_only = read_only
        self.trusted = trusted
        self.appended = False


def utc_now() -> dt.datetime:
    """The current instant, in UTC: the default clock."""
    return dt.datetime.now(dt.UTC)


@lru_cache(maxsize=1 << 14)
def _parse_id(text: str) -> UUID:
    """An id held as text (an item's departure id): parsed once per id, as every item command
    loads its departure."""
    try:
        return UUID(text)
    except ValueError:
        raise NotFoundError(f"{text!r} is not a valid id") from None


def _checked(cls: type[A], aggregate: Aggregate, key: UUID) -> A:
    # The exact-type test first: an ABC isinstance check costs more, on every load.
    if type(aggregate) is not cls and not isinstance(aggregate, cls):
        # The same words as an absent stream: naming the type asked for would tell a prober
        # that ``key`` is some other kind of stream.
        raise NotFoundError(f"{key} not found")
    return aggregate
