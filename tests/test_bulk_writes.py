"""The server's quick write and read paths store and read exactly what SQLAlchemy Core would: wire rows
turned straight into SQLite parameters, and rows read back by id through the driver."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from schema.models import SYNCED_TABLES
from schema.store import Store
from stvs_tui.demo import generate, store_demo
from sync.bulk import existing_ids, insert_params, select_by_ids
from sync.records import from_wire, row_to_wire, sqlite_date, sqlite_datetime, table_of, wire_params

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
