"""The server's quick write and read paths store and read exactly what SQLAlchemy Core would: wire rows
turned straight into SQLite parameters, and rows read back by id through the driver."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from schema.models import SYNCED_TABLES
from schema.store import Store
from stvs_tui.demo import generate, store_demo
from sync.bulk import existing_ids, in_lists, insert_params, select_by_ids, statement_parts
from sync.records import (
    from_wire,
    row_params_maker,
    row_to_wire,
    sqlite_date,
    sqlite_datetime,
    table_of,
    wire_params,
)

SQLITE = sqlite.dialect()
STORE_DATETIME = sa.DateTime()._cached_bind_processor(SQLITE)
STORE_DATE = sa.Date()._cached_bind_processor(SQLITE)


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
       st.sampled_from([None, UTC, timezone(timedelta(hours=8))]))
def test_a_wire_datetime_becomes_what_sqlalchemy_stores(moment: datetime, zone: timezone | None) -> None:
    moment = moment.replace(tzinfo=zone)
    assert sqlite_datetime(moment.isoformat()) == STORE_DATETIME(moment)


@given(st.dates())
def test_a_wire_date_becomes_what_sqlalchemy_stores(day: date) -> None:
    assert sqlite_date(day.isoformat()) == STORE_DATE(day)
    assert sqlite_datetime(None) is None and sqlite_date(None) is None


def _raw_rows(path: str, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()


def test_wire_rows_are_stored_as_core_stores_their_typed_form(store: Store, tmp_path: Any) -> None:
    """Every synced table of a year of demo data: read as wire rows, written once through Core (typed by
    from_wire) and once as wire_params, then compared byte for byte as SQLite holds them."""
    store_demo(store, generate("410522", "安阳县", 200, seed=3, today=date(2026, 3, 1)))
    engines = {name: sa.create_engine(f"sqlite:///{tmp_path / name}.sqlite") for name in ("core", "wire")}
    with store.engine.connect() as source:
        rows = {name: [row_to_wire(name, r) | {"id": r["id"], "version": r["version"], "updated_hlc": r["updated_hlc"],
                                               "updated_by": r["updated_by"], "sync_state": r["sync_state"]}
                       for r in source.execute(sa.select(table_of(name))).mappings()]
                for name in SYNCED_TABLES}
    for engine in engines.values():
        with engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for name in SYNCED_TABLES:
                table_of(name).create(connection)
    with engines["core"].begin() as connection:
        for name in SYNCED_TABLES:
            if rows[name]:
                connection.execute(sa.insert(table_of(name)), [from_wire(name, r) for r in rows[name]])
    with engines["wire"].begin() as connection:
        for name in SYNCED_TABLES:
            names = tuple(table_of(name).c.keys())
            insert_params(connection, table_of(name), names, wire_params(name, names, rows[name]))
    assert sum(len(r) for r in rows.values()) > 1000
    for name in SYNCED_TABLES:
        assert _raw_rows(str(tmp_path / "wire.sqlite"), name) == _raw_rows(str(tmp_path / "core.sqlite"), name), name


def test_a_new_rows_parameters_made_from_its_record_are_wire_params(store: Store) -> None:
    """``row_params_maker`` (a push's new rows) gives what ``wire_params`` gives for the record with the server's
    columns put in, for every row of demo data and for date-time forms other than the plain one; a record that
    lacks a column gives None (the caller then goes the general way)."""
    from sync.push import WRITE_COLUMNS

    store_demo(store, generate("410522", "安阳县", 60, seed=6, today=date(2026, 3, 1)))
    checked = 0
    with store.engine.connect() as source:
        for name in SYNCED_TABLES:
            names = tuple(table_of(name).c.keys())
            make = row_params_maker(name, names, WRITE_COLUMNS)
            for row in source.execute(sa.select(table_of(name))).mappings():
                record = row_to_wire(name, row)
                given = (row["id"], 7, "1772000000000-0000-ab", "node-1", "synced")
                variants = [record, {**record, "created_at": record["created_at"] + ".123456"},
                            {**record, "created_at": "2026-03-01T08:00:00+08:00"}]
                for variant in variants:
                    expected = wire_params(name, names, [{**variant, **dict(zip(WRITE_COLUMNS, given, strict=True))}])
                    assert make(variant, *given) == expected[0], (name, variant)
                    checked += 1
                assert make({k: v for k, v in record.items() if k != "created_at"}, *given) is None
    assert checked > 1000


def test_rows_read_by_id_are_typed_as_a_core_select_types_them(store: Store) -> None:
    store_demo(store, generate("410522", "安阳县", 30, seed=4, today=date(2026, 3, 1)))
    with store.engine.connect() as connection:
        for name in ("volunteer", "activity", "participation", "membership", "team"):
            table = table_of(name)
            core = [dict(r) for r in connection.execute(sa.select(table).order_by(table.c.id)).mappings()]
            ids = [r["id"] for r in core] + ["no-such-row"]
            assert select_by_ids(connection, table, ids, chunk=7) == core
            assert existing_ids(connection, table, ids, chunk=7) == {r["id"] for r in core}


def test_a_broken_constraint_in_a_multi_row_insert_is_sqlalchemys_integrity_error(store: Store) -> None:
    import pytest

    store_demo(store, generate("410522", "安阳县", 12, seed=5, today=date(2026, 3, 1)))
    table = table_of("team")
    with store.engine.connect() as connection:
        row = dict(connection.execute(sa.select(table).limit(1)).mappings().one()) | {"id": "copy"}
    names = tuple(row)
    params = wire_params("team", names, [row_to_wire("team", row) | {k: row[k] for k in names if k not in
                                                                  row_to_wire("team", row)}] * 2)
    with pytest.raises(sa.exc.IntegrityError, match="UNIQUE"), store.engine.begin() as connection:
        insert_params(connection, table, names, params)
    with store.engine.connect() as connection:
        assert existing_ids(connection, table, ["copy"]) == set()


def test_a_multi_row_insert_as_the_first_statement_belongs_to_the_transaction(store: Store) -> None:
    """The store's connections leave BEGIN to SQLAlchemy: a driver-level insert before any SQLAlchemy
    statement must still be inside the transaction, and roll back with it."""
    store_demo(store, generate("410522", "安阳县", 12, seed=6, today=date(2026, 3, 1)))
    table = table_of("team")
    with store.engine.connect() as connection:
        row = dict(connection.execute(sa.select(table).limit(1)).mappings().one()) | {"id": "copy"}
    names = tuple(row)
    with store.engine.connect() as connection:
        insert_params(connection, table, names, wire_params("team", names, [row_to_wire("team", row) | {
            k: row[k] for k in names if k not in row_to_wire("team", row)}]))
        connection.rollback()
    with store.engine.connect() as connection:
        assert existing_ids(connection, table, ["copy"]) == set()


@pytest.mark.parametrize("count", [0, 1, 2, 3, 127, 128, 129, 255, 300, 1000, 2000])
def test_statement_parts_keep_every_row_in_order_in_few_sizes(count: int) -> None:
    """Multi-row statements of a few sizes only (the size given, then powers of two), so each is prepared once and
    sqlite3's statement cache holds a handful, not one more per batch."""
    rows = list(range(count))
    parts = list(statement_parts(rows, 128))
    assert [row for part in parts for row in part] == rows
    sizes = {len(part) for part in parts}
    assert sizes <= {128, 64, 32, 16, 8, 4, 2, 1}
    assert sum(1 for part in parts if len(part) < 128) <= 7  # the rest: at most one part per power of two


@pytest.mark.parametrize("count", [1, 2, 3, 5, 499, 500, 501, 1234])
def test_in_lists_hold_the_same_values_in_few_sizes(count: int) -> None:
    """Each ``IN`` list holds its chunk's values, padded with the last one to a power of two or the chunk size."""
    values = [f"id{n:04d}" for n in range(count)]
    parts = list(in_lists(values, 500))
    for index, part in enumerate(parts):
        chunk = values[index * 500:(index + 1) * 500]
        assert set(part) == set(chunk) and part[:len(chunk)] == tuple(chunk)
        assert len(part) == 500 or (len(part) & (len(part) - 1) == 0 and len(part) < 2 * len(chunk))
    assert not list(in_lists([], 500))


def test_driver_values_go_through_each_columns_bind_processor_one_column_too(tmp_path: Any) -> None:
    """As a Core statement would send them: on SQLite a date and time as the text SQLAlchemy stores (one column
    alone was once passed through as it was)."""
    from schema.server_models import SyncConflict
    from sync.bulk import driver_values

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    moment = datetime(2026, 3, 1, 9, 0)
    conflict = SyncConflict.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection:
        assert driver_values(connection, conflict, {"resolved_at": moment}) == (STORE_DATETIME(moment),)
        assert driver_values(connection, conflict, {"county_code": "410522", "resolved_at": moment}) == (
            "410522", "2026-03-01 09:00:00.000000")
