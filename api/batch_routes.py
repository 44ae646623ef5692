"""``POST /v1/commands``: many commands in one request (an IAM system reporting disabled
accounts, an approval flow), each with its own idempotency key and its own result."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from api.auth import actor_of, context_of
from api.body import read_object
from api.command_routes import SUCCESS_STATUS
from api.endpoint import EndpointTable
from api.facts import Fact
from api.problem import Problem, describe_error, describe_validation, internal_problem
from api.runtime_key import RUNTIME
from api.views import CommandResult, ok
from ledger.errors import LedgerError
from ledger.service.commands import Command
from ledger.service.idempotency import MAX_IDEMPOTENCY_KEY

table = EndpointTable()
MAX_COMMANDS = 100


class BatchItem(BaseModel):
    """One command and its own idempotency key."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    idempotency_key: Annotated[
        str, StringConstraints(min_length=1, max_length=MAX_IDEMPOTENCY_KEY)] | None = None
    command: Annotated[Command, Field(discriminator="type")]


class Batch(BaseModel):
    """Up to 100 commands, run in order, each on the state the earlier ones left; one failing
    does not stop the others, and those that succeed commit together."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    commands: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_COMMANDS)


class BatchRequest(BaseModel):
    """Up to 100 commands, run in order; one failing does not stop the others (each is
    checked on its own: an invalid one gets its own 422 in the results)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    commands: list[BatchItem] = Field(min_length=1, max_length=MAX_COMMANDS)


class BatchEntry(Fact):
    """One command's outcome: the HTTP status it would have had alone, and either its
    ``body`` (with ``replayed``: an idempotent replay) or its ``problem``."""

    status: int
    replayed: bool | None = None
    body: CommandResult | None = None
    problem: Problem | None = None


class BatchResult(BaseModel):
    """Per command, in order: its status, and its body or problem."""

    model_config = ConfigDict(frozen=True)
    results: list[BatchEntry]


@table.route("POST", "/v1/commands", "Run up to 100 commands, each with its own result",
             body=BatchRequest, response=BatchResult)
async def run_commands(request: web.Request) -> web.Response:
    """Run the commands as the caller, in order, sharing one append (``Ledger.execute_batch``);
    validation and ledger errors are per command."""
    batch = Batch.model_validate(await read_object(request))
    results: list[dict[str, Any] | None] = [None] * len(batch.commands)
    valid: list[tuple[int, BatchItem]] = []
    for n, raw in enumerate(batch.commands):
        try:
            valid.append((n, BatchItem.model_validate(raw)))
        except ValidationError as e:
            results[n] = {"status": 422, "problem": describe_validation(e)}
    outcomes = await request.app[RUNTIME].ledger.execute_batch(
        [(item.command, item.idempotency_key) for _, item in valid], actor_of(request),
        context_of(request)) if valid else []
    for (n, item), outcome in zip(valid, outcomes, strict=True):
        if isinstance(outcome, LedgerError):
            problem = describe_error(outcome)
            results[n] = {"status": problem["status"], "problem": problem}
        elif isinstance(outcome, Exception):
            results[n] = {"status": 500, "problem": internal_problem(
                "the command failed; quote the error id", "batch command", outcome)}
        else:
            results[n] = {"status": SUCCESS_STATUS.get(item.command.type, 200),
                          "replayed": outcome.replayed, "body": outcome.body}
    return ok(BatchResult.model_validate({"results": results}))
