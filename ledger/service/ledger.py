"""The Ledger facade: run a command exactly once, append its events atomically, answer queries.

``execute`` is the one path by which state changes. With an idempotency key, the first outcome
is stored in the same transaction as the events, and a replay returns it byte for byte. The
append carries the command's read dependencies (``UnitOfWork.read_dependencies``), so a
decision made on a stream that moved before the commit is refused and made once more.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.canonical import JSONObject, encode_canonical
from ledger.chain import verify_stream
from ledger.entry import Entry
from ledger.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    InvalidTransitionError,
    LedgerError,
    NotFoundError,
    PreconditionFailedError,
    VerificationError,
)
from ledger.recent_entries import RECENT
from ledger.service import commands as c
from ledger.service import confirmation_cases as hc
from ledger.service import date_cases as dc
from ledger.service import departure_cases as d
from ledger.service import dispute_cases as disputes
from ledger.service import evidence_cases as e
from ledger.service import export_cases as x
from ledger.service import flow_cases as f
from ledger.service import item_cases as i
from ledger.service import request_cases as rq
from ledger.service import signer_cases as sc
from ledger.service import template_cases as t
from ledger.service.cache import AggregateCache
from ledger.service.case_end import CaseLinks, revoke_links_of_ended_cases
from ledger.service.context import Actor, RequestContext
from ledger.service.idempotency import StoredResponses, check_same_request, scoped_idempotency_key
from ledger.service.policy import LEDGER_ACTOR_ID
from ledger.service.staging import Staging
from ledger.service.unit_of_work import KeyLookup, PrincipalDirectory, UnitOfWork, utc_now
from ledger.store.port import (
    DependencyChangedError,
    EventStore,
    IdempotencyRecord,
    KeyTakenError,
    NewEvent,
)
from ledger.workday import WorkingCalendar

A = TypeVar("A", bound=Aggregate)
Handler = Callable[[Any, Actor, UnitOfWork], Awaitable[JSONObject]]

HANDLERS: dict[type[c.Model], Handler] = {
    c.StartDeparture: d.start_departure,
    c.SubmitForApproval: d.submit_for_approval,
    c.ApproveStep: d.approve_step,
    c.RejectStep: d.reject_step,
    c.WithdrawDeparture: d.withdraw_departure,
    c.ApplyTemplate: d.apply_template,
    c.AddItem: d.add_item,
    c.SendReminder: d.send_reminder,
    c.CloseDeparture: d.close_departure,
    c.SubmitItem: i.submit_item,
    c.ConfirmItem: i.confirm_item,
    c.RejectItem: i.reject_item,
    c.WaiveItem: i.waive_item,
    c.ReassignItem: i.reassign_item,
    c.CommentItem: i.comment_item,
    c.RecordExternalEvidence: i.record_external_evidence,
    c.RecordUpload: e.record_upload,
    c.DefineTemplate: t.define_template,
    c.HandOverDeparture: d.hand_over_departure,
    # questions and escalated confirmations
    c.AnswerQuestion: f.answer_question,
    c.EscalateConfirmation: f.escalate_confirmation,
    c.SignHandoverConfirmation: hc.sign_handover_confirmation,
    c.RaiseDispute: disputes.raise_dispute,
    c.AddDisputeStatement: disputes.add_dispute_statement,
    c.RecordDisputeFinding: disputes.record_dispute_finding,
    c.RecordDisputeUpload: disputes.record_dispute_upload,
    c.RequestDeparture: rq.request_departure,
    c.AcceptDepartureRequest: rq.accept_departure_request,
    c.DeclineDepartureRequest: rq.decline_departure_request,
    c.ChangeLastWorkingDay: dc.change_last_working_day,
    c.RecordLeft: dc.record_left,
    c.RecordContractTerminated: dc.record_contract_terminated,
    c.FreezeAccess: dc.freeze_access,
    c.ExcuseConfirmationSignature: hc.excuse_confirmation_signature,
    c.WithdrawDepartureRequest: rq.withdraw_departure_request,
    c.ReplaceItemSigner: sc.replace_item_signer,
    x.RecordEvidenceExport: x.record_evidence_export,
}
SYSTEM_ACTOR = Actor(id=LEDGER_ACTOR_ID, role="operator", name="Handover Ledger")


@dataclass(frozen=True)
class CommandOutcome:
    """What a command did: its result, the events it appended, and whether it was a replay."""

    body: JSONObject
    replayed: bool
    raw: bytes = b""

    def encoded(self) -> bytes:
        """The body as canonical JSON: the same bytes for the first answer and every replay."""
        return self.raw or encode_canonical(self.body)

    @property
    def result(self) -> JSONObject:
        """The use case's own result (ids, new state)."""
        value = self.body["result"]
        return value if isinstance(value, dict) else {}


class Ledger:
    """Runs commands against one event store."""

    def __init__(self, store: EventStore, on_append: Callable[[], None] | None = None,
                 cache: AggregateCache | None = None, keys: KeyLookup | None = None,
                 directory: PrincipalDirectory | None = None,
                 separation_of_duties: bool = True,
                 calendar: WorkingCalendar | None = None,
                 clock: Callable[[], dt.datetime] = utc_now,
                 close_requires_confirmation: bool = True,
                 auto_apply_checklists: bool = False,
                 on_appended: Callable[[int], None] | None = None,
                 links: CaseLinks | None = None) -> None:
        self.store = store
        self._on_appended = on_appended  # how many events each commit added (metrics)
        self.links = links  # a withdrawn or closed case's unused sign-in links are revoked
        self.separation_of_duties = separation_of_duties
        self.calendar = calendar  # None is the PRC's (ledger.service.item_flow)
        self.clock = clock
        self.close_requires_confirmation = close_requires_confirmation
        self.auto_apply_checklists = auto_apply_checklists
        self.keys = keys
        self.directory = directory
        self._on_append = on_append
        self.cache = cache if cache is not None else AggregateCache()
        self.responses = StoredResponses(store)  # the API's POSTs that are not commands

    async def execute(
        self, command: c.Model, actor: Actor, context: RequestContext | None = None,
        idempotency_key: str | None = None,
    ) -> CommandOutcome:
        """Run ``command`` as ``actor``; with a key, at most once per (actor, key)."""
        context = context or RequestContext()
        key = (CommandKey.of(command, actor, idempotency_key) if idempotency_key is not None
               else None)
        if (replayed := await self._recorded(key)) is not None:
            return replayed
        for attempt in (1, 2):
            uow = self.unit_of_work(trust_cache=attempt == 1)
            try:
                events, body = await self.decide(command, actor, context, uow)
                record = key.record(body) if key is not None else None
                if events or record is not None:
                    await self.store.append(events, record, uow.read_dependencies())
            except PreconditionFailedError:
                raise  # the caller's If-Match is stale: never retried behind their back
            except (InvalidTransitionError, ForbiddenError, NotFoundError, ConflictError,
                    InvalidInputError, VerificationError) as e:
                if isinstance(e, ConflictError):
                    uow.forget()
                # A concurrent request with the same key may have done it already.
                if (replayed := await self._recorded(key)) is not None:
                    return replayed
                if uow.trust_cache and not isinstance(e, KeyTakenError) and (
                        uow.used_cache or isinstance(e, DependencyChangedError)):
                    # Decided on cached state, or on a stream that moved before the commit:
                    # decide once more on fresh state.
                    continue
                raise
            uow.remember()
            await self.committed(events, actor)
            return CommandOutcome(body, replayed=False, raw=record.response if record else b"")
        raise ConflictError("unreachable")  # pragma: no cover

    async def execute_batch(self, commands: Sequence[tuple[c.Model, str | None]], actor: Actor,
                            context: RequestContext | None = None,
                            ) -> list[CommandOutcome | Exception]:
        """Run ``(command, idempotency key)`` pairs in order as ``actor``, as ``execute`` would
        one after another, but sharing one idempotency read and one append for all (see
        ``ledger.service.batch``); per command, its outcome or the error it met."""
        from ledger.service.batch import run_batch  # it builds on this module

        return await run_batch(self, commands, actor, context or RequestContext())

    def unit_of_work(self, trust_cache: bool, staged: Staging | None = None,
                     keys: KeyLookup | None = None,
                     directory: PrincipalDirectory | None = None) -> UnitOfWork:
        """A unit of work with this ledger's settings; for a batch's commands, ``staged`` (the
        batch's pending state) and its own ``keys`` and ``directory`` (looking each up once)."""
        uow = UnitOfWork(self.store, self.cache, trust_cache=trust_cache,
                         keys=keys or self.keys, directory=directory or self.directory,
                         staged=staged)
        uow.separation_of_duties = self.separation_of_duties
        uow.calendar, uow.clock = self.calendar, self.clock
        uow.close_requires_confirmation = self.close_requires_confirmation
        uow.auto_apply_checklists = self.auto_apply_checklists
        return uow

    async def decide(self, command: c.Model, actor: Actor, context: RequestContext,
                     uow: UnitOfWork) -> tuple[list[NewEvent], JSONObject]:
        """Run the use case in ``uow``: the events to append and the response body (nothing
        is stored yet)."""
        try:
            result = await HANDLERS[type(command)](command, actor, uow)
        except NotFoundError:
            raise  # absent, or hidden from this actor: a stale If-Match says no more
        except LedgerError:
            uow.check_expectations()  # judged on a state the caller has not seen
            raise
        uow.check_expectations()
        events = uow.collect(actor, context)
        return events, _body(command, result, events)

    async def committed(self, events: Sequence[NewEvent], actor: Actor) -> None:
        """After ``actor``'s command(s) committed ``events``: the sequencer and the metrics are
        told, and a case they withdrew or closed has its unused sign-in links revoked."""
        if not events:
            return
        RECENT.wrote(events)  # before the sequencer hears: its followers will read them
        if self._on_append is not None:
            self._on_append()
        if self._on_appended is not None:
            self._on_appended(len(events))
        if self.links is not None:
            await revoke_links_of_ended_cases(self.links, events, actor)

    async def _recorded(self, key: CommandKey | None) -> CommandOutcome | None:
        """The stored outcome for this key, replayed; None when there is none."""
        if key is None:
            return None
        found = await self.store.find_idempotency(key.record_key)
        return replay_outcome(found, key.request_hash) if found is not None else None

    async def load(self, cls: type[A], aggregate_id: UUID | str) -> A:
        """Return the current state of one aggregate (new rows verified on the way). A read:
        it refreshes the aggregate in the cache if it is there, and adds nothing (reads of
        finished cases, a legal export say, do not push the open work out)."""
        return await UnitOfWork(self.store, self.cache, admit=False).get(cls, aggregate_id)

    async def entries(self, stream_id: UUID) -> list[Entry]:
        """Return one stream's verified entries."""
        return verify_stream(await self.store.read_stream(stream_id))

    async def install_builtin_templates(self) -> list[JSONObject]:
        """Create or revise the shipped templates; unchanged ones append nothing."""
        results = []
        for command in t.builtin_template_commands():
            outcome = await self.execute(command, SYSTEM_ACTOR,
                                         RequestContext(auth="system"))
            results.append(outcome.result)
        return results


@dataclass(frozen=True)
class CommandKey:
    """An idempotency key, scoped to its principal, and the hash of the request it names."""

    record_key: str
    request_hash: bytes

    @classmethod
    def of(cls, command: c.Model, actor: Actor, idempotency_key: str) -> CommandKey:
        """The key of ``command`` by ``actor`` (InvalidInputError for a malformed key)."""
        return cls(scoped_idempotency_key(actor, idempotency_key),
                   _request_hash(command, actor))

    def record(self, body: JSONObject) -> IdempotencyRecord:
        """The record storing ``body`` as this key's first outcome."""
        return IdempotencyRecord(self.record_key, self.request_hash, encode_canonical(body))


def _body(command: c.Model, result: JSONObject, events: list[NewEvent]) -> JSONObject:
    return {
        "command": str(getattr(command, "type", type(command).__name__)),
        "result": result,
        "events": [{"id": str(e.event_id), "stream_type": e.stream_type,
                    "stream_id": str(e.stream_id), "version": e.version,
                    "type": e.event_type, "hash": e.event_hash.hex()} for e in events],
    }


def _request_hash(command: c.Model, actor: Actor) -> bytes:
    document: JSONObject = {"command": command.model_dump(mode="json"), "actor": actor.id,
                            "role": actor.role}
    return hashlib.sha256(encode_canonical(document)).digest()


def replay_outcome(record: IdempotencyRecord, request_hash: bytes) -> CommandOutcome:
    """The outcome ``record`` stored, replayed, if it answered this request."""
    check_same_request(record, request_hash)
    return CommandOutcome(json.loads(record.response), replayed=True, raw=record.response)
