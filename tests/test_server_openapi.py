"""schemathesis over the server's OpenAPI document, against a real uvicorn on 127.0.0.1, with every check it
has (status codes and bodies as documented, schema-invalid input refused, valid input accepted, auth
honoured, ...): the document is the API. Run for a county token, an admin token and no token. Examples per
endpoint are bounded. The default run gives the roles an API serves (a county on the sync API, the city admin on
the admin API) every phase; the refused roles get a few fuzzed examples each, and every phase under ``-m slow``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
import schemathesis
from conftest import postgres_database
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from sync_fixtures import ThreadServer, thread_server

TOKENS: dict[str, dict[str, str]] = {}  # server url → role → token
SYNC_PATHS = r"^/(healthz|api/v1/(sync|conflicts|uploads)\b)"
ADMIN_PATHS = r"^/api/v1/admin/"
# Derandomised: the same examples every run, so the suite passes or fails on the code alone (a random search
# found a NUL id the PostgreSQL server could not take; such finds become fixes, not flaky runs).
EXAMPLES = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
# A role the API refuses (401/403 whatever the body): the coverage phase (every boundary case of every parameter,
# most of the file's time) proves little more there than a few examples do; it runs for them under -m slow.
REFUSED_EXAMPLES = settings(EXAMPLES, max_examples=3)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadServer]:
    """The server on its embedded SQLite and on PostgreSQL (skipped, with the reason, where none is configured):
    the document must hold for both databases."""
    with ExitStack() as stack:
        if request.param == "postgresql":
            url = stack.enter_context(postgres_database())
        else:
            url = f"sqlite:///{tmp_path_factory.mktemp('openapi')}/server.sqlite"
        server = stack.enter_context(thread_server(url))
        TOKENS[server.url] = {"county": server.token("410522"), "admin": server.token("410500", admin=True)}
        yield server


# What JSON Schema cannot say, told to the checks per operation (and only there): a version handshake answers
# 426 to a well-formed request of another protocol or schema version, and a report range must run forward over
# at most a few years (first ≤ last), a rule between two parameters, answered 422 in the documented shape.
OPERATIONS = '''
[[operations]]
include-path-regex = "^/api/v1/sync/(hello|push)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "426"]
checks.negative_data_rejection.expected-statuses = ["400", "401", "403", "404", "405", "409", "413", "415", "422", "426"]

[[operations]]
include-path-regex = "^/api/v1/admin/reports$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "422"]
'''
CONFIG = SchemathesisConfig.from_str(OPERATIONS)


QUICK_CONFIG = SchemathesisConfig.from_str('''
[phases.coverage]
enabled = false
''' + OPERATIONS)


def load(server: ThreadServer, paths: str, config: SchemathesisConfig = CONFIG) -> Any:
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=config).include(path_regex=paths)


@pytest.fixture(scope="module")
def api_schema(live_server: ThreadServer) -> Any:
    return load(live_server, SYNC_PATHS)


@pytest.fixture(scope="module")
def admin_schema(live_server: ThreadServer) -> Any:
    return load(live_server, ADMIN_PATHS)


@pytest.fixture(scope="module")
def api_schema_fuzzed(live_server: ThreadServer) -> Any:
    return load(live_server, SYNC_PATHS, QUICK_CONFIG)


@pytest.fixture(scope="module")
def admin_schema_fuzzed(live_server: ThreadServer) -> Any:
    return load(live_server, ADMIN_PATHS, QUICK_CONFIG)


schema = schemathesis.pytest.from_fixture("api_schema")
admin_api = schemathesis.pytest.from_fixture("admin_schema")
schema_fuzzed = schemathesis.pytest.from_fixture("api_schema_fuzzed")
admin_api_fuzzed = schemathesis.pytest.from_fixture("admin_schema_fuzzed")


def call(case: Any, server: ThreadServer, who: str | None) -> None:
    """Every check schemathesis has (its default set), not only "no server error"."""
    headers = {"Authorization": f"Bearer {TOKENS[server.url][who]}"} if who else {}
    case.call_and_validate(base_url=server.url, headers=headers)


@schema.parametrize()
@EXAMPLES
def test_the_sync_api_is_as_documented_for_a_county_token(case: Any, live_server: ThreadServer) -> None:
    call(case, live_server, "county")


@admin_api.parametrize()
@EXAMPLES
def test_the_admin_api_is_as_documented_for_an_admin_token(case: Any, live_server: ThreadServer) -> None:
    call(case, live_server, "admin")


@schema_fuzzed.parametrize()
@REFUSED_EXAMPLES
def test_the_sync_api_is_as_documented_for_an_admin_token(case: Any, live_server: ThreadServer) -> None:
    call(case, live_server, "admin")


@schema_fuzzed.parametrize()
@REFUSED_EXAMPLES
def test_the_sync_api_is_as_documented_without_a_token(case: Any, live_server: ThreadServer) -> None:
    call(case, live_server, None)


@admin_api_fuzzed.parametrize()
@REFUSED_EXAMPLES
def test_the_admin_api_is_as_documented_for_a_county_token(case: Any, live_server: ThreadServer) -> None:
    call(case, live_server, "county")


@admin_api_fuzzed.parametrize()
@REFUSED_EXAMPLES
def test_the_admin_api_is_as_documented_without_a_token(case: Any, live_server: ThreadServer) -> None:
    call(case, live_server, None)


@pytest.mark.slow
@schema.parametrize()
@EXAMPLES
def test_the_sync_api_is_as_documented_for_an_admin_token_every_phase(case: Any, live_server: ThreadServer) -> None:
    call(case, live_server, "admin")


@pytest.mark.slow
@schema.parametrize()
@EXAMPLES
def test_the_sync_api_is_as_documented_without_a_token_every_phase(case: Any, live_server: ThreadServer) -> None:
    call(case, live_server, None)


@pytest.mark.slow
@admin_api.parametrize()
@EXAMPLES
def test_the_admin_api_is_as_documented_for_a_county_token_every_phase(case: Any, live_server: ThreadServer) -> None:
    call(case, live_server, "county")


@pytest.mark.slow
@admin_api.parametrize()
@EXAMPLES
def test_the_admin_api_is_as_documented_without_a_token_every_phase(case: Any, live_server: ThreadServer) -> None:
    call(case, live_server, None)


@pytest.mark.parametrize(("first", "last"), [("0000-02", "5000-02"), ("2026-05", "2026-02"), ("2000-01", "2020-01"),
                                             ("2026-13", "2026-12"), ("1900-01", "2026-01")])
def test_report_ranges_out_of_bounds_are_refused_with_422(live_server: ThreadServer, first: str, last: str) -> None:
    response = httpx.get(f"{live_server.url}/api/v1/admin/reports", params={"first": first, "last": last},
                         headers={"Authorization": f"Bearer {TOKENS[live_server.url]['admin']}"})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid" and response.json()["detail"]


def test_a_year_of_reports_is_served(live_server: ThreadServer) -> None:
    response = httpx.get(f"{live_server.url}/api/v1/admin/reports", params={"first": "2026-01", "last": "2026-12"},
                         headers={"Authorization": f"Bearer {TOKENS[live_server.url]['admin']}"})
    assert response.status_code == 200


def test_openapi_document_and_health_are_served(live_server: ThreadServer) -> None:
    document = httpx.get(f"{live_server.url}/openapi.json").json()
    assert {"/api/v1/sync/push", "/api/v1/sync/pull", "/healthz"} <= set(document["paths"])
    assert httpx.get(f"{live_server.url}/healthz").json()["status"] == "ok"


def test_request_over_the_size_limit_is_refused_with_413(live_server: ThreadServer) -> None:
    from sync.protocol import MAX_REQUEST_BYTES

    response = httpx.post(f"{live_server.url}/api/v1/sync/push", content=b"x" * (MAX_REQUEST_BYTES + 1),
                          headers={"Authorization": f"Bearer {TOKENS[live_server.url]['county']}", "Content-Type": "application/json"})
    assert response.status_code == 413
