"""Hello and push, answered by ``ServerApp`` straight from the ASGI call, answer as FastAPI's route does: each
request is sent the fast way and, with a dependency override in place (which sends every request through
FastAPI's stack), the route's way, against the real server, and the two answers compared (status, the headers
a client reads, the body without its clock reading)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sync_fixtures import ThreadServer, resident_id, thread_server

from schema.models import new_id
from sync.http_errors import known_query_only
from sync.protocol import MAX_REQUEST_BYTES, PROTOCOL_VERSION
from sync.serverdb import schema_version

HOME, OTHER = "410522", "410503"
HELLO, PUSH = "/api/v1/sync/hello", "/api/v1/sync/push"


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadServer]:
    with tempfile.TemporaryDirectory() as folder, thread_server(f"sqlite:///{folder}/server.sqlite") as running:
        yield running


@pytest.fixture(scope="module")
def token(server: ThreadServer) -> str:
    return server.token(HOME)


def app_of(server: ThreadServer) -> FastAPI:
    app = server.server.config.app
    assert isinstance(app, FastAPI)
    return app


def both_ways(server: ThreadServer, send: Callable[[], httpx.Response]) -> tuple[httpx.Response, httpx.Response]:
    """``send()`` the fast way (checked to bypass FastAPI's own call), then FastAPI's way."""
    app = app_of(server)
    with mock.patch.object(FastAPI, "__call__", autospec=True, side_effect=FastAPI.__call__) as stack:
        fast = send()
    assert stack.call_count == 0, "the request went through FastAPI's stack, not the fast way"
    app.dependency_overrides[known_query_only] = known_query_only
    try:
        with mock.patch.object(FastAPI, "__call__", autospec=True, side_effect=FastAPI.__call__) as stack:
            routed = send()
        assert stack.call_count == 1
    finally:
        app.dependency_overrides.clear()
    return fast, routed


def seen(response: httpx.Response, *, unstable: tuple[str, ...] = ("server_time_ms",)) -> dict[str, Any]:
    """What a client reads of an answer, without the server's clock reading (and ids made per request)."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        body = {key: value for key, value in body.items() if key not in unstable}
    return {"status": response.status_code, "type": response.headers.get("content-type"),
            "www-authenticate": response.headers.get("www-authenticate"), "body": body}


def hello_body(**changes: Any) -> dict[str, Any]:
    return {"node_id": f"node-{new_id()}", "protocol_version": PROTOCOL_VERSION, "schema_version": schema_version(),
            "public_key": "", "store_epoch": "", "next_epoch": "", **changes}


def post(server: ThreadServer, path: str, content: bytes | Iterator[bytes], headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", content=content, headers=headers, timeout=30)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


@pytest.mark.parametrize("case", ["hello", "no token", "other scheme", "no credentials", "unknown token",
                                  "not json", "not an object", "missing field", "old protocol", "other schema"])
def test_a_hello_is_answered_as_the_route_answers_it(server: ThreadServer, token: str, case: str) -> None:
    headers = bearer(token)
    if case == "no token":
        headers = {"Content-Type": "application/json"}
    elif case == "other scheme":
        headers = {"Authorization": f"Basic {token}"}
    elif case == "no credentials":
        headers = {"Authorization": "Bearer"}
    elif case == "unknown token":
        headers = bearer("x" + token)

    def body() -> bytes:  # a new node each time: the first hello of a node registers it
        if case == "not json":
            return b"{not json"
        if case == "not an object":
            return b"[1, 2]"
        if case == "missing field":
            return orjson.dumps({k: v for k, v in hello_body().items() if k != "node_id"})
        if case == "old protocol":
            return orjson.dumps(hello_body(protocol_version=PROTOCOL_VERSION - 1))
        if case == "other schema":
            return orjson.dumps(hello_body(schema_version="0001"))
        return orjson.dumps(hello_body())

    fast, routed = both_ways(server, lambda: post(server, HELLO, body(), headers))
    assert seen(fast) == seen(routed)
    expected = {"hello": 200, "no token": 401, "other scheme": 401, "no credentials": 401, "unknown token": 401,
                "not json": 422, "not an object": 422, "missing field": 422, "old protocol": 426,
                "other schema": 426}[case]
    assert fast.status_code == expected, fast.text


def push_body(changes: list[dict[str, Any]], node: str = "node-a") -> dict[str, Any]:
    return {"node_id": node, "protocol_version": PROTOCOL_VERSION, "schema_version": schema_version(),
            "batch_id": f"batch-{new_id()}", "changes": changes}


def volunteer(county: str, serial: int) -> dict[str, Any]:
    row_id = new_id()
    return {"change_id": f"node-a:volunteer:{row_id}:{serial}:x", "table": "volunteer", "id": row_id,
            "base_version": 0, "base": {}, "deleted": False, "hlc": f"{1_800_000_000_000 + serial}:0000:node-a",
            "fields": {"county_code": county, "name": "王芳", "id_number": resident_id(county, serial),
                       "mobile": "13800138000", "created_at": "2026-03-01T09:00:00"}}


def answers(response: httpx.Response) -> list[tuple[str, str, str]]:
    return [(r["status"], r["reason"], r.get("message", "")) for r in response.json()["results"]]


def test_a_push_is_answered_as_the_route_answers_it(server: ThreadServer, token: str) -> None:
    serials = iter(range(700, 800))

    def send() -> httpx.Response:  # new rows each time: one of this county, one of another, one invalid
        bad = volunteer(HOME, next(serials))
        bad["fields"]["mobile"] = "12"
        rows = [volunteer(HOME, next(serials)), volunteer(OTHER, next(serials)), bad]
        return post(server, PUSH, orjson.dumps(push_body(rows)), bearer(token))

    fast, routed = both_ways(server, send)
    assert fast.status_code == routed.status_code == 200
    assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
    assert answers(fast) == answers(routed)
    assert [status for status, _, _ in answers(fast)] == ["applied", "rejected", "rejected"]
    assert answers(fast)[1][1] == "forbidden"


@pytest.mark.parametrize("case", ["no token", "not json", "wrong types", "old protocol", "replayed by another node",
                                  "changed replay"])
def test_a_refused_push_is_answered_as_the_route_answers_it(server: ThreadServer, token: str, case: str) -> None:
    headers = bearer(token)
    serials = iter(range(1000 + 100 * len(case), 1100 + 100 * len(case)))
    replayed = push_body([volunteer(HOME, next(serials))])
    if case in ("replayed by another node", "changed replay"):
        assert post(server, PUSH, orjson.dumps(replayed), headers).status_code == 200

    def body() -> bytes:
        if case == "not json":
            return b'{"node_id": '
        if case == "wrong types":
            return orjson.dumps(push_body([{**volunteer(HOME, next(serials)), "base_version": "1"}]))
        if case == "old protocol":
            return orjson.dumps({**push_body([]), "protocol_version": PROTOCOL_VERSION + 1})
        if case == "replayed by another node":
            return orjson.dumps({**replayed, "node_id": "node-b"})
        if case == "changed replay":
            return orjson.dumps({**replayed, "changes": [volunteer(HOME, next(serials))]})
        return orjson.dumps(push_body([volunteer(HOME, next(serials))]))

    fast, routed = both_ways(server, lambda: post(server, PUSH, body(), headers if case != "no token" else {}))
    assert seen(fast) == seen(routed)
    assert fast.status_code == {"no token": 401, "not json": 422, "wrong types": 422, "old protocol": 426,
                                "replayed by another node": 403, "changed replay": 409}[case], fast.text


@pytest.mark.parametrize("declared", [True, False])
def test_a_body_over_the_limit_is_refused_with_413_the_fast_way_too(server: ThreadServer, token: str,
                                                                   declared: bool) -> None:
    """Announced by Content-Length, or streamed in chunks without one (the limit counted as it arrives)."""
    def send() -> httpx.Response:
        if declared:
            return post(server, PUSH, b"x" * (MAX_REQUEST_BYTES + 1), bearer(token))
        chunks = (b"x" * 1_000_000 for _ in range(MAX_REQUEST_BYTES // 1_000_000 + 1))
        return post(server, HELLO, chunks, bearer(token))

    fast, routed = both_ways(server, send)
    assert fast.status_code == routed.status_code == 413
    assert seen(fast) == seen(routed)


def test_other_requests_to_those_paths_take_fastapis_way(server: ThreadServer, token: str) -> None:
    """A query string (refused as unknown, 422) and another method (405) are FastAPI's to answer."""
    with mock.patch.object(FastAPI, "__call__", autospec=True, side_effect=FastAPI.__call__) as stack:
        with_query = httpx.post(f"{server.url}{HELLO}?debug=1", content=orjson.dumps(hello_body()),
                                headers=bearer(token), timeout=30)
        other_method = httpx.get(f"{server.url}{PUSH}", headers=bearer(token), timeout=30)
    assert stack.call_count == 2
    assert with_query.status_code == 422
    assert other_method.status_code == 405
