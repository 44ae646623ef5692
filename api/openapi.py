"""The OpenAPI 3.1 document, generated from the endpoint tables and their pydantic models:
every operation with an operationId (snake_case, a verb), a tag, its parameters (the
``X-Ledger-Role`` header on every authenticated one), its request and response schemas and
its media types; every error as ``application/problem+json`` (api/problem.py's ``Problem``)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from api.auth import ROLE_HEADER
from api.endpoint import Endpoint
from api.problem import PROBLEM_TYPE, Problem
from ledger.aggregates.departure import DEPARTURE_STATES
from ledger.service.context import ROLES

# Path prefix → tag, first match wins; any other path is tagged by its first segment after /v1.
_TAGS: tuple[tuple[str, str], ...] = (
    ("/log/", "log"), ("/v1/log/", "log"), ("/v1/streams/", "log"), ("/v1/events/", "log"),
    ("/v1/departures", "departures"), ("/v1/items/", "items"), ("/v1/disputes", "disputes"),
    ("/v1/templates", "templates"), ("/v1/principals", "access"), ("/v1/commands", "commands"),
    ("/healthz", "health"), ("/readyz", "health"), ("/v1/boards", "boards"),
    ("/v1/inbox", "boards"), ("/v1/queues", "boards"), ("/v1/reports", "boards"))
TAG_DESCRIPTIONS = {
    "departures": "Offboarding cases: start, approve, checklists, close, the handover "
                  "confirmation, the leaver's own request, case files",
    "items": "Handover items: submit, confirm, reject, waive, evidence, questions",
    "disputes": "Disputes after close: statements, evidence, HR's finding",
    "templates": "Checklists (templates) by role family",
    "commands": "Many commands in one request",
    "log": "The tamper-evident log: entries, proofs, checkpoints and tiles (C2SP tlog-tiles; "
           "the /log and /v1/log endpoints are public)",
    "access": "Principals, tokens and signing keys (operators; a principal for their own)",
    "health": "Liveness and readiness",
    "boards": "Read models: a case's board, the HR dashboard, inboxes, department queues, the "
              "handover report, live updates (Server-Sent Events)",
}
_QUERY_TYPES = {"string": {"type": "string", "maxLength": 200},
                "departure_state": {"type": "string", "enum": list(DEPARTURE_STATES)},
                "integer": {"type": "integer", "minimum": 0, "maximum": 200},
                "offset": {"type": "integer", "minimum": 0, "maximum": 10**9},
                "boolean": {"type": "boolean"},
                "date": {"type": "string", "format": "date", "minLength": 10},
                "position": {"type": "integer", "minimum": 0, "maximum": 2**62},
                "uuid": {"type": "string", "format": "uuid"},
                "report_format": {"type": "string", "enum": ["json", "csv"]},
                "risk": {"type": "string", "enum": ["medium", "high"]}}
_QUERY_TYPES |= {"sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                 "size": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
                 "proof_format": {"type": "string", "maxLength": 200, "description":
                                  "tlog-proof: answer text/x.tlog.proof instead of JSON"}}
_UUID = {"type": "string", "format": "uuid"}
_PATH_TYPES: dict[str, dict[str, Any]] = {
    "departure_id": _UUID, "item_id": _UUID, "stream_id": _UUID, "event_id": _UUID,
    "dispute_id": _UUID,
    "path": {"type": "string", "maxLength": 200, "description": "a C2SP tlog-tiles tile path "
             "after tile/ (its slashes may be percent-encoded)", "pattern":
             r"^(entries|0|[1-9][0-9]?)/(x[0-9]{3}/){0,6}[0-9]{3}(\.p/[0-9]{1,3})?$"},
    "step": {"type": "integer", "minimum": 0, "maximum": 9},
    "size": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
    "key": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": 64},
    "principal_id": {"type": "string", "minLength": 1, "maxLength": 128},
    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    "question_id": {"type": "string", "pattern": "^[1-9][0-9]{0,5}$"},
}
_HEADER_TYPES: dict[str, dict[str, Any]] = {
    "Idempotency-Key": {"type": "string", "minLength": 1, "maxLength": 200},
    "If-Match": {"type": "string", "pattern": '^(W/)?"?[0-9]{1,9}"?$'},
    ROLE_HEADER: {"$ref": "#/components/schemas/Role"},
}
# Empty, as absent, means the principal's first role.
ROLE_SCHEMA = {"title": "Role", "type": "string", "enum": [*ROLES, ""], "description":
               "a role to act in (X-Ledger-Role: one of the principal's; empty or absent: "
               "its first)"}
_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_PLACEHOLDER_REGEX = re.compile(r"{(\w+):[^}]*}")
_UPLOAD = {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"}}}}}


# OpenAPI links (3.1, section 4.8.20): where an operation's answer names something that another
# operation's path takes, so that a client (and schemathesis's stateful phase) can chain them:
# POST /v1/departures answers the departure_id that GET /v1/departures/{departure_id} reads.
# Producer operationId → path parameter → runtime expression for its value.
_BODY = "$response.body#"
_LINKED: dict[str, dict[str, str]] = {
    "start_departure": {"departure_id": f"{_BODY}/result/departure_id",
                        "stream_id": f"{_BODY}/result/departure_id",
                        "event_id": f"{_BODY}/events/0/id"},
    "request_departure": {"departure_id": f"{_BODY}/result/departure_id",
                          "stream_id": f"{_BODY}/result/departure_id"},
    "add_item": {"item_id": f"{_BODY}/result/item_id", "stream_id": f"{_BODY}/result/item_id",
                 "event_id": f"{_BODY}/events/0/id"},
    "comment_item": {"event_id": f"{_BODY}/events/0/id", "item_id": "$request.path.item_id"},
    "raise_dispute": {"dispute_id": f"{_BODY}/result/dispute_id",
                      "stream_id": f"{_BODY}/result/dispute_id"},
    "upload_evidence": {"sha256": f"{_BODY}/sha256", "item_id": "$request.path.item_id"},
    "upload_dispute_evidence": {"sha256": f"{_BODY}/sha256",
                                "dispute_id": "$request.path.dispute_id"},
    "create_principal": {"principal_id": f"{_BODY}/id"},
    "issue_token": {"principal_id": f"{_BODY}/principal_id", "token_id": f"{_BODY}/token_id"},
    "register_key": {"principal_id": f"{_BODY}/principal_id", "key_id": f"{_BODY}/key_id"},
    "issue_sign_in_link": {"principal_id": f"{_BODY}/principal_id",
                           "link_id": f"{_BODY}/link/link_id"},
    "create_webhook": {"webhook_id": f"{_BODY}/id"},
}


def _links(producer: Endpoint, endpoints: list[Endpoint]) -> dict[str, Any]:
    """The links from ``producer``'s success answer to every operation taking a path
    parameter it names (not to live streams, which never end)."""
    given = _LINKED.get(producer.name, {})
    links: dict[str, Any] = {}
    for consumer in endpoints:
        shared = [p for p in consumer.path_params if p in given]
        if shared and consumer is not producer and not any(
                media == "text/event-stream" for media, _ in consumer.produces):
            links[consumer.name] = {"operationId": consumer.name,
                                    "parameters": {p: given[p] for p in shared}}
    return links


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, found in {**schema.pop("$defs", {}), model.__name__: schema}.items():
        if components.setdefault(name, found) != found:
            raise ValueError(f"two different models are named {name} in the API")
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def tag_of(endpoint: Endpoint) -> str:
    """The endpoint's tag: its own, else by its path."""
    if endpoint.tag:
        return endpoint.tag
    for prefix, tag in _TAGS:
        if endpoint.path.startswith(prefix):
            return tag
    return endpoint.path.removeprefix("/v1").strip("/").split("/")[0] or "default"


def path_template(endpoint: Endpoint) -> str:
    """The OpenAPI path: ``{name:regex}`` placeholders without their router regex."""
    return _PLACEHOLDER_REGEX.sub(r"{\1}", endpoint.path)


def _parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {"name": n, "in": "path", "required": True,
         "schema": _PATH_TYPES.get(n, {"type": "string"})} for n in endpoint.path_params]
    parameters += [{"name": n, "in": "query", "required": n in endpoint.required_query,
                    "schema": _QUERY_TYPES[t]} for n, t in endpoint.query]
    headers = endpoint.headers if endpoint.public else (*endpoint.headers, ROLE_HEADER)
    parameters += [{"name": h, "in": "header", "required": False,
                    "schema": _HEADER_TYPES.get(h, {"type": "string", "maxLength": 200})}
                   for h in headers]
    return parameters


def _success(endpoint: Endpoint, components: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = {}
    if endpoint.response is not None:
        content["application/json"] = {"schema": _schema(endpoint.response, components)}
    content |= {media: {"schema": schema} for media, schema in endpoint.produces}
    return {"description": endpoint.summary, **({"content": content} if content else {})}


def _operation(endpoint: Endpoint, components: dict[str, Any],
               endpoints: list[Endpoint]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": endpoint.summary,
        "operationId": endpoint.name,
        "tags": [tag_of(endpoint)],
        "parameters": _parameters(endpoint),
        "responses": {str(endpoint.status): _success(endpoint, components), "default": {
            "description": "a problem (RFC 9457)", "content": {PROBLEM_TYPE: {
                "schema": _PROBLEM}}}},
    }
    if links := _links(endpoint, endpoints):
        operation["responses"][str(endpoint.status)]["links"] = links
    if endpoint.handler.__doc__:
        operation["description"] = endpoint.handler.__doc__.strip()
    if endpoint.body is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _schema(endpoint.body, components)}}}
    if endpoint.upload:
        operation["requestBody"] = {"required": True, "content": _UPLOAD}
    if endpoint.form is not None:
        operation["requestBody"] = {"required": True, "content": {
            "multipart/form-data": {"schema": _schema(endpoint.form, components)}}}
    if endpoint.public:
        operation["security"] = []
    return operation


def build_openapi(endpoints: list[Endpoint]) -> dict[str, Any]:
    """The whole document."""
    components: dict[str, Any] = {"Role": ROLE_SCHEMA}
    _schema(Problem, components)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(path_template(endpoint), {})[endpoint.method.lower()] = _operation(
            endpoint, components, endpoints)
    tags = sorted({tag_of(e) for e in endpoints})
    return {
        "openapi": "3.1.0",
        "info": {"title": "Handover Ledger", "version": "1"},
        "tags": [{"name": t, "description": TAG_DESCRIPTIONS.get(t, t)} for t in tags],
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }
