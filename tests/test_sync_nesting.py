"""Deeply nested JSON is the client's fault: a 4xx with a reason (or a per-record rejection), never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from city_server import DATABASES, CityServer, running_city_server
from conftest import postgres_database

from schema.models import new_id
from sync.errors import NestedTooDeep
from sync.protocol import API_PREFIX
from sync.push import canonical_json
from sync.serverdb import schema_version


@pytest.fixture(scope="module", params=DATABASES)
def city(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CityServer]:
    """On SQLite and on PostgreSQL (issue 10: each case holds on both)."""
    with ExitStack() as stack:
        url = stack.enter_context(postgres_database()) if request.param == "postgresql" else None
        yield stack.enter_context(running_city_server(tmp_path_factory.mktemp("city"), url=url))


def nested(depth: int, leaf: str = "1") -> str:
    return '{"a":' * depth + leaf + "}" * depth


def push_body(base: str = "{}", fields: str = "{}", *, with_hlc: bool = True) -> str:
    """A push body as raw text (the client's exact form, or without ``hlc`` so pydantic parses it)."""
    hlc = ',"hlc":""' if with_hlc else ""
    head = f'{{"node_id":"n1","protocol_version":1,"schema_version":"{schema_version()}","batch_id":"{new_id()}"'
    change = (f'{{"change_id":"c1","table":"volunteer","id":"{new_id()}","base_version":0,"base":{base},'
              f'"fields":{fields},"deleted":false{hlc}}}')
    return f'{head},"changes":[{change}]}}'


def post(city: CityServer, path: str, body: str) -> tuple[int, dict]:
    with city.client(city.tokens["410522"]) as client:
        response = client.post(f"{API_PREFIX}{path}", content=body, headers={"Content-Type": "application/json"})
    return response.status_code, response.json()


@pytest.mark.parametrize("depth", [1000, 300, 1030, 5000])
def test_a_base_nested_deep_is_refused_with_a_reason(city: CityServer, depth: int) -> None:
    status, answer = post(city, "/sync/push", push_body(base=nested(depth)))
    assert status == 422
    assert "recursion limit" in str(answer["detail"]) or answer["code"] == "too_deep"


@pytest.mark.parametrize("where", ["fields", "name"])
def test_nested_fields_are_refused_with_a_reason(city: CityServer, where: str) -> None:
    """Past 200 levels the body is not read at all (pydantic-core's JSON reader, the server's too, stops there)."""
    fields = nested(1000) if where == "fields" else '{"name":' + nested(1000, '"x"') + "}"
    status, answer = post(city, "/sync/push", push_body(fields=fields))
    assert status == 422 and "recursion limit" in str(answer["detail"])


def test_a_value_too_deep_to_key_is_refused_with_the_reason() -> None:
    """A change's key is made with orjson, which refuses values nested past 254 levels (a bundle's changes are
    read by another parser): the fallback measures the depth rather than recurse, and names the limit."""
    value: object = 1
    for _ in range(300):
        value = {"a": value}
    with pytest.raises(NestedTooDeep, match="64"):
        canonical_json(["volunteer", "x", 0, {}, value, False])


def test_a_body_pydantic_parses_is_refused_when_nested_deep(city: CityServer) -> None:
    status, answer = post(city, "/sync/push", push_body(base=nested(1000), with_hlc=False))
    assert status == 422 and "recursion limit" in str(answer["detail"])


def test_a_shallow_nested_value_is_a_per_record_rejection(city: CityServer) -> None:
    status, answer = post(city, "/sync/push", push_body(fields='{"name":' + nested(40, '"x"') + "}"))
    assert status == 200
    [result] = answer["results"]
    assert result["status"] == "rejected" and "name" in result["message"]


@pytest.mark.parametrize("path", ["/sync/hello", "/sync/fetch", f"/conflicts/{'0' * 36}/resolve"])
def test_other_bodies_nested_deep_get_a_4xx(city: CityServer, path: str) -> None:
    with city.client() as client:  # the admin token: resolve is an admin endpoint
        response = client.post(f"{API_PREFIX}{path}", content=nested(1000),
                               headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500 and response.json()["detail"]


def test_a_rediff_cursor_that_is_no_id_is_a_422_not_a_500(city: CityServer) -> None:
    """Found by schemathesis on PostgreSQL: a NUL in ``after`` reached the database (which refuses NUL in text)."""
    with city.client(city.tokens["410522"]) as client:
        response = client.get(f"{API_PREFIX}/sync/rediff", params={"table": "membership", "after": "\x95\x00x"})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "after"]
        assert client.get(f"{API_PREFIX}/sync/rediff", params={"table": "membership", "after": "0190c0de-x"}).status_code == 200
