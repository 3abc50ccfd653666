"""schemathesis over the server's OpenAPI document, against a real uvicorn on 127.0.0.1: whatever it sends
to the sync protocol's endpoints (county or admin token) or to the city admin's (admin token), the server
never answers 5xx. Examples per endpoint are bounded so the file runs in well under half a minute."""

from __future__ import annotations

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
ADMIN_PATHS = r"^/api/v1/admin/"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadServer]:
    folder = tmp_path_factory.mktemp("openapi")
    with thread_server(f"sqlite:///{folder}/server.sqlite") as server:
        TOKENS["county"] = server.token("410522")
        TOKENS["admin"] = server.token("410500", admin=True)
        yield server


@pytest.fixture(scope="module")
def api_schema(live_server: ThreadServer) -> Any:
    return schemathesis.openapi.from_url(f"{live_server.url}/openapi.json").include(path_regex=SYNC_PATHS)


@pytest.fixture(scope="module")
def admin_schema(live_server: ThreadServer) -> Any:
    return schemathesis.openapi.from_url(f"{live_server.url}/openapi.json").include(path_regex=ADMIN_PATHS)


schema = schemathesis.pytest.from_fixture("api_schema")
admin_api = schemathesis.pytest.from_fixture("admin_schema")


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


@admin_api.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzzed_admin_requests_never_get_a_server_error(case: Any, live_server: ThreadServer) -> None:
    call(case, live_server, "admin")


@pytest.mark.parametrize(("first", "last"), [("0000-02", "5000-02"), ("2026-05", "2026-02"), ("2000-01", "2020-01"),
                                             ("2026-13", "2026-12"), ("1900-01", "2026-01")])
def test_report_ranges_out_of_bounds_are_refused_with_422(live_server: ThreadServer, first: str, last: str) -> None:
    response = httpx.get(f"{live_server.url}/api/v1/admin/reports", params={"first": first, "last": last},
                         headers={"Authorization": f"Bearer {TOKENS['admin']}"})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid" and response.json()["detail"]


def test_a_year_of_reports_is_served(live_server: ThreadServer) -> None:
    response = httpx.get(f"{live_server.url}/api/v1/admin/reports", params={"first": "2026-01", "last": "2026-12"},
                         headers={"Authorization": f"Bearer {TOKENS['admin']}"})
    assert response.status_code == 200


def test_openapi_document_and_health_are_served(live_server: ThreadServer) -> None:
    document = httpx.get(f"{live_server.url}/openapi.json").json()
    assert {"/api/v1/sync/push", "/api/v1/sync/pull", "/healthz"} <= set(document["paths"])
    assert httpx.get(f"{live_server.url}/healthz").json()["status"] == "ok"


def test_request_over_the_size_limit_is_refused_with_413(live_server: ThreadServer) -> None:
    from sync.protocol import MAX_REQUEST_BYTES

    response = httpx.post(f"{live_server.url}/api/v1/sync/push", content=b"x" * (MAX_REQUEST_BYTES + 1),
                          headers={"Authorization": f"Bearer {TOKENS['county']}", "Content-Type": "application/json"})
    assert response.status_code == 413
