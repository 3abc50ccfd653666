"""Records on the wire: which columns travel, their canonical JSON form, validation of incoming values,
and the per-row content hash the partition digest is built from.

Both sides compare values in wire form, so a date read from SQLite text and one read from PostgreSQL
compare equal when they mean the same day.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from functools import cache, reduce
from hashlib import blake2b
from operator import itemgetter, xor
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from schema.errors import FieldError, InvalidRecord, InvalidValue
from schema.models import LOCAL_ONLY_COLUMNS, SYNC_META_COLUMNS, TABLE_MODELS
from schema.validation import (
    CROSS_FIELD_RULES,
    OUT_OF_RANGE,
    canonical_datetime,
    clean_record,
    field_rule,
    required_fields,
    wire_types,
)

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
    return (_PARAMS.get((table, names)) or _params_maker(table, names))(rows)


_PARAMS: dict[tuple[str, tuple[str, ...]], Callable[[Iterable[Mapping[str, Any]]], list[tuple[Any, ...]]]] = {}
# Per column kind: a wire value as SQLite stores it, written out for the common forms (``first`` reads the value,
# ``v`` names it after); anything else goes to ``sqlite_datetime`` or ``sqlite_date`` (``convert``).
_SQLITE_FORM: dict[str, Callable[[str, str, str], str]] = {
    "datetime": lambda first, v, convert: (f"(f'{{{v}[:10]}} {{{v}[11:]}}.000000' if type({first}) is str and "
                                           f"len({v}) == 19 and {v}[10] == 'T' else {convert}({v}))"),
    "date": lambda first, v, convert: f"({v} if type({first}) is str and len({v}) == 10 else {convert}({v}))",
}


def _params_maker(table: str, names: tuple[str, ...]) -> Callable[[Iterable[Mapping[str, Any]]], list[tuple[Any, ...]]]:
    """``wire_params`` of one table and column list, compiled once: a comprehension making each row's tuple, the
    date-times converted in line (a 5,000-row push batch made its rows' parameters with a call per value)."""
    kinds = column_kinds(table)
    scope: dict[str, Any] = {}
    values = [_stored_form(kinds[name], f"row[{name!r}]", index, scope) for index, name in enumerate(names)]
    if len(values) == 1:
        values.append("")
    source = f"def make(rows):\n    return [({', '.join(values)}) for row in rows]"
    exec(source, scope)  # noqa: S102 - source made here from the models' own column names
    maker = _PARAMS[(table, names)] = scope["make"]
    return maker  # type: ignore[no-any-return]


def _stored_form(kind: str, read: str, index: int, scope: dict[str, Any]) -> str:
    """The expression of a column's stored form in a compiled maker: the value ``read`` (or, with ``read`` "", the
    local ``v<index>`` it was read into), a date or time written out per ``_SQLITE_FORM`` (its converter put in
    ``scope``)."""
    if kind not in _SQLITE_FORM:
        return read or f"v{index}"
    scope[f"convert{index}"] = _SQLITE_PARAM[kind]
    first = f"v{index} := {read}" if read else f"v{index}"
    return _SQLITE_FORM[kind](first, f"v{index}", f"convert{index}")


@cache
def row_params_maker(table: str, names: tuple[str, ...], given: tuple[str, ...]) -> Callable[..., tuple[Any, ...] | None]:
    """``make(record, *values of given)``: one row's SQLite driver parameters in ``names`` order, ``wire_params``'s
    tuple for ``{**record, **given}``, made straight from the record (no merged copy of it, no second pass: a new
    row of a push costs one ``itemgetter`` call and the tuple). None when the record lacks a column, for the caller
    to go the general way. ``given`` columns are passed as stored (none is a date or a time)."""
    kinds = column_kinds(table)
    taken = tuple(name for name in names if name not in given)
    if any(kinds[name] in _SQLITE_FORM for name in given):
        raise ValueError(f"{table}: a given column needs converting")
    scope: dict[str, Any] = {"PICK": itemgetter(*taken) if len(taken) > 1 else (lambda record: (record[taken[0]],))}
    values = [f"g{given.index(name)}" if name in given else _stored_form(kinds[name], "", taken.index(name), scope)
              for name in names]
    source = (f"def make(record, {', '.join(f'g{n}' for n in range(len(given)))}):\n"
              f"    try:\n        ({''.join(f'v{n}, ' for n in range(len(taken)))}) = PICK(record)\n"
              f"    except KeyError:\n        return None\n    return ({', '.join(values)},)")
    exec(source, scope)  # noqa: S102 - source made here from the models' own column names
    return scope["make"]  # type: ignore[no-any-return]


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
    cleaned = None
    if strict_types and not partial:
        # A whole row as a device sends it (every wire column, in table order, each value already in its
        # stored form) is checked by the table's compiled checker; anything else, and any row with a fault,
        # by ``clean_record``, which then reports every fault as ever.
        fast = _whole_row_checker(table)
        cleaned = fast(fields) if fast is not None else None
        if cleaned is not None:
            # Every wire column is there (the checker took the row only so) and each value is storable as it is
            # (it checks that too): what is left is the table's cross-field rules, which may add values (a birth
            # date from the ID number) for ``_to_storable_wire`` below.
            cross_field = CROSS_FIELD_RULES.get(table)
            if cross_field is None:
                return cleaned
            if cross_field(cleaned):
                cleaned = None
    if cleaned is None:
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
_wire_datetime.wire_form = ("datetime", False)  # type: ignore[attr-defined]  (see schema.validation)
WIRE_RULES = {CREATED_AT: _wire_datetime}  # columns on the wire the record rules leave to the store


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_plain_datetime(value: str) -> bool:
    """``YYYY-MM-DDTHH:MM:SS`` naming a real moment, without offset or fraction (the caller checked the layout)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return False
    return moment.tzinfo is None and moment.microsecond == 0


# Per rule's ``wire_form`` (schema.validation): the condition under which the value ``V`` passes as it is.
_PASSES: dict[str, Callable[..., str]] = {
    "text": lambda max_length, required: (f"type(V) is str and len(V) <= {int(max_length)} and '\\x00' not in V "
                                          f"and V == V.strip(){' and V' if required else ''}"),
    "enum": lambda _codes: "type(V) is str and V in CODES",
    "date": lambda none: ("V is None or " if none else "") + (
        "type(V) is str and len(V) == 10 and V[4] == '-' and V[7] == '-' and is_date(V)"),
    "datetime": lambda none: ("V is None or " if none else "") + (
        "type(V) is str and len(V) == 19 and V[10] == 'T' and V[4] == '-' and V[7] == '-' and V[13] == ':' "
        "and V[16] == ':' and is_plain_datetime(V)"),
    "bool": lambda none: "type(V) is bool" + (" or V is None" if none else ""),
    "uint": lambda: f"type(V) is int and 0 <= V <= {INT_RANGE[1]}",
    "hours": lambda: "type(V) is float and 0.0 < V <= 744.0 and round(V, 2) == V",
    "region": lambda: "type(V) is str and len(V) == 6 and V.isascii() and V.isdigit()",
    "ref": lambda none: ("V is None or " if none else "") + (
        "type(V) is str and V and len(V) <= 36 and '\\x00' not in V and V == V.strip()"),
}
# The JSON type a value passing as it is has (the column must accept it); None passes only where it may.
_PASSING_TYPE = {"text": str, "enum": str, "date": str, "datetime": str, "bool": bool, "uint": int, "hours": float,
                 "region": str, "ref": str}


@cache
def _whole_row_checker(table: str) -> Callable[[Mapping[str, Any]], dict[str, Any] | None] | None:
    """A function, compiled once from the table's columns and rules, doing what ``clean_record`` does with
    ``strict_types`` for a whole row whose fields are exactly the wire columns in table order: the value of
    each field is taken as it is when its rule would return it unchanged (``_PASSES``), else the field's type is
    checked and its rule applied, as ``clean_record`` does. It returns None, leaving the row to
    ``clean_record``, for fields in any other order and at the first fault (so faults are reported as ever);
    ``clean_incoming`` applies the cross-field rules. (Interpreting the rules field by field cost 20 µs of a pushed row.)"""
    names = wire_fields(table)
    types = wire_types(table)
    rules = [field_rule(table, name) or WIRE_RULES.get(name) for name in names]
    if any(rule is None for rule in rules) or not set(names) <= types.keys() or not set(required_fields(table)) <= set(names):
        return None
    scope: dict[str, Any] = {"NAMES": names, "InvalidValue": InvalidValue, "is_date": _is_date,
                             "is_plain_datetime": _is_plain_datetime, "storable": _storable}
    typed = dict(_typed_columns(table))
    values = [f"v{index}" for index in range(len(names))]
    lines = ["def check(fields):", "    if tuple(fields) != NAMES:", "        return None",
             f"    ({', '.join(values)},) = fields.values()"]
    for index, (name, rule) in enumerate(zip(names, rules, strict=True)):
        scope[f"T{index}"], scope[f"R{index}"] = types[name], rule
        form = getattr(rule, "wire_form", None)
        passes = None
        if form is not None and form[0] in _PASSES and _PASSING_TYPE[form[0]] in types[name]:
            kind, arguments = form[0], form[1:]
            if kind == "enum":
                scope[f"C{index}"] = arguments[0]
            elif kind in ("date", "datetime", "bool", "ref"):  # (None passes as it is: the rule returns None)
                arguments = (arguments[0] and type(None) in types[name],)
            passes = _PASSES[kind](*arguments).replace("CODES", f"C{index}").replace("V", f"v{index}")
        generic = [f"        if type(v{index}) not in T{index}:", "            return None", "        try:",
                   f"            v{index} = R{index}(v{index}, {name!r})", "        except InvalidValue:",
                   "            return None"]
        if name in typed:  # what a rule returns for a typed column is checked as ``_to_storable_wire`` would
            generic += [f"        if not storable(v{index}):", "            return None"]
        if passes is None:
            lines += [line[4:] for line in generic]
        elif form[0] in ("date", "datetime"):  # other text becomes a date here, not text: the cross-field
            lines += [f"    if not ({passes}):", "        return None"]  # rules compare like with like
        else:
            lines += [f"    if not ({passes}):", *generic]
    lines.append("    return {" + ", ".join(f"{name!r}: v{index}" for index, name in enumerate(names)) + "}")
    exec("\n".join(lines), scope)  # noqa: S102 - source made here from the models' own names and numbers
    return scope["check"]  # type: ignore[no-any-return]

INT_RANGE = (-(2**31), 2**31 - 1)


def _storable(value: Any) -> bool:
    """A value ``_to_storable_wire`` leaves as it is and finds no fault with (the plain JSON types); anything else
    sends the row the general way, which converts it or reports it as ever."""
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return True
    if kind is int:
        return INT_RANGE[0] <= value <= INT_RANGE[1]
    return kind is float and math.isfinite(value) and abs(value) < 1e15


def _to_storable_wire(table: str, cleaned: dict[str, Any]) -> list[FieldError]:
    """Dates and times to wire form in place (clean_record's dict is ours to change), and the errors of
    numbers some database cannot store: integers that do not fit, numbers not finite. (Text is checked
    by the rules themselves: none lets a NUL through, see tests/test_validators.py.)"""
    errors: list[FieldError] = []
    low, high = INT_RANGE
    for name, _kind in _typed_columns(table):
        value = cleaned.get(name)
        kind = type(value)
        # The plain JSON types first, tested by exact type (a pushed row's values are nothing else); any
        # other value (a date, a subclass of int) goes the general way below, as before.
        if value is None or kind is bool or kind is str:
            continue
        if kind is int:
            if not low <= value <= high:
                errors.append(FieldError(name, OUT_OF_RANGE))
        elif kind is float:
            if not (math.isfinite(value) and abs(value) < 1e15):
                errors.append(FieldError(name, OUT_OF_RANGE))
        elif isinstance(value, date):
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
    (Both sides hash every row a push writes, so each table's hash is a function compiled once:
    ``_row_hasher``.)"""
    return (_HASHERS.get(table) or _row_hasher(table))(row_id, version, record)


_HASHERS: dict[str, Callable[[str, int, Mapping[str, Any]], int]] = {}
# Per column kind: the condition under which a value ``V`` (not None) is already canonical, and its converter.
_CANONICAL_AS_IT_IS = {"datetime": "type(V) is str and len(V) == 19 and V[10] == 'T'",
                       "date": "type(V) is str and len(V) == 10", "bool": "type(V) is bool",
                       "int": "type(V) is int", "float": "type(V) is float"}


def _row_hasher(table: str) -> Callable[[str, int, Mapping[str, Any]], int]:
    """``row_hash`` of one table, compiled from its columns: ``canonical_values``' conversions written out per
    column, each skipped for a value already in canonical form (a pushed row's are): exactly its values,
    without a call per typed column (~1 µs of a pushed row's ~3)."""
    names = wire_fields(table)
    kinds = column_kinds(table)
    scope: dict[str, Any] = {"TABLE": table, "dumps": orjson.dumps, "blake2b": blake2b,
                             "from_bytes": int.from_bytes, "PICK": itemgetter(*names)}
    values = ", ".join(f"v{index}" for index in range(len(names)))
    each = ["    get = record.get", *(f"    v{index} = get({name!r})" for index, name in enumerate(names))]
    lines = ["def hasher(row_id, version, record):"]
    if len(names) > 1:  # (itemgetter of one name gives the value itself, not a tuple)
        # Every column read in one C call when the record has them all (a pushed or stored row does); a record
        # missing one reads each, the missing as null.
        lines += ["    try:", f"        ({values},) = PICK(record)", "    except KeyError:",
                  *("    " + line for line in each)]
    else:
        lines += each
    for index, name in enumerate(names):
        kind = kinds[name]
        if kind in _CANONICAL_AS_IT_IS:
            scope[f"C{index}"] = _CANONICAL[kind]
            done = _CANONICAL_AS_IT_IS[kind].replace("V", f"v{index}")
            lines += [f"    if v{index} is not None and not ({done}):", f"        v{index} = C{index}(v{index})"]
    lines.append(f"    return from_bytes(blake2b(dumps([TABLE, row_id, version, [{values}]]), digest_size=8).digest(),"
                 " 'big')")
    exec("\n".join(lines), scope)  # noqa: S102 - source made here from the models' own column names
    hasher = _HASHERS[table] = scope["hasher"]
    return hasher  # type: ignore[no-any-return]


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
    return f"{reduce(xor, hashes, int(digest, 16)):016x}"  # (the loop in C: a push folds two hashes a row)

