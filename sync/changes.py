"""Outgoing changes of a county store: from the change log and the sync base to push batches.

Per pending row: its fields that differ from the base (the last version both sides agreed on) and the
base values of those fields; a row the server has never seen goes whole with base version 0; a row
deleted here (hard delete) goes as a tombstone carrying its whole base.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any, NamedTuple

import orjson
from sqlalchemy.engine import Connection

from schema.models import SYNCED_TABLES
from sync.bulk import driver_cursor, driver_rows
from sync.hlc import HybridClock
from sync.push import chunks, content_key
from sync.records import column_kinds, wire_fields


class PendingRow(NamedTuple):
    """A row with log entries to send; ``max_seq`` is the last entry the change covers. (A tuple: a batch
    makes thousands, and a frozen dataclass cost more to make than a plain tuple.)"""

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


def change_id(node: str, row: PendingRow, content: tuple[int, dict[str, Any], dict[str, Any], bool]) -> str:
    """Deterministic: the same change of a row always gets the same id, so a replay is recognised.

    The log's sequence number says which log entries the change covers; the rest is the change's content
    key (``sync.push.content_key``, the server's receipt key), without the HLC stamp: a change re-stamped
    (a bundle, then an online sync) keeps its id.
    """
    digest = content_key(row.table, row.row_id, *content)[:16]
    return f"{node}:{row.table}:{row.row_id}:{row.max_seq}:{digest}"


def max_seq_of(change_id_text: str) -> int:
    return int(change_id_text.rsplit(":", 2)[1])


def pending_rows(connection: Connection, cursor: Cursor, limit: int) -> list[PendingRow]:
    """The next ``limit`` pending rows, parents' tables first, in id order within a table."""
    found: list[PendingRow] = []
    while cursor.table_index < len(SYNCED_TABLES) and len(found) < limit:
        table = SYNCED_TABLES[cursor.table_index]
        rows = driver_rows(connection, "SELECT row_id, MAX(seq) FROM change_log WHERE tbl = ? AND row_id > ? "
                                       "GROUP BY row_id ORDER BY row_id LIMIT ?", (table, cursor.after, limit - len(found)))
        found.extend(PendingRow(table, row_id, seq) for row_id, seq in rows)
        if len(found) < limit:
            cursor.table_index, cursor.after = cursor.table_index + 1, ""
        else:
            cursor.after = rows[-1][0]
    return found


def load_bases(connection: Connection, table: str, ids: list[str],
               stamps: dict[str, str] | None = None) -> dict[str, tuple[int, dict[str, Any]]]:
    """The sync bases of rows, by id: (version, data); and, into ``stamps`` when given, each base's stamp where
    it is known."""
    bases: dict[str, tuple[int, dict[str, Any]]] = {}
    for part in chunks(ids):
        if not any_in_id_range(connection, "sync_base", table, part):
            continue
        for row_id, version, data, stamp in driver_rows(
                connection, "SELECT row_id, version, data, stamp FROM sync_base WHERE tbl = ? AND row_id IN "
                            f"({marks(part)})", (table, *part)):
            bases[row_id] = (version, orjson.loads(data))
            if stamps is not None and stamp:
                stamps[row_id] = stamp
    return bases


def any_in_id_range(connection: Connection, bookkeeping: str, table: str, ids: list[str]) -> bool:
    """Whether ``bookkeeping`` (sync_base, change_log: keyed by tbl and row_id) has any row of ``table`` from the
    least to the greatest of ``ids``. One index probe; when it finds none, no id of the list has a row there
    and the lookup id by id can be skipped: the common case of an initial push, whose rows have no base
    yet and, once answered, no log entry left. (SQLite compares text as UTF-8 bytes, which orders as
    Python orders ``str``.)"""
    if not ids:
        return False
    return bool(driver_rows(connection, f"SELECT 1 FROM {bookkeeping} WHERE tbl = ? AND row_id BETWEEN ? AND ? LIMIT 1",
                            (table, min(ids), max(ids))))


def marks(values: list[Any]) -> str:
    """Placeholders of an ``IN (...)`` list."""
    return ",".join("?" * len(values))


def load_rows(connection: Connection, table_name: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Rows in wire form, read as plain sqlite3 tuples (typed SQLAlchemy rows cost more than the rest of
    building a change): only dates, times and flags need converting to their wire form."""
    names = wire_fields(table_name)
    # ``id`` comes last, so zip(names, values) leaves it out without slicing the tuple.
    select = f"SELECT {', '.join(names)}, id FROM {table_name} WHERE "  # names come from the model
    cursor = driver_cursor(connection)
    # Date and time texts are converted once per call and column: the same days recur in a table.
    read = _row_reader(table_name)
    memos: list[dict[Any, Any]] = [{} for _ in range(read.memos)]  # type: ignore[attr-defined]
    rows: dict[str, dict[str, Any]] = {}
    for part in chunks(ids):
        # Pending rows are taken in id order, so a batch often asks for (nearly) every row of an id range (an
        # initial push asks for all): then one walk of the range reads them quicker than a lookup per id,
        # skipping the few rows of the range not asked for. Otherwise (edits spread over a big table) by id.
        low, high = min(part), max(part)
        in_range = cursor.execute(f"SELECT COUNT(*) FROM {table_name} WHERE id BETWEEN ? AND ?", (low, high))
        wanted = set(part) if in_range.fetchone()[0] <= len(part) + len(part) // 8 else None
        found = cursor.execute(select + f"id IN ({marks(part)})", part) if wanted is None else \
            cursor.execute(select + "id BETWEEN ? AND ?", (low, high))
        read(found, wanted, rows, *memos)
    cursor.close()
    return rows


def _remember(memo: dict[Any, Any], value: Any, convert: Callable[[Any], Any]) -> Any:
    converted = memo[value] = convert(value)
    return converted


@cache
def _row_reader(table: str) -> Callable[..., None]:
    """``read(found, wanted, rows, *memos)``: each raw row of ``found`` (the wire columns, then ``id``) whose id is
    in ``wanted`` (every row when None) put in ``rows`` by id, in wire form (each ``_raw_converters`` column not
    null converted, a date or time text through its memo), by one dict comprehension compiled for the table (a loop over the converted columns per row cost more than
    reading the row). ``read.memos``: how many memos (text value → wire form) it takes, one per date or time column."""
    names = wire_fields(table)
    plan = dict(_raw_converters(table))
    scope: dict[str, Any] = {"remember": _remember, "str": str}
    items, memo_names = [], []
    for index, name in enumerate(names):
        convert = plan.get(index)
        if convert is None:
            items.append(f"{name!r}: r[{index}]")
            continue
        scope[f"C{index}"] = convert
        v = f"v{index}"
        if convert is bool:
            items.append(f"{name!r}: None if ({v} := r[{index}]) is None else C{index}({v})")
        else:
            memo_names.append(f"M{index}")
            items.append(f"{name!r}: None if ({v} := r[{index}]) is None else C{index}({v}) if type({v}) is not str "
                         f"else M{index}.get({v}) or remember(M{index}, {v}, C{index})")
    last = len(names)
    source = (f"def read(found, wanted, rows{''.join(', ' + m for m in memo_names)}):\n"
              f"    rows.update({{r[{last}]: {{{', '.join(items)}}} for r in found if wanted is None or r[{last}] in wanted}})")
    exec(source, scope)  # noqa: S102 - source made here from the models' own column names
    read = scope["read"]
    read.memos = len(memo_names)
    return read  # type: ignore[no-any-return]


def _wire_form(parse: Callable[[str], date]) -> Callable[[Any], Any]:
    """Stored date (or date and time) text → its wire form, by ``parse``; text that is none (typed in the
    ``sqlite3`` shell: ``2026-02-30``) as it is, for the server to refuse that record, naming it and the field,
    while the rest of the batch goes."""
    def convert(value: Any) -> Any:
        try:
            return parse(value).isoformat() if isinstance(value, str) else value
        except ValueError:
            return value
    return convert


@cache
def _raw_converters(table: str) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    """(index in ``wire_fields``, raw SQLite value → wire value) for the wire columns whose stored form is
    not the wire form. A value no date or time is sent as it is: one bad row must not stop the sync."""
    convert: dict[str, Callable[[Any], Any]] = {"datetime": _wire_form(datetime.fromisoformat),
                                                "date": _wire_form(date.fromisoformat), "bool": bool}
    kinds = column_kinds(table)
    return tuple((index, convert[kinds[name]]) for index, name in enumerate(wire_fields(table))
                 if kinds[name] in convert)


def build_batch(connection: Connection, pending: list[PendingRow], node: str, clock: HybridClock) -> OutgoingBatch:
    batch = OutgoingBatch()
    by_table: dict[str, list[PendingRow]] = {}
    for item in pending:
        by_table.setdefault(item.table, []).append(item)
    for table in SYNCED_TABLES:
        of_table = by_table.get(table)
        if not of_table:
            continue
        ids = [p.row_id for p in of_table]
        stamps: dict[str, str] = {}
        rows, bases = load_rows(connection, table, ids), load_bases(connection, table, ids, stamps)
        for item in of_table:
            content = _content(rows.get(item.row_id), bases.get(item.row_id))
            if content is None:
                batch.settled.append(item)
                continue
            base_version, base_values, fields, deleted = content
            batch.changes.append({"change_id": change_id(node, item, content), "table": table,
                                  "id": item.row_id, "base_version": base_version, "base": base_values,
                                  "fields": fields, "deleted": deleted,
                                  "base_stamp": stamps.get(item.row_id, "") if base_version else ""})
    # Stamped once the batch is built, in the order built, as one tick each would (``hlc`` stays the last key).
    for change, stamp in zip(batch.changes, clock.tick_texts(len(batch.changes)), strict=True):
        change["hlc"] = stamp
    return batch


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
