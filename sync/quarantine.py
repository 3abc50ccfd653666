"""Pulled rows a county store cannot write, set aside with their reason instead of failing the pull.

A clerk can break the store under the sync engine: a hard ``DELETE`` typed into the ``sqlite3`` shell (which
does not check foreign keys) leaves rows that others refer to gone, and a local row can hold a unique key
(county and month of a report) the city gave to another row. A pulled record that would violate such a
constraint goes to ``sync_quarantine`` with the reason and the rows involved; the rest of the pull is
written and the checkpoint moves on. Every sync retries the quarantine after asking the server again for
the rows it refers to (a row deleted here comes back, as the tombstone it is on the server); what is left
is listed by ``stvs-tui sync doctor`` with the action that clears it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schema.errors import InvalidRecord
from schema.store import Store
from sync.protocol import PulledRecord
from sync.records import clean_incoming, table_of

FOREIGN_KEY, UNIQUE, CONSTRAINT = "foreign_key", "unique", "constraint"
INVALID = "invalid"  # a value this store cannot hold as its type (a date typed by hand at the city)


@dataclass(frozen=True)
class Quarantined:
    """A pulled record held back: which row, the server's version, why, and the rows involved."""

    table: str
    row_id: str
    version: int
    reason: str
    detail: str
    at: str
    record: PulledRecord

    @property
    def key(self) -> str:
        return f"{self.table}:{self.row_id}"


@cache
def references(table: str) -> tuple[tuple[str, str], ...]:
    """(column, referenced table) of each foreign key of ``table``."""
    return tuple((fk.parent.name, fk.column.table.name) for fk in table_of(table).foreign_keys)


@cache
def unique_keys(table: str) -> tuple[tuple[str, ...], ...]:
    """Column sets of the unique constraints of ``table`` besides its id."""
    return tuple(tuple(c.name for c in constraint.columns) for constraint in table_of(table).constraints
                 if isinstance(constraint, sa.UniqueConstraint))


def missing_references(connection: Connection, table: str, record: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(column, referenced table, id) of each reference of ``record`` to a row this store does not have."""
    missing = []
    for column, parent in references(table):
        value = record.get(column)
        if value is not None and connection.exec_driver_sql(
                f"SELECT 1 FROM {parent} WHERE id = ?", (value,)).first() is None:
            missing.append((column, parent, str(value)))
    return missing


def unique_holders(connection: Connection, table: str, row_id: str, record: dict[str, Any]) -> list[str]:
    """Ids of local rows that hold one of ``record``'s unique keys."""
    holders: list[str] = []
    for columns in unique_keys(table):
        where = " AND ".join(f"{name} = ?" for name in columns)
        holders += [row[0] for row in connection.exec_driver_sql(
            f"SELECT id FROM {table} WHERE {where} AND id != ?", (*(record.get(c) for c in columns), row_id))]
    return holders


def diagnose(connection: Connection, record: PulledRecord, error: str | ValueError | TypeError) -> tuple[str, str]:
    """(reason, detail) of a record the store refused with ``error`` (a constraint's message, or the error
    turning one of its values into its column's type raised)."""
    if not isinstance(error, str):
        return INVALID, invalid_values(record) or str(error)
    missing = missing_references(connection, record.table, record.record)
    if missing:
        return FOREIGN_KEY, "; ".join(f"{column} → {parent} {value}" for column, parent, value in missing)
    holders = unique_holders(connection, record.table, record.id, record.record)
    if holders:
        keys = ", ".join("+".join(columns) for columns in unique_keys(record.table))
        return UNIQUE, f"{keys} held by local {record.table} {', '.join(holders)}"
    return CONSTRAINT, error


def invalid_values(record: PulledRecord) -> str:
    """The record's values that are not of their column's type, each named with its field (as the server names
    them when a device sends one): ``birth_date: “2026-13-45”不是有效日期…``; "" when the rules find none."""
    try:
        clean_incoming(record.table, record.record, partial=True, strict_types=True)
    except InvalidRecord as exc:
        return "; ".join(str(error) for error in exc.errors)
    return ""


def hold(connection: Connection, items: list[tuple[PulledRecord, str, str]]) -> None:
    """Quarantine (record, reason, detail) items, replacing an older quarantined version of the same row."""
    connection.execute(sa.text(
        "INSERT INTO sync_quarantine (tbl, row_id, version, record, reason, detail, at) "
        "VALUES (:t, :r, :v, :rec, :reason, :d, :at) ON CONFLICT(tbl, row_id) DO UPDATE SET "
        "version = excluded.version, record = excluded.record, reason = excluded.reason, "
        "detail = excluded.detail, at = excluded.at"),
        [{"t": r.table, "r": r.id, "v": r.version, "rec": r.model_dump_json(), "reason": reason, "d": detail,
          "at": datetime.now()} for r, reason, detail in items])


def release(connection: Connection, table: str, ids: list[str]) -> None:
    """Rows written at last (or a newer version written): out of the quarantine."""
    if ids and connection.exec_driver_sql("SELECT 1 FROM sync_quarantine WHERE tbl = ? LIMIT 1", (table,)).first():
        connection.execute(sa.text("DELETE FROM sync_quarantine WHERE tbl = :t AND row_id = :r"),
                           [{"t": table, "r": row_id} for row_id in ids])


def quarantined(store: Store) -> list[Quarantined]:
    """Every quarantined record, oldest first."""
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT tbl, row_id, version, reason, detail, at, record FROM sync_quarantine ORDER BY at, tbl, row_id")
        return [Quarantined(table, row_id, version, reason, detail, str(at)[:19],
                            PulledRecord.model_validate(orjson.loads(record)))
                for table, row_id, version, reason, detail, at, record in rows]


def count(store: Store) -> int:
    with store.engine.connect() as connection:
        return int(connection.exec_driver_sql("SELECT COUNT(*) FROM sync_quarantine").scalar_one())


def wanted_references(store: Store) -> dict[str, list[str]]:
    """table → ids the quarantined records refer to and this store lacks: what to ask the server for."""
    wanted: dict[str, set[str]] = {}
    with store.engine.connect() as connection:
        for item in quarantined(store):
            for _column, parent, value in missing_references(connection, item.table, item.record.record):
                wanted.setdefault(parent, set()).add(value)
    return {table: sorted(ids) for table, ids in wanted.items()}
