"""Writes the city makes on the server itself: a conflict's decision, a merged duplicate, a period lock.

Each is a normal new version of a row, appended to the change sequence like a pushed change, so it reaches
every device of the county on its next pull. Values are validated by the same validators as a push.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schema.errors import FieldError, InvalidRecord
from schema.models import new_id
from sync.hlc import Timestamp, wall_ms
from sync.partition import RowChange, record_changes
from sync.push import _execute_writes, defaults
from sync.records import clean_incoming, from_wire, row_to_wire, table_of
from sync.serverdb import ServerDB

CITY_NODE = "city"


def city_hlc() -> str:
    """An HLC stamp on the server's own clock: the city's decision is later than anything it has seen."""
    return str(Timestamp(wall_ms(), 0, CITY_NODE))


def current_record(connection: Connection, table: str, row_id: str, *, lock: bool = True) -> dict[str, Any]:
    """The row in wire form plus its ``version`` (locked for update on PostgreSQL)."""
    query = sa.select(table_of(table)).where(table_of(table).c.id == row_id)
    row = connection.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None:
        raise InvalidRecord(table, [FieldError("id", f"记录 {row_id} 不存在 (no such record)")])
    return {**row_to_wire(table, row), "version": row["version"]}


def clean_values(table: str, values: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Validated wire values; ``deleted`` passes through as a boolean (the validators do not know it)."""
    cleaned = clean_incoming(table, {k: v for k, v in values.items() if k != "deleted"}, partial=partial)
    if "deleted" in values:
        cleaned["deleted"] = bool(values["deleted"])
    return cleaned


def update_as_city(db: ServerDB, connection: Connection, table: str, row_id: str, values: dict[str, Any],
                   by: str) -> int:
    """Set ``values`` on a row as the city; return its new version (always a new one, even if equal:
    the device whose edit lost must hear the decision)."""
    current = current_record(connection, table, row_id)
    version = current.pop("version")
    if "county_code" in values and values["county_code"] != current["county_code"]:
        raise InvalidRecord(table, [FieldError("county_code", "记录不能改属其他县区 (a record cannot move county)")])
    record = {**current, **clean_values(table, values, partial=True)}
    _execute_writes(connection, table, "update", [from_wire(table, record) | {
        "id": row_id, "version": version + 1, "updated_hlc": city_hlc(), "updated_by": by[:64],
        "sync_state": "synced"}])
    record_changes(db, connection, [RowChange(record["county_code"], table, row_id, version, version + 1,
                                              CITY_NODE, current, record)])
    return version + 1


def insert_as_city(db: ServerDB, connection: Connection, table: str, values: dict[str, Any], by: str) -> str:
    """A new row made by the city (e.g. a reporting-calendar entry); returns its id."""
    row_id = str(values.get("id") or new_id())
    record = {**defaults(table), **clean_values(table, {k: v for k, v in values.items() if k != "id"},
                                                partial=False)}
    _execute_writes(connection, table, "insert", [from_wire(table, record) | {
        "id": row_id, "version": 1, "updated_hlc": city_hlc(), "updated_by": by[:64], "sync_state": "synced"}])
    record_changes(db, connection, [RowChange(record["county_code"], table, row_id, None, 1, CITY_NODE,
                                                        None, record)])
    return row_id
