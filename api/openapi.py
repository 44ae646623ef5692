"""The OpenAPI 3.1 document, generated from the endpoint tables and their pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from api.endpoint import Endpoint
from ledger.aggregates.departure import DEPARTURE_STATES

PROBLEM_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"},
    },
    "required": ["title", "status"],
}
_QUERY_TYPES = {"string": {"type": "string", "maxLength": 200},
                "departure_state": {"type": "string", "enum": list(DEPARTURE_STATES)},
                "integer": {"type": "integer", "minimum": 0, "maximum": 200},
                "offset": {"type": "integer", "minimum": 0, "maximum": 10**9},
                "boolean": {"type": "boolean"},
                "date": {"type": "string", "format": "date", "minLength": 10}}
_UUID = {"type": "string", "format": "uuid"}
_PATH_TYPES: dict[str, dict[str, Any]] = {
    "departure_id": _UUID, "item_id": _UUID, "stream_id": _UUID, "event_id": _UUID,
    "step": {"type": "integer", "minimum": 0, "maximum": 9},
    "key": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": 64},
    "principal_id": {"type": "string", "minLength": 1, "maxLength": 128},
    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    "question_id": {"type": "string", "pattern": "^[1-9][0-9]{0,5}$"},
}
_HEADER_TYPES: dict[str, dict[str, Any]] = {
    "Idempotency-Key": {"type": "string", "minLength": 1, "maxLength": 200},
    "If-Match": {"type": "string", "pattern": '^(W/)?"?[0-9]{1,9}"?$'},
}
_UPLOAD = {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"}}}}}


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation(endpoint: Endpoint, components: dict[str, Any]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": n, "in": "path", "required": True,
         "schema": _PATH_TYPES.get(n, {"type": "string"})} for n in endpoint.path_params]
    parameters += [{"name": n, "in": "query", "required": False, "schema": _QUERY_TYPES[t]}
                   for n, t in endpoint.query]
    parameters += [{"name": h, "in": "header", "required": False,
                    "schema": _HEADER_TYPES.get(h, {"type": "string", "maxLength": 200})}
                   for h in endpoint.headers]
    success: dict[str, Any] = {"description": "success"}
    if endpoint.response is not None:
        success["content"] = {"application/json": {"schema": _schema(endpoint.response,
                                                                     components)}}
    operation: dict[str, Any] = {
        "summary": endpoint.summary,
        "operationId": f"{endpoint.method.lower()}_{endpoint.handler.__name__}",
        "parameters": parameters,
        "responses": {str(endpoint.status): success, "default": {
            "description": "problem", "content": {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}}}}},
    }
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
    components: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(
            endpoint, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Handover Ledger", "version": "1"},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }
