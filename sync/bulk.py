"""Bulk writes through the driver's own executemany (sqlite3 or psycopg), past SQLAlchemy's per-row
parameter processing, which cost more than the database work for a 5,000-row push batch.

Values are converted with the same bind processors SQLAlchemy would use (so a datetime or a flag is
stored exactly as a Core insert stores it), and errors still surface as SQLAlchemy exceptions
(``IntegrityError`` and the rest), because the statements run through ``exec_driver_sql``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

Processor = Callable[[Any], Any] | None


def insert_rows(connection: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ``rows``; rows with differing keys, or missing a column that has a Python-side default, go
    through SQLAlchemy instead (which fills that default in, as before)."""
    if not rows:
        return
    names = tuple(rows[0])
    keys = set(names)
    unusual = not keys <= _columns(table) or _misses_defaults(table, names)  # SQLAlchemy checks names itself
    if unusual or any(row.keys() != keys for row in rows):
        connection.execute(sa.insert(table), list(rows))
        return
    marks = ", ".join([_mark(connection.dialect)] * len(names))
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"  # names checked above: columns
    connection.exec_driver_sql(sql, _tuples(connection.dialect, table, names, rows))


def update_rows(connection: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE every column but ``id`` of each row, by id (every row carries every column)."""
    if not rows:
        return
    names = tuple(c.name for c in table.columns if c.name != "id")
    mark = _mark(connection.dialect)
    sql = f"UPDATE {table.name} SET {', '.join(f'{n} = {mark}' for n in names)} WHERE id = {mark}"
    connection.exec_driver_sql(sql, _tuples(connection.dialect, table, (*names, "id"), rows))


def _mark(dialect: Dialect) -> str:
    return "?" if dialect.paramstyle == "qmark" else "%s"


@cache
def _columns(table: sa.Table) -> frozenset[str]:
    return frozenset(table.c.keys())


def _misses_defaults(table: sa.Table, names: tuple[str, ...]) -> bool:
    given = set(names)
    return any(c.default is not None and c.name not in given for c in table.columns)


def _tuples(dialect: Dialect, table: sa.Table, names: tuple[str, ...],
            rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    pick = itemgetter(*names)  # one C call per row instead of a Python loop over the columns
    converting = [(index, process) for index, process in enumerate(_processors(dialect, table, names))
                  if process is not None]
    if len(names) == 1:
        return [(pick(row),) for row in rows]
    if not converting:
        return [pick(row) for row in rows]
    out: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(pick(row))
        for index, process in converting:
            values[index] = process(values[index])
        out.append(tuple(values))
    return out


@cache
def _processors(dialect: Dialect, table: sa.Table, names: tuple[str, ...]) -> tuple[Processor, ...]:
    """The dialect's bind processor of each column (None where values go to the driver as they are)."""
    return tuple(table.c[name].type._cached_bind_processor(dialect) for name in names)
