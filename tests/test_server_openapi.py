"""schemathesis over the server's OpenAPI document (the sync protocol's endpoints), against a real uvicorn
on 127.0.0.1: whatever it sends, with a county token or an admin token, the server never answers 5xx."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sync_fixtures import ThreadServer, thread_server

TOKENS: dict[str, str] = {}
SYNC_PATHS = r"^/(healthz|api/v1/(sync|conflicts)\b)"


@pytest.fixture(scope="module")
def live_server() -> Iterator[ThreadServer]:
    with tempfile.TemporaryDirectory() as folder, thread_server(f"sqlite:///{folder}/server.sqlite") as server:
        TOKENS["county"] = server.token("410522")
        TOKENS["admin"] = server.token("410500", admin=True)
        yield server


@pytest.fixture(scope="module")
def api_schema(live_server: ThreadServer) -> Any:
    # The sync protocol's endpoints; the city admin's own (/api/v1/admin/...) are fuzzed by their tests.
    return schemathesis.openapi.from_url(f"{live_server.url}/openapi.json").include(path_regex=SYNC_PATHS)


schema = schemathesis.pytest.from_fixture("api_schema")


def call(case: Any, server: ThreadServer, who: str) -> None:
    case.call_and_validate(base_url=server.url, headers={"Authorization": f"Bearer {TOKENS[who]}"},
                           checks=[not_a_server_error])


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzzed_requests_with_a_county_token_never_get_a_server_error(case: Any, live_server: ThreadServer) -> None:
    call(case, live_server, "county")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzzed_requests_with_an_admin_token_never_get_a_server_error(case: Any, live_server: ThreadServer) -> None:
    call(case, live_server, "admin")


def test_openapi_document_and_health_are_served(live_server: ThreadServer) -> None:
    document = httpx.get(f"{live_server.url}/openapi.json").json()
    assert {"/api/v1/sync/push", "/api/v1/sync/pull", "/healthz"} <= set(document["paths"])
    assert httpx.get(f"{live_server.url}/healthz").json()["status"] == "ok"


def test_request_over_the_size_limit_is_refused_with_413(live_server: ThreadServer) -> None:
    from sync.protocol import MAX_REQUEST_BYTES

    response = httpx.post(f"{live_server.url}/api/v1/sync/push", content=b"x" * (MAX_REQUEST_BYTES + 1),
                          headers={"Authorization": f"Bearer {TOKENS['county']}", "Content-Type": "application/json"})
    assert response.status_code == 413
