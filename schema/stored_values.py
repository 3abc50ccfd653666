"""Dates and times in a county store that cannot be read back (FIELD.md: someone opens the store in the
``sqlite3`` shell and types ``UPDATE volunteer SET birth_date = '2026-13-45'``).

The app stores every date as ``YYYY-MM-DD`` and every date and time as ``YYYY-MM-DD HH:MM:SS.ffffff``; a
value typed by hand that is no date stops every screen that reads its record (the ORM's date type raises on
it). ``unreadable_values`` finds them (one scan of each table's date columns, cheap enough to run after every
start), and ``repair_value`` writes the value the clerk corrects each to, checked by the same rules as the
record's form; the capture triggers log the write, so the correction goes with the next sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection

from schema.errors import FieldError, InvalidRecord, InvalidValue
from schema.models import SYNCED_TABLES, TABLE_MODELS, field_label, table_label
from schema.validation import (
    clean_record,
    optional_date,
    optional_datetime,
    required_date,
    required_datetime,
)

# The column that names a record to a clerk, by table (the first of these the table has).
LABEL_COLUMNS = ("name", "title", "period")


@dataclass(frozen=True)
class Unreadable:
    """One stored value that is no date (or date and time): where it is and what it holds."""

    table: str
    row_id: str
    column: str
    raw: Any
    kind: str  # "date" or "datetime"
    nullable: bool
    record_label: str = ""

    def where(self, lang: str = "zh") -> str:
        """``志愿者「张三」· 出生日期`` (the record by its name where it has one)."""
        model = TABLE_MODELS[self.table]
        label = f"「{self.record_label}」" if self.record_label else f" {self.row_id[:8]}…"
        return f"{table_label(self.table, lang)}{label} · {field_label(model, self.column, lang)}"

    @property
    def shown(self) -> str:
        """The stored value as the clerk can type it again (an integer typed without quotes, say)."""
        return "" if self.raw is None else str(self.raw)


@cache
def _date_columns(table: str) -> tuple[tuple[str, str, bool], ...]:
    """(column, "date" or "datetime", nullable) of a synced table's date columns."""
    found = []
    for column in TABLE_MODELS[table].__table__.columns:  # type: ignore[attr-defined]
        python_type = column.type.python_type
        kind = "datetime" if python_type is datetime else "date" if python_type is date else ""
        if kind:
            found.append((column.name, kind, bool(column.nullable)))
    return tuple(found)


@cache
def _reader(table: str, column: str) -> Any:
    """The function SQLAlchemy reads the stored text with on SQLite: what fails when a screen loads it."""
    dialect = sqlite.dialect()
    column_type = TABLE_MODELS[table].__table__.c[column].type.dialect_impl(dialect)  # type: ignore[attr-defined]
    return column_type.result_processor(dialect, None) or (lambda value: value)


def _suspect(column: str, kind: str) -> str:
    """SQL true for a value that is not in the stored form (a superset of the unreadable ones, which SQLite
    tells without Python: ``date(v, '+0 days')`` normalises 2026-02-30 to 2026-03-02 (without a modifier it
    gives it back as it is) and gives NULL for month 13)."""
    if kind == "date":
        canonical = f"date({column}, '+0 days')"
    else:  # YYYY-MM-DD HH:MM:SS, then the fraction as it is
        canonical = f"strftime('%Y-%m-%d %H:%M:%S', {column}, '+0 days') || substr({column}, 20)"
    return f"({column} IS NOT NULL AND NOT (typeof({column}) = 'text' AND {canonical} IS {column}))"


def unreadable_values(connection: Connection) -> list[Unreadable]:
    """Every stored date or date and time of the synced tables that cannot be read back, by table and row."""
    if connection.dialect.name != "sqlite":
        return []
    found: list[Unreadable] = []
    for table in SYNCED_TABLES:
        columns = _date_columns(table)
        if not columns:
            continue
        names = TABLE_MODELS[table].__table__.c  # type: ignore[attr-defined]
        label = next((name for name in LABEL_COLUMNS if name in names), None)
        selected = ", ".join(["id", label or "''", *(name for name, _, _ in columns)])
        where = " OR ".join(_suspect(name, kind) for name, kind, _ in columns)
        for row in connection.exec_driver_sql(f"SELECT {selected} FROM {table} WHERE {where} ORDER BY id"):
            for (name, kind, nullable), value in zip(columns, row[2:], strict=True):
                if _unreadable(table, name, value):
                    found.append(Unreadable(table, row[0], name, value, kind, nullable, str(row[1] or "")))
    return found


def _unreadable(table: str, column: str, value: Any) -> bool:
    if value is None:
        return False
    try:
        _reader(table, column)(value)
    except (ValueError, TypeError):
        return True
    return False


def corrected_value(item: Unreadable, text: str) -> date | datetime | None:
    """The clerk's correction, checked as the record's form checks the field; raises ``InvalidValue``."""
    if item.kind == "date":
        fallback = optional_date if item.nullable else required_date
    else:
        fallback = optional_datetime if item.nullable else required_datetime
    try:  # the table's own rule for the column where it has one (created_at has none: the fallback)
        value = clean_record(item.table, {item.column: text.strip()}, partial=True,
                             extra_rules={item.column: fallback})[item.column]
    except InvalidRecord as exc:
        raise InvalidValue(item.column, exc.errors[0].message) from None
    if value is None and not item.nullable:
        raise InvalidValue(item.column, "不能为空 (required)")
    return value  # type: ignore[no-any-return]


def repair_value(connection: Connection, item: Unreadable, value: date | datetime | None) -> None:
    """Write the corrected value (in the stored form: the column's own type binds it) where the bad one was,
    unless the row has changed since it was found (the clerk is told, and nothing is written)."""
    table = TABLE_MODELS[item.table].__table__  # type: ignore[attr-defined]
    column = table.c[item.column]
    # The stored value compared as it is (raw text, or a number): the column's type would try to read it.
    still = sa.literal_column(item.column) == sa.literal(item.raw) if item.raw is not None else column.is_(None)
    done = connection.execute(table.update().where(table.c.id == item.row_id, still).values({item.column: value}))
    if done.rowcount != 1:
        raise InvalidRecord(item.table, [FieldError(item.column, "这条记录已被改动，请重新打开 "
                                                                 "(the record changed meanwhile: open it again)")])
