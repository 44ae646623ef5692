"""/openapi.json, served by a real aiohttp server on 127.0.0.1: a valid OpenAPI 3.1 document
that describes exactly the routes the application registers (both ways).

The public transparency-log routes (``/log/…``, ``/v1/log/…``) are in the document too, with
their text and binary media types.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, make_mocked_request
from openapi_spec_validator import OpenAPIV31SpecValidator

from api.app import build_app, endpoints
from ledger.bootstrap import bootstrap
from ledger.principals import Principal, new_token
from ledger.runtime import Runtime
from ledger.settings import Settings
from tests.conftest import TEST_ORIGIN

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PLACEHOLDER = re.compile(r"{([^}:]+)(?::[^}]*)?}")
SAMPLE_ID = "00000000-0000-4000-8000-000000000000"


@dataclass
class Served:
    runtime: Runtime
    app: web.Application
    base: str
    document: dict[str, Any]
    token: str


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    runtime = await bootstrap(Settings(database_url=f"sqlite:///{tmp_path}/l.db",
                                          data_dir=tmp_path, log_origin=TEST_ORIGIN,
                                          key_dir=tmp_path / "keys"))
    await runtime.principals.add_principal(Principal("hr.openapi", "HR OpenAPI", ("hr",)))
    token, token_hash = new_token()
    await runtime.principals.add_token(token_hash, "hr.openapi", "test")
    app = build_app(runtime)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    try:
        async with aiohttp.ClientSession() as session, \
                session.get(base + "/openapi.json") as response:
            assert response.status == 200
            assert response.content_type == "application/json"
            document = await response.json()
        yield Served(runtime, app, base, document, token)
    finally:
        await server.close()
        await runtime.close()


def registered_operations(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, canonical path) of every route, less HEAD."""
    found = set()
    for route in app.router.routes():
        resource = route.resource
        if route.method == "HEAD" or resource is None:
            continue
        found.add((route.method.upper(), resource.canonical))
    return found


def documented_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path template) of every operation in the document."""
    return {(method.upper(), path) for path, item in document["paths"].items()
            for method in item if method in HTTP_METHODS}


def _resolve_ref(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"only local references are expected: {ref}"
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


# ------------------------------------------------------------------------ (a) a valid 3.1 document


async def test_document_is_valid_openapi_3_1(served: Served) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in OpenAPIV31SpecValidator(served.document).iter_errors()]
    assert errors == []
    assert served.document["openapi"].startswith("3.1.")


async def test_document_structure(served: Served) -> None:
    """What the validator does not insist on: ids, path parameters, references, responses."""
    document = served.document
    assert document["info"]["title"] and document["info"]["version"]
    assert "bearer" in document["components"]["securitySchemes"]
    operation_ids = []
    for path, item in document["paths"].items():
        assert path.startswith("/"), path
        assert ":" not in path, f"{path}: a router regex leaked into the path template"
        placeholders = PLACEHOLDER.findall(path)
        for method, operation in item.items():
            assert method in HTTP_METHODS, f"{path}: unexpected key {method!r}"
            operation_ids.append(operation["operationId"])
            path_params = sorted(p["name"] for p in operation.get("parameters", [])
                                 if p["in"] == "path")
            assert path_params == sorted(placeholders), f"{method.upper()} {path}"
            assert all(p["required"] for p in operation["parameters"] if p["in"] == "path")
            statuses = [s for s in operation["responses"] if s != "default"]
            assert statuses, f"{method.upper()} {path}: no success response"
            assert all(s.isdigit() and 200 <= int(s) < 300 for s in statuses), statuses
            assert "default" in operation["responses"], f"{method.upper()} {path}"
            if method == "get":
                assert "requestBody" not in operation, f"GET {path} documents a body"
    duplicates = sorted({i for i in operation_ids if operation_ids.count(i) > 1})
    assert duplicates == [], f"operationIds used more than once: {duplicates}"
    for ref in _refs(document):
        assert _resolve_ref(document, ref) is not None, ref


# ------------------------------------------------------------------------ (b) document = routes


async def test_every_route_is_documented(served: Served) -> None:
    routes = registered_operations(served.app)
    assert ("GET", "/openapi.json") in routes
    routes.discard(("GET", "/openapi.json"))  # the document does not describe itself
    missing = sorted(routes - documented_operations(served.document))
    assert missing == [], f"registered but not in /openapi.json: {missing}"


async def test_every_documented_operation_is_a_route(served: Served) -> None:
    documented = documented_operations(served.document)
    extra = sorted(documented - registered_operations(served.app))
    assert extra == [], f"in /openapi.json but not registered: {extra}"
    # And the router sends a request for each to that very route (no shadowing by another).
    for method, path in sorted(documented):
        url = PLACEHOLDER.sub(SAMPLE_ID, path)
        match = await served.app.router.resolve(make_mocked_request(method, url))
        assert match.http_exception is None, f"{method} {url}: {match.http_exception!r}"
        assert match.route.resource is not None
        assert match.route.resource.canonical == path, f"{method} {url} → {match.route}"


async def test_documented_operations_answer_over_http(served: Served) -> None:
    """Each documented operation, sent to the real server with placeholder ids and no body,
    reaches its handler: never 405, never a server error, always problem+json on errors."""
    headers = {"Authorization": f"Bearer {served.token}"}
    async with aiohttp.ClientSession() as session:
        for method, path in sorted(documented_operations(served.document)):
            url = served.base + PLACEHOLDER.sub(SAMPLE_ID, path)
            async with session.request(method, url, headers=headers) as response:
                if response.content_type == "text/event-stream":  # live: it never ends
                    assert response.status == 200, f"{method} {path}"
                    continue
                body = await response.read()
                assert response.status != 405, f"{method} {path}"
                assert response.status < 500, f"{method} {path}: {body[:300]!r}"
                if response.status >= 400:
                    assert response.content_type == "application/problem+json", \
                        f"{method} {path}: {response.status} {response.content_type}"


async def test_public_operations_need_no_token(served: Served) -> None:
    """Operations documented with ``security: []`` answer without a token; the others ask."""
    async with aiohttp.ClientSession() as session:
        for path, item in served.document["paths"].items():
            for method, operation in item.items():
                url = served.base + PLACEHOLDER.sub(SAMPLE_ID, path)
                async with session.request(method, url) as response:
                    await response.read()
                    if operation.get("security") == []:
                        assert response.status != 401, f"{method.upper()} {path}"
                    else:
                        assert response.status == 401, f"{method.upper()} {path}"


# ------------------------------------------------------------------------ (c) what a client needs


OPERATION_ID = re.compile(r"[a-z]+(_[a-z0-9]+)+|[a-z]+")


async def test_every_declared_endpoint_has_an_id_a_tag_and_typed_answers(served: Served) -> None:
    """Each route of the endpoint tables, the transparency log's included, is in the document
    with a snake_case operationId, a declared tag, a schema for every 2xx JSON answer (and a
    media type for every other 2xx answer), and problems as problem+json."""
    document = served.document
    declared_tags = {t["name"] for t in document["tags"]}
    for endpoint in endpoints():
        path = PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}", endpoint.path)
        where = f"{endpoint.method} {path}"
        operation = document["paths"].get(path, {}).get(endpoint.method.lower())
        assert operation is not None, f"{where} is not in the document"
        assert OPERATION_ID.fullmatch(operation["operationId"]), operation["operationId"]
        assert not operation["operationId"].startswith(("get_get_", "post_post_")), where
        assert operation["tags"] and set(operation["tags"]) <= declared_tags, where
        for status, response in operation["responses"].items():
            if status == "default":
                assert set(response["content"]) == {"application/problem+json"}, where
                continue
            assert response.get("content"), f"{where} {status}: no media type"
            for media, body in response["content"].items():
                schema = body["schema"]
                if media == "application/json":
                    resolved = _resolve_ref(document, schema["$ref"])
                    assert resolved["properties"], f"{where} {status}: an empty schema"
                elif media == "text/event-stream":  # each event: data, event, id
                    assert schema["type"] == "object" and "data" in schema["properties"]
                else:
                    assert schema["type"] == "string", f"{where} {status} {media}"
        if not endpoint.public:
            assert "X-Ledger-Role" in {p["name"] for p in operation["parameters"]}, where


async def test_problems_document_their_extra_members(served: Served) -> None:
    problem = served.document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "field", "errors", "blocking_items",
            "unsigned_by", "error_id"} <= set(problem["properties"])
    assert set(problem["required"]) == {"title", "status"}


async def test_the_log_answers_in_its_documented_media_types(served: Served) -> None:
    paths = served.document["paths"]
    assert set(paths["/log/tile/{path}"]["get"]["responses"]["200"]["content"]) == {
        "application/octet-stream"}
    assert set(paths["/log/checkpoint"]["get"]["responses"]["200"]["content"]) == {
        "text/plain"}
    assert set(paths["/v1/log/proof/inclusion"]["get"]["responses"]["200"]["content"]) == {
        "application/json", "text/x.tlog.proof"}
    assert all(operation.get("security") == [] for path, item in paths.items()
               if path.startswith(("/log/", "/v1/log/")) for operation in item.values())


async def test_views_are_typed_not_bare_objects(served: Served) -> None:
    """The records a view shows (a leaver, the approval chain, a closure, evidence, a batch's
    commands' results) have their own schemas, not ``additionalProperties`` alone."""
    schemas = served.document["components"]["schemas"]
    departure = schemas["DepartureView"]["properties"]
    assert departure["leaver"] == {"$ref": "#/components/schemas/LeaverRecord"}
    assert departure["approval_chain"]["items"] == {
        "$ref": "#/components/schemas/ApprovalStepRecord"}
    assert {"$ref": "#/components/schemas/Closure"} in departure["closure"]["anyOf"]
    assert schemas["ItemView"]["properties"]["evidence"]["items"] == {
        "$ref": "#/components/schemas/CitedFile"}
    assert schemas["CommandResult"]["properties"]["result"] == {
        "$ref": "#/components/schemas/CommandOutput"}
    assert schemas["BatchResult"]["properties"]["results"]["items"] == {
        "$ref": "#/components/schemas/BatchEntry"}


async def test_sign_in_links_are_documented_with_their_body_and_a_url_shown_once(
        served: Served) -> None:
    paths, schemas = served.document["paths"], served.document["components"]["schemas"]
    links = paths["/v1/principals/{principal_id}/sign-in-links"]
    assert set(links) == {"get", "post"}
    body = links["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(_resolve_ref(served.document, body["$ref"])["properties"]) == {
        "expires_in_minutes", "departure_id"}
    assert {"type": "null"} in schemas["IssuedLink"]["properties"]["url"]["anyOf"]
    assert not any("secret" in name or "hash" in name or name == "url"
                   for name in schemas["LinkInfoView"]["properties"])
    assert "delete" in paths["/v1/principals/{principal_id}/sign-in-links/{link_id}"]
