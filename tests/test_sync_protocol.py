"""``read_push``: the server's quick reading of a push body gives exactly what pydantic's ``PushRequest`` gives,
and refuses exactly what it refuses, with pydantic's own errors."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sync.protocol import _ID, MAX_BATCH_CHANGES, PushRequest, _only_id_characters, read_push


def client_body(changes: int = 2) -> dict[str, Any]:
    return {"node_id": "node-1", "protocol_version": 1, "schema_version": "0005", "batch_id": "b1", "changes": [
        {"change_id": f"node-1:volunteer:v{i}:{i}:abcdef", "table": "volunteer", "id": f"v{i}", "base_version": 0,
         "base": {}, "fields": {"name": "王芳", "hours": 2.5, "deleted": False, "left_on": None},
         "deleted": False, "hlc": f"0001{i}:0000:node-1"} for i in range(changes)]}


def as_model_fields(raw: bytes) -> Any:
    request = PushRequest.model_validate_json(raw)
    return (request.node_id, request.protocol_version, request.schema_version, request.batch_id,
            [tuple(c.model_dump().values()) for c in request.changes])


def as_read_fields(raw: bytes) -> Any:
    push = read_push(raw)
    return (push.node_id, push.protocol_version, push.schema_version, push.batch_id,
            [tuple(c) for c in push.changes])


def outcome(reader: Any, raw: bytes) -> Any:
    try:
        return "ok", reader(raw)
    except ValidationError as exc:
        return "invalid", exc.errors(include_url=False, include_input=False)


def test_a_client_body_reads_as_pydantic_reads_it() -> None:
    raw = orjson.dumps(client_body())
    assert as_read_fields(raw) == as_model_fields(raw)
    assert [c.fields for c in read_push(raw).changes] == [c.fields for c in PushRequest.model_validate_json(raw).changes]


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def mutate(body: dict[str, Any]) -> None:
        target: Any = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


def _drop(path: tuple[Any, ...]) -> Any:
    def mutate(body: dict[str, Any]) -> None:
        target: Any = body
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return mutate


MUTATIONS = {
    "protocol version left out (its default)": _drop(("protocol_version",)),
    "hlc left out (its default)": _drop(("changes", 0, "hlc")),
    "fields left out": _drop(("changes", 1, "fields")),
    "change_id left out": _drop(("changes", 0, "change_id")),
    "extra key": _set(("changes", 0, "colour"), "red"),
    "extra top-level key": _set(("colour",), "red"),
    "base version as text (pydantic coerces)": _set(("changes", 0, "base_version"), "3"),
    "base version as float": _set(("changes", 0, "base_version"), 3.0),
    "base version as bool": _set(("changes", 0, "base_version"), True),
    "negative base version": _set(("changes", 0, "base_version"), -1),
    "base version too large": _set(("changes", 0, "base_version"), 2**31),
    "deleted as 1": _set(("changes", 0, "deleted"), 1),
    "deleted as text": _set(("changes", 0, "deleted"), "true"),
    "unknown table": _set(("changes", 0, "table"), "colour"),
    "table as list": _set(("changes", 0, "table"), ["volunteer"]),
    "id too long": _set(("changes", 0, "id"), "x" * 37),
    "id of 36": _set(("changes", 0, "id"), "x" * 36),
    "empty id": _set(("changes", 0, "id"), ""),
    "id with a newline": _set(("changes", 0, "id"), "v0\n"),
    "id with a space": _set(("changes", 0, "id"), "v 0"),
    "id with CJK": _set(("changes", 0, "id"), "志愿者"),
    "empty hlc": _set(("changes", 0, "hlc"), ""),
    "hlc with a slash": _set(("changes", 0, "hlc"), "a/b"),
    "change id of 201": _set(("changes", 0, "change_id"), "c" * 201),
    "fields as list": _set(("changes", 0, "fields"), [1, 2]),
    "base as null": _set(("changes", 0, "base"), None),
    "change as list": _set(("changes", 0), [1]),
    "node id with a colon": _set(("node_id",), "a:b"),
    "node id too long": _set(("node_id",), "n" * 65),
    "batch id empty": _set(("batch_id",), ""),
    "schema version too long": _set(("schema_version",), "9" * 33),
    "protocol version as text": _set(("protocol_version",), "1"),
    "changes as dict": _set(("changes",), {}),
    "no changes": _set(("changes",), []),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_any_other_body_gets_pydantics_answer(name: str) -> None:
    body = copy.deepcopy(client_body())
    MUTATIONS[name](body)
    raw = orjson.dumps(body)
    assert outcome(as_read_fields, raw) == outcome(as_model_fields, raw)


@pytest.mark.parametrize("raw", [
    b"", b"[]", b"null", b"{", b'{"node_id": NaN}', b"\xff\xfe",
    orjson.dumps(client_body()).replace(b'"base_version":0', b'"base_version":100000000000000000000000'),
    orjson.dumps(client_body()).replace(b'"hours":2.5', b'"hours":1e400'),
    # an integer beyond 64 bits in a record's values (orjson read it as a float; pydantic keeps the integer)
    orjson.dumps(client_body()).replace(b'"hours":2.5', b'"hours":100000000000000000000000'),
    orjson.dumps(client_body()).replace(b'"hours":2.5', b'"hours":-18446744073709551616'),
    orjson.dumps(client_body()).replace(b'"name":"\\u738b', b'"name":"\\ud800'),
    orjson.dumps(client_body()).replace(b'"name"', b'"name":1,"name"'),
])
def test_bodies_a_json_reader_may_read_its_own_way_get_pydantics_answer(raw: bytes) -> None:
    assert outcome(as_read_fields, raw) == outcome(as_model_fields, raw)


def test_more_changes_than_a_batch_may_hold_are_refused() -> None:
    raw = orjson.dumps(client_body(MAX_BATCH_CHANGES + 1))
    assert outcome(as_read_fields, raw)[0] == "invalid" == outcome(as_model_fields, raw)[0]


def test_an_answer_leaves_out_only_fields_at_their_defaults() -> None:
    from sync.protocol import ChangeResult, IncomingChange
    from sync.push import result

    change = IncomingChange("c1", "volunteer", "v1", 0, {}, {}, False, "")
    plain = result(change, "applied", "inserted", 1)
    assert set(plain) == {"change_id", "table", "id", "status", "reason", "version"}
    assert ChangeResult.model_validate(plain) == ChangeResult(change_id="c1", table="volunteer", id="v1",
                                                              status="applied", reason="inserted", version=1)
    full = result(change, "conflict", "field_conflict", 2, message="m", record={"name": "王芳"}, conflict_id="k",
                  merged_into="v0", stamp="0001764000000000-00000-other")
    assert ChangeResult.model_validate(full).model_dump() == {
        "change_id": "c1", "table": "volunteer", "id": "v1", "status": "conflict", "reason": "field_conflict",
        "version": 2, "message": "m", "record": {"name": "王芳"}, "conflict_id": "k", "merged_into": "v0",
        "stamp": "0001764000000000-00000-other"}
    # The stamp of the change's own write is the change's hlc: said only when it is another.
    assert "stamp" not in result(change, "applied", "inserted", 1, stamp="")


@given(st.text(alphabet=st.sampled_from([*"09AZaz_.:-/ \n\x00\x7f", "\u00e9", "\u5fd7", "\U0001f600"]) | st.characters(),
               max_size=12))
def test_the_id_characters_test_answers_as_the_id_pattern(text: str) -> None:
    """``_only_id_characters`` (bytes.translate over the joined ids) says what ``ID_PATTERN`` says of the text."""
    assert _only_id_characters(text) == bool(_ID.fullmatch(text))
