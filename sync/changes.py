"""Outgoing changes of a county store: from the change log and the sync base to push batches.

Per pending row: its fields that differ from the base (the last version both sides agreed on) and the
base values of those fields; a row the server has never seen goes whole with base version 0; a row
deleted here (hard delete) goes as a tombstone carrying its whole base.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schema.models import SYNCED_TABLES
from sync.hlc import HybridClock
from sync.push import canonical_json, chunks
from sync.records import column_kinds, wire_fields


@dataclass(frozen=True)
class PendingRow:
    table: str
    row_id: str
    max_seq: int


@dataclass
class Cursor:
    """Where batch building got to in this run (rows refused by the server stay pending but are not resent)."""

    table_index: int = 0
    after: str = ""


@dataclass
class OutgoingBatch:
    changes: list[dict[str, Any]] = field(default_factory=list)
    # Rows whose log holds no real change (created and deleted before any sync, or touched to equal values).
    settled: list[PendingRow] = field(default_factory=list)


def change_id(node: str, row: PendingRow, content: list[Any]) -> str:
    """Deterministic: the same change of a row always gets the same id, so a replay is recognised.

    The log's sequence number says which log entries the change covers; the content hash keeps ids
    unique when SQLite reuses sequence numbers after the log was emptied.
    """
    digest = hashlib.sha256(canonical_json(content)).hexdigest()[:16]
    return f"{node}:{row.table}:{row.row_id}:{row.max_seq}:{digest}"


def max_seq_of(change_id_text: str) -> int:
    return int(change_id_text.rsplit(":", 2)[1])


def pending_rows(connection: Connection, cursor: Cursor, limit: int) -> list[PendingRow]:
    """The next ``limit`` pending rows, parents' tables first, in id order within a table."""
    found: list[PendingRow] = []
    while cursor.table_index < len(SYNCED_TABLES) and len(found) < limit:
        table = SYNCED_TABLES[cursor.table_index]
        rows = connection.execute(sa.text(
            "SELECT row_id, MAX(seq) FROM change_log WHERE tbl = :t AND row_id > :after "
            "GROUP BY row_id ORDER BY row_id LIMIT :n"), {"t": table, "after": cursor.after,
                                                          "n": limit - len(found)}).all()
        found.extend(PendingRow(table, row_id, seq) for row_id, seq in rows)
        if len(found) < limit:
            cursor.table_index, cursor.after = cursor.table_index + 1, ""
        else:
            cursor.after = rows[-1][0]
    return found


def load_bases(connection: Connection, table: str, ids: list[str]) -> dict[str, tuple[int, dict[str, Any]]]:
    bases: dict[str, tuple[int, dict[str, Any]]] = {}
    for part in chunks(ids):
        statement = sa.text("SELECT row_id, version, data FROM sync_base WHERE tbl = :t AND row_id IN :ids") \
            .bindparams(sa.bindparam("ids", expanding=True))
        for row_id, version, data in connection.execute(statement, {"t": table, "ids": part}):
            bases[row_id] = (version, orjson.loads(data))
    return bases


def load_rows(connection: Connection, table_name: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Rows in wire form, read as plain sqlite3 tuples (typed SQLAlchemy rows cost more than the rest of
    building a change): only dates, times and flags need converting to their wire form."""
    names = wire_fields(table_name)
    converters = _raw_converters(table_name)
    sql = f"SELECT id, {', '.join(names)} FROM {table_name} WHERE id IN "  # names come from the model
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    rows: dict[str, dict[str, Any]] = {}
    for part in chunks(ids):
        for raw in cursor.execute(sql + f"({','.join('?' * len(part))})", part):
            record = dict(zip(names, raw[1:], strict=True))
            for name, convert in converters:
                value = record[name]
                if value is not None:
                    record[name] = convert(value)
            rows[raw[0]] = record
    cursor.close()
    return rows


@cache
def _raw_converters(table: str) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """(column, raw SQLite value → wire value) for the wire columns whose stored form is not the wire form."""
    convert: dict[str, Callable[[Any], Any]] = {
        "datetime": lambda v: datetime.fromisoformat(v).isoformat() if isinstance(v, str) else v,
        "date": lambda v: date.fromisoformat(v).isoformat() if isinstance(v, str) else v,
        "bool": bool}
    kinds = column_kinds(table)
    return tuple((name, convert[kinds[name]]) for name in wire_fields(table) if kinds[name] in convert)


def build_batch(connection: Connection, pending: list[PendingRow], node: str, clock: HybridClock) -> OutgoingBatch:
    batch = OutgoingBatch()
    for table in SYNCED_TABLES:
        of_table = [p for p in pending if p.table == table]
        if not of_table:
            continue
        ids = [p.row_id for p in of_table]
        rows, bases = load_rows(connection, table, ids), load_bases(connection, table, ids)
        for item in of_table:
            change = _change_for(item, rows.get(item.row_id), bases.get(item.row_id), node, clock)
            if change is None:
                batch.settled.append(item)
            else:
                batch.changes.append(change)
    return batch


def _change_for(item: PendingRow, row: dict[str, Any] | None, base: tuple[int, dict[str, Any]] | None,
                node: str, clock: HybridClock) -> dict[str, Any] | None:
    content = _content(row, base)
    if content is None:
        return None
    base_version, base_values, fields, deleted = content
    return {"change_id": change_id(node, item, list(content)), "table": item.table, "id": item.row_id,
            "base_version": base_version, "base": base_values, "fields": fields, "deleted": deleted,
            "hlc": str(clock.tick())}


def _content(row: dict[str, Any] | None, base: tuple[int, dict[str, Any]] | None) \
        -> tuple[int, dict[str, Any], dict[str, Any], bool] | None:
    """(base version, base values, changed fields, deleted) of a row, or None if there is nothing to send."""
    if row is None:
        return None if base is None else (base[0], base[1], {"deleted": True}, True)
    if base is None:
        return 0, {}, row, bool(row["deleted"])
    version, data = base
    changed = {name: value for name, value in row.items() if data.get(name, _ABSENT) != value}
    if not changed:
        return None
    # A delete carries its whole base: the server must see whether anything was edited since.
    base_values = data if row["deleted"] and not data.get("deleted") else \
        {name: data.get(name) for name in changed if name in data} | {"deleted": data.get("deleted", False)}
    return version, base_values, changed, bool(row["deleted"])


_ABSENT = object()

