"""Random schedules of edits, deletes and syncs over three devices of one county (hypothesis): they
converge on the server's state, and every edit ends in that state, in the conflict queue, or was
knowingly overwritten by a later edit made on top of it. None is silently lost."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sync_fixtures import (
    StoreFactory,
    ThreadServer,
    add_volunteer,
    delete_row,
    local_record,
    server_record,
    sync,
    thread_server,
    update_row,
    wire,
)

from sync import conflicts as queue

COUNTY = "410522"
FIELDS = ("mobile", "work_unit", "notes")
NODES = 3
ROWS = 2

operation = st.one_of(
    st.tuples(st.just("edit"), st.integers(0, NODES - 1), st.integers(0, ROWS - 1), st.sampled_from(FIELDS)),
    st.tuples(st.just("delete"), st.integers(0, NODES - 1), st.integers(0, ROWS - 1), st.just("")),
    st.tuples(st.just("sync"), st.integers(0, NODES - 1), st.just(0), st.just("")),
)
_values = itertools.count(10_000_000)


@dataclass
class Edit:
    row_id: str
    field: str
    value: Any
    previous: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadServer]:
    folder = tmp_path_factory.mktemp("city")
    with thread_server(f"sqlite:///{folder}/server.sqlite") as server:
        yield server


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> StoreFactory:
    return StoreFactory(tmp_path_factory.mktemp("stores"))


def new_value(name: str) -> str:
    number = next(_values)
    return f"139{number:08d}" if name == "mobile" else f"{name}-{number}"


def run_schedule(city: ThreadServer, factory: StoreFactory, ops: list[tuple[str, int, int, str]],
                 token: str) -> None:
    nodes = [factory.make(COUNTY) for _ in range(NODES)]
    rows = [add_volunteer(nodes[0]) for _ in range(ROWS)]
    for node in nodes:
        sync(node, city, token)
    edits: list[Edit] = []
    for kind, index, row, name in ops:
        node, row_id = nodes[index], rows[row]
        current = local_record(node, "volunteer", row_id)
        if kind == "sync":
            sync(node, city, token)
        elif current is None:
            continue
        elif kind == "edit":
            value = new_value(name)
            edits.append(Edit(row_id, name, value, {name: current[name]}))
            update_row(node, "volunteer", row_id, **{name: value})
        else:
            edits.append(Edit(row_id, "deleted", True, {f: current[f] for f in FIELDS}))
            delete_row(node, "volunteer", row_id)
    for _round in range(3):
        for node in nodes:
            sync(node, city, token)
    check_converged(city, nodes, rows)
    check_nothing_lost(city, rows, edits)
    for node in nodes:
        node.close()


def check_converged(city: ThreadServer, nodes: list[Any], rows: list[str]) -> None:
    for row_id in rows:
        server = server_record(city.db, "volunteer", row_id)
        for node in nodes:
            local = local_record(node, "volunteer", row_id)
            if server["deleted"]:
                assert local is None or local["deleted"]
            else:
                assert wire("volunteer", local) == wire("volunteer", server)
                assert local["version"] == server["version"]
            assert node.pending_change_count() == 0


def check_nothing_lost(city: ThreadServer, rows: list[str], edits: list[Edit]) -> None:
    conflicts = [c for c in queue.list_conflicts(city.db, county=COUNTY, status=None, limit=1000)
                 if c.row_id in rows]
    for edit in edits:
        final = server_record(city.db, "volunteer", edit.row_id)
        if final[edit.field] == edit.value:
            continue
        in_queue = any(c.row_id == edit.row_id and edit.field in c.fields and
                       edit.value in (c.fields[edit.field]["incoming"], c.fields[edit.field]["server"])
                       for c in conflicts)
        overwritten = any(other.row_id == edit.row_id and other.previous.get(edit.field) == edit.value
                          for other in edits if other is not edit)
        assert in_queue or overwritten, f"edit lost silently: {edit}"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, min_size=1, max_size=14))
def test_random_schedules_over_three_devices_converge_and_lose_no_edit(
        city: ThreadServer, factory: StoreFactory, ops: list[tuple[str, int, int, str]]) -> None:
    run_schedule(city, factory, ops, city.token(COUNTY))


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, min_size=1, max_size=30))
def test_random_schedules_converge_many_examples(city: ThreadServer, factory: StoreFactory,
                                                 ops: list[tuple[str, int, int, str]]) -> None:
    run_schedule(city, factory, ops, city.token(COUNTY))
