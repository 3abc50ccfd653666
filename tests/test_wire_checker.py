"""The compiled checker of whole pushed rows (``sync.records._whole_row_checker``) answers exactly as
``clean_record`` with strict wire types: the same cleaned row, or the same refusal naming the same fields,
for valid rows of every table and for each wire field given every odd value and wrong JSON type. The compiled
row hash of each table (``sync.records.row_hash``) is the hash of the row's canonical values, whatever form
they come in."""

from __future__ import annotations

from datetime import date, datetime
from hashlib import blake2b
from pathlib import Path
from typing import Any
from unittest import mock

import orjson
import pytest
from test_sync_trust import SAMPLES, valid_records

import sync.push
from schema.errors import InvalidRecord
from schema.models import SYNCED_TABLES
from schema.validation import clean_record
from sync.auth import authenticate, issue_token
from sync.protocol import PROTOCOL_VERSION, read_push
from sync.push import defaults, push_answer
from sync.records import (
    WIRE_RULES,
    _to_storable_wire,
    _whole_row_checker,
    canonical_values,
    clean_incoming,
    clean_new_rows,
    column_kinds,
    row_hash,
    wire_fields,
)
from sync.serverdb import open_server_db, schema_version

ODD = ["", " x", "x ", "\x00", "2026-02-30", "2026-W09-1", "2026-03-01T09:00:00+08:00", "2026-03-01T09:00:00.5",
       "2026-03-01 09:00:00", "2026-03-01", "20260301", "2026-03-01T09:00:00", 0, -1, 2**31, 0.0, -0.0, 744.0, 744.01,
       3, "410522", "４１０５２２", "a" * 37, "a" * 201, "\u3000x", "true"]


def whole_row(table: str) -> dict[str, Any]:
    """A valid new row of ``table`` as a device sends it: every wire column, in table order."""
    _row_id, fields = valid_records("410522")[table]
    full = defaults(table) | fields
    return {name: full.get(name) for name in wire_fields(table)}


def answer(table: str, fields: dict[str, Any], checked: bool) -> tuple[str, Any]:
    try:
        if checked:
            return "ok", clean_incoming(table, dict(fields), partial=False, strict_types=True)
        cleaned = clean_record(table, dict(fields), partial=False, extra_rules=WIRE_RULES, strict_types=True)
        if _to_storable_wire(table, cleaned):
            raise AssertionError("a valid value out of range")
        return "ok", cleaned
    except InvalidRecord as exc:
        return "refused", str(exc)


@pytest.mark.parametrize("table", SYNCED_TABLES)
def test_the_compiled_checker_answers_as_clean_record(table: str) -> None:
    row = whole_row(table)
    assert _whole_row_checker(table)(row) is not None, "a valid whole row passes the compiled checker"
    assert answer(table, row, True) == answer(table, row, False)
    assert answer(table, row, True)[0] == "ok"
    for name in row:
        for value in [*ODD, *SAMPLES.values()]:
            odd = row | {name: value}
            assert answer(table, odd, True) == answer(table, odd, False), (name, value)


@pytest.mark.parametrize("table", SYNCED_TABLES)
def test_new_rows_cleaned_a_column_at_a_time_are_cleaned_as_clean_incoming_cleans_each(table: str) -> None:
    """``clean_new_rows`` over one batch holding a valid row, its copies, and the row with each field given
    each odd value and JSON type (a list and an object too, which no set can hold): each row it cleans is
    cleaned as ``clean_incoming`` cleans it alone, and it leaves (None) only rows that are not all plain
    valid values, never a valid one."""
    row = whole_row(table)
    batch: list[dict[str, Any]] = [row, dict(row), dict(reversed(row.items()))]
    for name in row:
        batch += [row | {name: value} for value in [*ODD, *SAMPLES.values(), True, 1, 1.0]]
    cleaned = clean_new_rows(table, batch)
    assert cleaned[0] is not None and cleaned[1] is not None, "valid whole rows are cleaned"
    assert cleaned[2] is None, "fields out of table order are left to clean_incoming"
    assert cleaned[0] is not batch[0], "a new dict: the caller may change it"
    for fields, record in zip(batch, cleaned, strict=True):
        if record is not None:
            assert ("ok", record) == answer(table, fields, True), fields
    left = [fields for fields, record in zip(batch, cleaned, strict=True) if record is None and fields is not batch[2]]
    assert not [fields for fields in left if kept_as_sent(fields, answer(table, fields, True))]


def kept_as_sent(fields: dict[str, Any], answered: tuple[str, Any]) -> bool:
    """Whether the row was cleaned to exactly its values (each of its own type: 12 and 12.0 differ)."""
    status, record = answered
    return status == "ok" and record.keys() == fields.keys() and all(
        type(record[name]) is type(value) and record[name] == value for name, value in fields.items())


def test_a_pushs_new_rows_are_cleaned_a_column_at_a_time_with_the_same_answers(tmp_path: Path) -> None:
    """The push cleans its new rows this way (not only a function beside it): into a real server database, a
    batch of new rows (valid ones and one refused) calls ``clean_incoming`` for the refused row alone, and its
    answers and stored rows are those of the same batch cleaned row by row (``clean_new_rows`` made to leave
    every row)."""
    def pushed(name: str, column_wise: bool) -> tuple[list[tuple[str, str, str]], list[tuple[Any, ...]]]:
        db = open_server_db(f"sqlite:///{tmp_path / name}.sqlite")
        try:
            caller = authenticate(db.engine, issue_token(db.engine, "410522"))
            assert caller is not None
            rows = [whole_row("team") | {"name": f"队{serial}"} for serial in range(3)]
            rows[1]["contact_phone"] = "12"  # refused
            changes = [{"change_id": f"n:team:{serial}", "table": "team", "id": f"team-{serial}", "base_version": 0,
                        "base": {}, "fields": fields, "deleted": False, "hlc": f"{1_800_000_000_000 + serial}:0000:n"}
                       for serial, fields in enumerate(rows)]
            request = read_push(orjson.dumps({"node_id": "n", "protocol_version": PROTOCOL_VERSION,
                                              "schema_version": schema_version(), "batch_id": "b", "changes": changes}))
            leave_all = {} if column_wise else {"side_effect": lambda table, rows: [None] * len(rows)}
            with mock.patch.object(sync.push, "clean_new_rows", wraps=clean_new_rows, **leave_all), \
                    mock.patch.object(sync.push, "clean_incoming", wraps=clean_incoming) as one_by_one:
                answer = orjson.loads(push_answer(db, caller, request))
            assert one_by_one.call_count == (1 if column_wise else 3)
            with db.engine.connect() as connection:
                stored = connection.exec_driver_sql("SELECT id, name, contact_phone, version FROM team ORDER BY id").all()
            return [(r["id"], r["status"], r["reason"]) for r in answer["results"]], [tuple(row) for row in stored]
        finally:
            db.close()

    column_wise = pushed("column", True)
    assert column_wise == pushed("row", False)
    assert [status for _id, status, _reason in column_wise[0]] == ["applied", "rejected", "applied"]


def test_fields_out_of_table_order_go_the_interpreted_way() -> None:
    row = whole_row("participation")
    reordered = dict(reversed(row.items()))
    assert _whole_row_checker("participation")(reordered) is None
    assert answer("participation", reordered, True) == answer("participation", reordered, False)


def reference_row_hash(table: str, row_id: str, version: int, record: dict[str, Any]) -> int:
    """``row_hash`` as it is defined: the canonical values (``canonical_values``) hashed with table, id, version."""
    payload = orjson.dumps([table, row_id, version, canonical_values(table, record)])
    return int.from_bytes(blake2b(payload, digest_size=8).digest(), "big")


@pytest.mark.parametrize("table", SYNCED_TABLES)
def test_the_compiled_row_hash_is_the_hash_of_the_canonical_values(table: str) -> None:
    """Each table's compiled hash takes a value already canonical as it is and converts any other as
    ``canonical_values`` does: a row read from SQLite (flags 0/1, stored date-times), typed by SQLAlchemy
    (dates, date-times), sent on the wire, or missing columns hashes as the definition says."""
    row = whole_row(table)
    kinds = column_kinds(table)
    stored = {"datetime": "2026-03-01 09:00:00.000000", "date": "2026-03-01", "bool": 1, "int": True, "float": 3}
    typed = {"datetime": datetime(2026, 3, 1, 9, 0, 0, 5), "date": date(2026, 3, 1), "bool": 0, "int": 7, "float": 2.5}
    forms = [row, {}, {name: None for name in row},
             row | {name: stored[kinds[name]] for name in row if kinds[name] in stored},
             row | {name: typed[kinds[name]] for name in row if kinds[name] in typed},
             row | {name: "2026-03-01T09:00:00+00:00" for name in row if kinds[name] == "datetime"},
             # every column but one: the compiled hash reads them all at once only when all are there
             *({name: value for name, value in row.items() if name != missing} for missing in row)]
    for record in forms:
        assert row_hash(table, "row-1", 4, record) == reference_row_hash(table, "row-1", 4, record), record


def test_a_batchs_change_hashes_are_each_changes_hash() -> None:
    """``change_hashes`` (one comprehension over the batch) gives every change the key ``change_hash`` gives it,
    including a batch orjson cannot dump (an integer beyond 64 bits), which goes change by change."""
    from sync.protocol import IncomingChange
    from sync.push import change_hash, change_hashes

    changes = [IncomingChange(f"c{n}", table, f"row-{n}", n % 2, {"name": "旧"} if n % 2 else {}, whole_row(table),
                              n % 3 == 0, f"{n:013d}-0000-node") for n, table in enumerate(SYNCED_TABLES)]
    assert change_hashes(changes) == {change.change_id: change_hash(change) for change in changes}
    wide = [*changes, changes[0]._replace(change_id="wide", fields={"hours": 2**70})]
    assert change_hashes(wide) == {change.change_id: change_hash(change) for change in wide}
    assert change_hashes([]) == {}
