"""The city's conflict queue: list the open conflicts, resolve one field by field with a reason.

A resolution writes a new version of the row (a change in the sequence like any other), so it reaches
every device of the county on its next pull.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schema.errors import FieldError, InvalidRecord
from sync.errors import SyncError
from sync.partition import RowChange, record_changes
from sync.protocol import ConflictOut
from sync.push import CONFLICT, _execute_writes
from sync.records import clean_incoming, from_wire, row_to_wire, table_of
from sync.serverdb import ServerDB


class ConflictNotFound(SyncError):
    """No such conflict (or not one the caller may see)."""


class ConflictClosed(SyncError):
    """The conflict was resolved already."""


def item_decision(taken: set[str]) -> str:
    """An item's decision from the sides its fields took (``city``, ``county``, ``value``): a typed value makes it
    ``value``, one side alone is that side, both sides are ``mixed`` (``sync.admin_protocol.DECISIONS``)."""
    if "value" in taken:
        return "value"
    if len(taken) > 1:
        return "mixed"
    return next(iter(taken), "city")


def _out(row: Any) -> ConflictOut:
    return ConflictOut(
        id=row.id, county_code=row.county_code, table=row.tbl, row_id=row.row_id, kind=row.kind, node_id=row.node_id,
        base_version=row.base_version, server_version=row.server_version, fields=json.loads(row.fields),
        status=row.status, created_at=row.created_at.isoformat(),
        resolved_at=row.resolved_at.isoformat() if row.resolved_at else None, resolved_by=row.resolved_by,
        resolution=json.loads(row.resolution) if row.resolution else {}, reason=row.reason, decision=row.decision)


def list_conflicts(db: ServerDB, *, county: str | None = None, status: str | None = "open",
                   limit: int = 100, offset: int = 0, resolved_after: datetime | None = None) -> list[ConflictOut]:
    """Conflicts, oldest first; ``county`` None = every county, ``status`` None = open and resolved.

    With ``resolved_after``: only those resolved strictly after it, in order of resolution (then id), so a
    county can page through the decisions it has not seen yet with a checkpoint.
    """
    query = sa.select(CONFLICT).limit(limit).offset(offset)
    if resolved_after is None:
        query = query.order_by(CONFLICT.c.created_at, CONFLICT.c.id)
    else:
        query = query.where(CONFLICT.c.resolved_at > _server_time(resolved_after)) \
            .order_by(CONFLICT.c.resolved_at, CONFLICT.c.id)
    if county is not None:
        query = query.where(CONFLICT.c.county_code == county)
    if status is not None:
        query = query.where(CONFLICT.c.status == status)
    with db.read() as connection:
        return [_out(row) for row in connection.execute(query)]


def _server_time(moment: datetime) -> datetime:
    """``resolved_at`` is stored as the server's naive local time: an aware moment is compared as that."""
    if moment.tzinfo is None:
        return moment
    try:
        return moment.astimezone().replace(tzinfo=None)
    except (OverflowError, ValueError):  # at the ends of the calendar: no local time, nothing to shift
        return moment.replace(tzinfo=None)


def get_conflict(db: ServerDB, conflict_id: str) -> ConflictOut:
    with db.read() as connection:
        row = connection.execute(sa.select(CONFLICT).where(CONFLICT.c.id == conflict_id)).first()
    if row is None:
        raise ConflictNotFound(f"conflict {conflict_id} not found")
    return _out(row)


def resolve_conflict(db: ServerDB, conflict_id: str, choices: dict[str, str], reason: str,
                     resolved_by: str) -> ConflictOut:
    """Take, per field, the server's value (``"server"``) or the losing one (``"incoming"``).

    Fields not named keep the provisional winner. Returns the resolved conflict; the row gets a new version.
    """
    if not reason.strip():
        raise InvalidRecord("sync_conflict", [FieldError("reason", "须说明解决理由 (a reason is required)")])
    return db.run_write(lambda c: _resolve(db, c, conflict_id, choices, reason.strip(), resolved_by))


def _resolve(db: ServerDB, connection: Connection, conflict_id: str, choices: dict[str, str], reason: str,
             resolved_by: str) -> ConflictOut:
    conflict = connection.execute(sa.select(CONFLICT).where(CONFLICT.c.id == conflict_id).with_for_update()).first()
    if conflict is None:
        raise ConflictNotFound(f"conflict {conflict_id} not found")
    if conflict.status != "open":
        raise ConflictClosed(f"conflict {conflict_id} was resolved already")
    fields = json.loads(conflict.fields)
    unknown = sorted(set(choices) - set(fields))
    if unknown:
        raise InvalidRecord(conflict.tbl, [FieldError(name, "不是该冲突的字段 (not a field of this conflict)")
                                           for name in unknown])
    table = table_of(conflict.tbl)
    row = connection.execute(sa.select(table).where(table.c.id == conflict.row_id).with_for_update()).mappings().one()
    current = row_to_wire(conflict.tbl, row)
    chosen = {name: fields[name]["incoming"] for name, side in choices.items() if side == "incoming"}
    record = {**current, **clean_incoming(conflict.tbl, {k: v for k, v in chosen.items() if k != "deleted"},
                                          partial=True)}
    if "deleted" in chosen:
        record["deleted"] = bool(chosen["deleted"])
    # Always a new version, even when the provisional winner stays: the resolution must reach the
    # device whose edit lost, which shows the row as in conflict until then.
    version = row["version"] + 1
    _execute_writes(connection, conflict.tbl, "update", [from_wire(conflict.tbl, record) | {
        "id": conflict.row_id, "version": version, "updated_hlc": row["updated_hlc"],
        "updated_by": resolved_by[:64], "sync_state": "synced"}])
    record_changes(db, connection, [RowChange(conflict.county_code, conflict.tbl, conflict.row_id,
                                              row["version"], version, f"resolve:{resolved_by}"[:64],
                                              current, record)])
    resolution = {name: (fields[name]["incoming"] if choices.get(name) == "incoming" else fields[name]["server"])
                  for name in fields}
    taken = {"county" if choices.get(name) == "incoming" else "city" for name in fields}
    connection.execute(sa.update(CONFLICT).where(CONFLICT.c.id == conflict_id).values(
        status="resolved", resolved_at=datetime.now(), resolved_by=resolved_by[:64],
        resolution=json.dumps(resolution, ensure_ascii=False), reason=reason[:500], resolved_version=version,
        decision=item_decision(taken)))
    updated = connection.execute(sa.select(CONFLICT).where(CONFLICT.c.id == conflict_id)).one()
    return _out(updated)
