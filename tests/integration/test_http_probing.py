"""What probing the API found, through the real server on both stores: huge tile numbers,
deeply nested JSON, undecodable header bytes, non-canonical UUIDs, integers spelled as strings,
the Server header, and problem details that must never show the schema."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.integration.http_fixtures import PROBLEM_JSON, Api, departure_body, serve


async def start(api: Api) -> str:
    reply = await api.post("/v1/departures", "hr.sun", json=departure_body())
    assert reply.status == 201, reply.body
    departure_id: str = reply.json()["result"]["departure_id"]
    return departure_id


async def raw_request(api: Api, method: str, path: str, headers: list[bytes],
                      body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send one HTTP/1.1 request with header bytes exactly as given (no client encoding)."""
    host, port = api.base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close",
            f"Content-Length: {len(body)}".encode(), *headers]
    writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    head_bytes, _, content = data.partition(b"\r\n\r\n")
    lines = head_bytes.split(b"\r\n")
    status = int(lines[0].split()[1])
    found = {}
    for line in lines[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        found[name.strip().lower()] = value.strip()
    return status, found, content


def bearer(api: Api, who: str) -> bytes:
    return b"Authorization: Bearer " + api.tokens[who].encode()


def entry_context(api: Api, entry: bytes) -> dict[str, Any]:
    context: dict[str, Any] = json.loads(entry)["context"]
    return context


# --- tiles ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/log/tile/0/" + "x123/" * 1500 + "456",          # N of 4,503 digits
    "/log/tile/0/x999/x999/x999/x999/x999/x999/x999/999",  # N beyond an int64
    "/log/tile/0/000.p/" + "9" * 5000,                # W of 5,000 digits
    "/log/tile/entries/000.p/" + "1" * 5000,
    "/log/tile/" + "9" * 5000 + "/000",               # a level of 5,000 digits
])
async def test_tile_paths_with_thousands_of_digits_are_a_client_error(api: Api,
                                                                       path: str) -> None:
    await start(api)
    await api.sequence()
    reply = await api.get(path)
    assert reply.status in (400, 404, 422), reply.body[:300]
    reply.problem(reply.status)
    assert len(reply.body) < 1000  # the path is not echoed whole


async def test_a_huge_but_canonical_tile_number_is_beyond_the_log(api: Api) -> None:
    await start(api)
    await api.sequence()
    reply = await api.get("/log/tile/0/x009/x223/x372/x036/x854/x775/807")  # 2**63 - 1
    reply.problem(404)
    assert (await api.get("/log/tile/0/000.p/1")).status == 200


# --- bodies and headers -------------------------------------------------------------------

@pytest.mark.parametrize("depth", [50, 900, 5000, 200_000])
async def test_a_deeply_nested_signature_statement_is_invalid_input(api: Api,
                                                                    depth: int) -> None:
    nested = "[" * depth + "]" * depth
    body = ('{"signature": {"key_id": "k1", "signature": "AAAA", "statement": '
            + nested + "}}").encode()
    item = str(uuid.uuid4())
    reply = await api.post(f"/v1/items/{item}/confirm", "hr.sun", data=body,
                           headers={"Content-Type": "application/json"})
    document = reply.problem(422)
    assert "statement" in json.dumps(document) or "JSON" in document["detail"]
    batch = ('{"commands": [{"idempotency_key": "n1", "command": {"type": "confirm_item", '
             f'"item_id": "{item}", "signature": {{"key_id": "k1", "signature": "AAAA", '
             '"statement": ' + nested + "}}}]}").encode()
    reply = await api.post("/v1/commands", "hr.sun", data=batch,
                           headers={"Content-Type": "application/json"})
    assert reply.status in (200, 422), reply.body[:300]
    if reply.status == 200:
        assert reply.json()["results"][0]["status"] == 422


async def test_undecodable_idempotency_key_is_refused_naming_the_header(api: Api) -> None:
    body = json.dumps(departure_body()).encode()
    status, headers, content = await raw_request(
        api, "POST", "/v1/departures",
        [bearer(api, "hr.sun"), b"Content-Type: application/json",
         b"Idempotency-Key: key-\xff\xfe\x80"], body)
    assert status == 422, content
    assert headers["content-type"].startswith(PROBLEM_JSON)
    assert json.loads(content)["field"] == "Idempotency-Key"
    # The non-command POSTs check the key the same way.
    principal = json.dumps({"id": "new.person", "name": "New", "roles": ["employee"]}).encode()
    status, _, content = await raw_request(
        api, "POST", "/v1/principals",
        [bearer(api, "admin"), b"Content-Type: application/json",
         b"Idempotency-Key: \xc3\x28"], principal)
    assert status == 422, content
    assert json.loads(content)["field"] == "Idempotency-Key"
    assert (await api.get("/v1/departures", "hr.sun")).json()["total"] == 0


async def test_an_undecodable_bearer_token_is_a_counted_401_never_a_500(api: Api) -> None:
    for token in (b"\xff\xfe", b"hl_\xc3\x28abc"):
        status, headers, content = await raw_request(
            api, "GET", "/v1/departures", [b"Authorization: Bearer " + token], b"")
        assert status == 401, content
        assert headers["content-type"].startswith(PROBLEM_JSON)
    assert (await api.get("/v1/departures", "hr.sun")).status == 200  # 3 failures: not blocked


async def test_a_client_with_undecodable_user_agent_and_request_id_can_still_write(
        api: Api) -> None:
    body = json.dumps(departure_body()).encode()
    status, headers, content = await raw_request(
        api, "POST", "/v1/departures",
        [bearer(api, "hr.sun"), b"Content-Type: application/json",
         b"User-Agent: probe/1.0 \xff\xfe\\ \xe7\x8e\x8b", b"X-Request-Id: req-\xc3\x28-1"],
        body)
    assert status == 201, content
    # not a sane request id (api/access_log.py): replaced by a fresh one, echoed and recorded
    assert re.fullmatch("[0-9a-f]{32}", headers["x-request-id"])
    departure_id = json.loads(content)["result"]["departure_id"]
    stored = await api.runtime.store.read_stream(uuid.UUID(departure_id))
    context = entry_context(api, stored[0].entry)
    assert context["user_agent"] == "probe/1.0 \\xff\\xfe\\\\ 王"
    assert context["request_id"] == headers["x-request-id"]


async def test_escaped_headers_stay_within_their_limits(api: Api) -> None:
    body = json.dumps(departure_body()).encode()
    status, headers, content = await raw_request(
        api, "POST", "/v1/departures",
        [bearer(api, "hr.sun"), b"Content-Type: application/json",
         b"User-Agent: " + b"\xff" * 400, b"X-Request-Id: " + b"\x80" * 400], body)
    assert status == 201, content
    assert re.fullmatch("[0-9a-f]{32}", headers["x-request-id"])
    departure_id = json.loads(content)["result"]["departure_id"]
    context = entry_context(api, (await api.runtime.store.read_stream(
        uuid.UUID(departure_id)))[0].entry)
    assert context["user_agent"] == "\\xff" * 75  # 300 characters, whole escapes only
    assert context["request_id"] == headers["x-request-id"]


async def test_no_server_header_names_versions(api: Api) -> None:
    for reply in (await api.get("/healthz"), await api.get("/v1/departures"),
                  await api.get("/v1/nowhere", "hr.sun"), await api.get("/log/checkpoint")):
        assert reply.headers.get("Server") == "handover-ledger", reply.headers


# --- UUIDs and integers -------------------------------------------------------------------

def spellings(departure_id: str) -> list[str]:
    u = uuid.UUID(departure_id)
    return [f"{{{departure_id}}}", f"urn:uuid:{departure_id}", u.hex, f"%20{departure_id}",
            f"{departure_id}%20", f"{departure_id[:-1]}", f"{departure_id}0",
            departure_id.replace("-", "", 1)]


async def test_only_the_hyphenated_uuid_names_a_departure_in_a_path(api: Api) -> None:
    departure_id = await start(api)
    assert (await api.get(f"/v1/departures/{departure_id}", "hr.sun")).status == 200
    # RFC 9562: case-insensitive on input; the same departure.
    upper = await api.get(f"/v1/departures/{departure_id.upper()}", "hr.sun")
    assert upper.status == 200 and upper.json()["id"] == departure_id
    for spelling in spellings(departure_id):
        (await api.get(f"/v1/departures/{spelling}", "hr.sun")).problem(404)
        reply = await api.post(f"/v1/departures/{spelling}/submit", "hr.sun", json={})
        assert reply.status in (404, 422), (spelling, reply.body)
        reply.problem(reply.status)
    assert (await api.get(f"/v1/departures/{departure_id}", "hr.sun")).json()["version"] == 1


async def test_only_the_hyphenated_uuid_is_accepted_in_a_body(api: Api) -> None:
    departure_id = await start(api)
    for spelling in [*spellings(departure_id)[:3], f" {departure_id}", f"{departure_id}\n"]:
        reply = await api.post("/v1/commands", "hr.sun", json={"commands": [{
            "idempotency_key": f"k-{uuid.uuid4()}",
            "command": {"type": "submit_for_approval", "departure_id": spelling}}]})
        result = reply.json()["results"][0]
        assert result["status"] == 422, (spelling, result)
        assert result["problem"]["field"].endswith("departure_id")
    assert (await api.get(f"/v1/departures/{departure_id}", "hr.sun")).json()["version"] == 1


@pytest.mark.parametrize(("field", "value"), [
    ("expected_version", "1"), ("expected_version", True), ("expected_version", 1.0),
    ("expected_version", "01"),
])
async def test_a_version_is_a_json_integer(api: Api, field: str, value: object) -> None:
    departure_id = await start(api)
    reply = await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun",
                           json={field: value})
    document = reply.problem(422)
    assert document["field"] == field
    assert (await api.get(f"/v1/departures/{departure_id}", "hr.sun")).json()["version"] == 1
    ok = await api.post(f"/v1/departures/{departure_id}/submit", "hr.sun",
                        json={field: 1})
    assert ok.status == 200, ok.body


@pytest.mark.parametrize(("field", "value"), [("size", "12"), ("size", True),
                                              ("size", 12.0)])
async def test_an_evidence_size_is_a_json_integer(api: Api, field: str, value: object) -> None:
    evidence = {"sha256": "ab" * 32, "name": "file.txt", field: value}
    reply = await api.post("/v1/commands", "wang.lei", json={"commands": [{
        "idempotency_key": "e1", "command": {"type": "submit_item",
                                             "item_id": str(uuid.uuid4()),
                                             "evidence": [evidence]}}]})
    result = reply.json()["results"][0]
    assert result["status"] == 422, result
    assert result["problem"]["field"] == "command.submit_item.evidence.0.size"


async def test_a_flag_is_a_json_boolean(api: Api) -> None:
    reply = await api.post(f"/v1/items/{uuid.uuid4()}/submit", "wang.lei",
                           json={"on_behalf": "true"})
    assert reply.problem(422)["field"] == "on_behalf"


# --- problem details ------------------------------------------------------------------------

SCHEMA_WORDS = ("pkey", "constraint", "unique", "principal_keys", "principals.id",
                "sqlite", "postgres", "asyncpg", "violat", "duplicate key")


async def conflicts(api: Api) -> list[dict[str, Any]]:
    """The problem bodies of a duplicate principal id and a duplicate signing key."""
    principal = {"id": "hr.sun", "name": "Another Sun", "roles": ["hr"]}
    duplicate = (await api.post("/v1/principals", "admin", json=principal)).problem(409)
    public = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw,
                                                                    PublicFormat.Raw)
    key = {"public_key": base64.b64encode(public).decode()}
    first = await api.post("/v1/principals/li.qiang/keys", "li.qiang", json=key)
    assert first.status == 201, first.body
    again = (await api.post("/v1/principals/li.qiang/keys", "li.qiang", json=key)).problem(409)
    return [duplicate, again]


async def test_conflicts_name_no_table_column_or_constraint(api: Api) -> None:
    for document in await conflicts(api):
        text = json.dumps(document).lower()
        for word in SCHEMA_WORDS:
            assert word not in text, (word, document)


async def test_the_same_conflict_reads_the_same_on_both_stores(
        tmp_path: Path, pg_dsn: str) -> None:
    found = []
    for url, folder in ((f"sqlite:///{tmp_path}/l.db", tmp_path / "s"), (pg_dsn, tmp_path / "p")):
        folder.mkdir()
        async with serve(url, folder) as served:
            found.append(await conflicts(served))
    assert found[0] == found[1]
    assert found[0][0]["detail"] == "a principal with this id already exists (ids are never reused)"


async def test_answers_to_malformed_requests_name_no_versions_either(api: Api) -> None:
    for header in (b"Bad Header\x00: x", b"X-Long: " + b"a" * 20_000):
        status, headers, _ = await raw_request(api, "GET", "/healthz", [header])
        assert status == 400
        assert headers["server"] == "handover-ledger", headers


async def test_a_nul_or_other_control_character_in_a_name_or_label_is_a_422_on_both_stores(
        api: Api) -> None:
    made = await api.post("/v1/principals", "admin",
                          json={"id": "nul.test", "name": "a\u0000b", "roles": ["employee"]})
    assert made.problem(422)
    issued = await api.post("/v1/principals/zhao.min/tokens", "admin",
                            json={"label": "a\u0000b"})
    assert issued.problem(422)
    assert (await api.post("/v1/principals/zhao.min/tokens", "admin",
                           json={"label": "a\u001bb"})).problem(422)
    assert (await api.post("/v1/principals", "admin", json={
        "id": "tab.test", "name": "Wang\tLei", "roles": ["employee"]})).problem(422)


async def test_an_undeclared_or_repeated_query_parameter_is_refused(api: Api) -> None:
    """A misspelt filter, an empty name, or a parameter given twice (which one would count?)
    is an error, never silently ignored."""
    departure = await start(api)
    ok = await api.get(f"/v1/departures/{departure}/timeline?limit=5", "hr.sun")
    assert ok.status == 200, ok.body
    for query in ("limit=5&=null", "limt=5", "limit=5&limit=6"):
        reply = await api.get(f"/v1/departures/{departure}/timeline?{query}", "hr.sun")
        assert reply.status == 422, (query, reply.body)
        assert reply.json()["field"] == "query"
    twice = await api.get(f"/v1/departures/{departure}/bundle?with_files=true&with_files=false",
                          "hr.sun")
    assert twice.status == 422 and "more than once" in twice.json()["detail"]
