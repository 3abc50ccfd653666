"""Records on the wire: which columns travel, their canonical JSON form, validation of incoming values,
and the per-row content hash the partition digest is built from.

Both sides compare values in wire form, so a date read from SQLite text and one read from PostgreSQL
compare equal when they mean the same day.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from functools import cache
from hashlib import blake2b
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from schema.errors import FieldError, InvalidRecord, InvalidValue
from schema.models import LOCAL_ONLY_COLUMNS, SYNC_META_COLUMNS, TABLE_MODELS
from schema.validation import OUT_OF_RANGE, canonical_datetime, clean_record

# Columns a change carries besides the data: ``id`` names the row, the meta columns are the server's.
NOT_ON_WIRE = frozenset({"id"}) | SYNC_META_COLUMNS | LOCAL_ONLY_COLUMNS
DIGEST_ZERO = "0000000000000000"


def table_of(name: str) -> sa.Table:
    return TABLE_MODELS[name].__table__  # type: ignore[attr-defined,no-any-return]


@cache
def wire_fields(table: str) -> tuple[str, ...]:
    """The columns of ``table`` that go over the wire, in table order (includes county_code, deleted)."""
    return tuple(c.name for c in table_of(table).columns if c.name not in NOT_ON_WIRE)


@cache
def column_kinds(table: str) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for column in table_of(table).columns:
        python_type = column.type.python_type
        kinds[column.name] = {datetime: "datetime", date: "date", bool: "bool", int: "int",
                              float: "float"}.get(python_type, "str")
    return kinds


def to_wire(value: Any) -> Any:
    """The canonical JSON form of a column value: a date-time in stored form (naive China Standard Time,
    whatever offset a hand edit of the server's database gave it), a date as ``YYYY-MM-DD``."""
    if isinstance(value, datetime):
        return canonical_datetime(value).isoformat()
    return value.isoformat() if isinstance(value, date) else value


def row_to_wire(table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: to_wire(row[name]) for name in wire_fields(table)}


def from_wire(table: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """Typed column values from wire form, for writing with SQLAlchemy."""
    values = dict(record)
    # Only the few non-text columns need converting; text values are already what the column holds.
    for name, kind in _typed_columns(table):
        value = values.get(name)
        if value is not None:
            values[name] = _typed(kind, value)
    return values


@cache
def _typed_columns(table: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, kind) for name, kind in column_kinds(table).items() if kind != "str")


def _typed(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        return value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if kind == "date":
        return value if isinstance(value, date) else date.fromisoformat(value)
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    return value


def wire_params(table: str, names: tuple[str, ...], rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """SQLite driver parameters, in ``names`` order, of rows in wire form: what a Core insert of
    ``from_wire(row)`` would send, without the round trip through ``date`` and ``datetime`` objects.

    A wire value is already the stored form (text, numbers, flags, ``YYYY-MM-DD`` dates), except a date
    and time, which SQLAlchemy stores on SQLite as ``YYYY-MM-DD HH:MM:SS.ffffff``.
    """
    pick = itemgetter(*names)
    kinds = column_kinds(table)
    converting = [(index, _SQLITE_PARAM[kinds[name]]) for index, name in enumerate(names)
                  if kinds[name] in _SQLITE_PARAM]
    if not converting:
        return [pick(row) for row in rows]
    out: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(pick(row))
        for index, convert in converting:
            values[index] = convert(values[index])
        out.append(tuple(values))
    return out


def sqlite_datetime(value: Any) -> Any:
    """A wire date-time (``datetime.isoformat()``) as SQLAlchemy stores it on SQLite."""
    if type(value) is str and value[10:11] == "T":
        if len(value) == 19:  # YYYY-MM-DDTHH:MM:SS
            return f"{value[:10]} {value[11:]}.000000"
        if len(value) == 26 and value[19] == ".":  # with microseconds
            return f"{value[:10]} {value[11:]}"
    return None if value is None else _SQLITE_DATETIME(_typed("datetime", value))


def sqlite_date(value: Any) -> Any:
    if type(value) is str and len(value) == 10:  # YYYY-MM-DD, as stored
        return value
    return None if value is None else _SQLITE_DATE(_typed("date", value))


_SQLITE_DATETIME = sa.DateTime()._cached_bind_processor(sqlite.dialect())
_SQLITE_DATE = sa.Date()._cached_bind_processor(sqlite.dialect())
_SQLITE_PARAM = {"datetime": sqlite_datetime, "date": sqlite_date}


def clean_incoming(table: str, fields: Mapping[str, Any], *, partial: bool, strict_types: bool = False) -> dict[str, Any]:
    """Validate incoming wire fields with the UI's validators; return them normalised, in wire form.

    Raises ``InvalidRecord`` naming every bad field. ``created_at`` is checked here (the record
    validators leave it to the store); unknown columns are refused by ``clean_record``. A push checks
    ``strict_types`` (see ``clean_record``); a city admin's typed value may come as text from the CLI.
    """
    cleaned = clean_record(table, fields, partial=partial, extra_rules=WIRE_RULES, strict_types=strict_types)
    errors = _to_storable_wire(table, cleaned)
    if errors:
        raise InvalidRecord(table, errors)
    return cleaned


def _wire_datetime(value: Any, field: str) -> datetime:
    try:
        return canonical_datetime(datetime.fromisoformat(str(value)))
    except ValueError:
        raise InvalidValue(field, f"“{value}”不是有效时间 (not a date and time)") from None


CREATED_AT = "created_at"
WIRE_RULES = {CREATED_AT: _wire_datetime}  # columns on the wire the record rules leave to the store
INT_RANGE = (-(2**31), 2**31 - 1)


def _to_storable_wire(table: str, cleaned: dict[str, Any]) -> list[FieldError]:
    """Dates and times to wire form in place (clean_record's dict is ours to change), and the errors of
    numbers some database cannot store: integers that do not fit, numbers not finite. (Text is checked
    by the rules themselves: none lets a NUL through, see tests/test_validators.py.)"""
    errors: list[FieldError] = []
    for name, _kind in _typed_columns(table):
        value = cleaned.get(name)
        if value is None or type(value) is bool:
            continue
        if isinstance(value, date):
            cleaned[name] = value.isoformat()
        elif _out_of_range(value):
            errors.append(FieldError(name, OUT_OF_RANGE))
    return errors


def _out_of_range(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return not INT_RANGE[0] <= value <= INT_RANGE[1]
    return isinstance(value, float) and not (math.isfinite(value) and abs(value) < 1e15)


def row_hash(table: str, row_id: str, version: int, record: Mapping[str, Any]) -> int:
    """64 bits of a hash of a row: table, id, version and its content in canonical wire form (the unit of
    the partition digest). The same row hashes the same on a county store, a SQLite and a PostgreSQL
    server, whichever form its values were read in (see ``canonical_values``); a missing column is null.
    (Both sides hash every row a push writes: a few µs each, so the plan is looked up once and the values
    read with one ``map``.)"""
    names, plan = _HASH_PLANS.get(table) or _hash_plan(table)
    values = list(map(record.get, names))
    for index, convert in plan:
        value = values[index]
        if value is not None:
            values[index] = convert(value)
    return int.from_bytes(blake2b(orjson.dumps([table, row_id, version, values]), digest_size=8).digest(), "big")


def canonical_values(table: str, record: Mapping[str, Any]) -> list[Any]:
    """The wire columns of ``record`` in table order, each in its canonical form: a date-time as naive China
    Standard Time ``YYYY-MM-DDTHH:MM:SS[.ffffff]`` (from a ``datetime``, SQLite's stored text or an ISO text
    with an offset), a date ``YYYY-MM-DD``, a flag a boolean (SQLite's 0/1), a number of a float column a
    float (3 and 3.0 are one value), text as it is."""
    values = [record.get(name) for name in wire_fields(table)]
    for index, convert in _canonical_plan(table):
        value = values[index]
        if value is not None:
            values[index] = convert(value)
    return values


_HASH_PLANS: dict[str, tuple[tuple[str, ...], tuple[tuple[int, Callable[[Any], Any]], ...]]] = {}


def _hash_plan(table: str) -> tuple[tuple[str, ...], tuple[tuple[int, Callable[[Any], Any]], ...]]:
    plan = _HASH_PLANS[table] = (wire_fields(table), _canonical_plan(table))
    return plan


def _canonical_datetime(value: Any) -> str:
    if type(value) is str:
        if len(value) == 19 and value[10] == "T":  # already canonical (the common case)
            return value
        value = datetime.fromisoformat(value)
    return canonical_datetime(value).isoformat()


def _canonical_date(value: Any) -> str:
    if type(value) is str:
        return value if len(value) == 10 else date.fromisoformat(value[:10]).isoformat()
    return value.isoformat()  # type: ignore[no-any-return]


_CANONICAL: dict[str, Callable[[Any], Any]] = {"datetime": _canonical_datetime, "date": _canonical_date,
                                               "bool": bool, "int": int, "float": float}


@cache
def _canonical_plan(table: str) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    kinds = column_kinds(table)
    return tuple((index, _CANONICAL[kinds[name]]) for index, name in enumerate(wire_fields(table))
                 if kinds[name] in _CANONICAL)


def digest_xor(digest: str, *hashes: int) -> str:
    """Add or remove rows from a digest (XOR is its own inverse, so order never matters)."""
    value = int(digest, 16)
    for item in hashes:
        value ^= item
    return f"{value:016x}"

