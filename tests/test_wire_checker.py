"""The compiled checker of whole pushed rows (``sync.records._whole_row_checker``) answers exactly as
``clean_record`` with strict wire types: the same cleaned row, or the same refusal naming the same fields,
for valid rows of every table and for each wire field given every odd value and wrong JSON type. The compiled
row hash of each table (``sync.records.row_hash``) is the hash of the row's canonical values, whatever form
they come in."""

from __future__ import annotations

from datetime import date, datetime
from hashlib import blake2b
from typing import Any

import orjson
import pytest
from test_sync_trust import SAMPLES, valid_records

from schema.errors import InvalidRecord
from schema.models import SYNCED_TABLES
from schema.validation import clean_record
from sync.push import defaults
from sync.records import (
    WIRE_RULES,
    _to_storable_wire,
    _whole_row_checker,
    canonical_values,
    clean_incoming,
    column_kinds,
    row_hash,
    wire_fields,
)

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
