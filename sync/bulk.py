"""Bulk writes through the driver's own executemany (sqlite3 or psycopg), past SQLAlchemy's per-row
parameter processing, which cost more than the database work for a 5,000-row push batch.

Values are converted with the same bind processors SQLAlchemy would use (so a datetime or a flag is
stored exactly as a Core insert stores it), and errors still surface as SQLAlchemy exceptions
(``IntegrityError`` and the rest), because the statements run through ``exec_driver_sql``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from itertools import chain
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

Processor = Callable[[Any], Any] | None
ROWS_PER_STATEMENT = 128  # rows of one multi-row INSERT on SQLite (see statement_parts: its prepared statement is kept)


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
    insert_params(connection, table, names, _tuples(connection.dialect, table, names, rows))


def statement_parts(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """``rows`` in parts of ``size`` for multi-row statements, the rest in parts whose sizes are powers of two.

    sqlite3 keeps each connection's last 128 prepared statements, and a multi-row INSERT's is large (~0.5 KB a
    row). Cut at any size, each batch's rest was a statement of its own, prepared anew and kept: a city server's
    memory grew ~13 MB over a 100k push (500 rows a statement then). With these sizes, and 128 rows a statement
    (no more instructions than 500 under valgrind, prepares included), a table has at most eight statements,
    each prepared once: the server's peak over that push 116 → 105 MB."""
    start, count = 0, len(rows)
    while count - start >= size:
        yield rows[start:start + size]
        start += size
    while start < count:
        part = 1 << ((count - start).bit_length() - 1)
        yield rows[start:start + part]
        start += part


def insert_params(connection: Connection, table: sa.Table, names: Sequence[str], params: list[tuple[Any, ...]],
                  fixed: dict[str, Any] | None = None) -> None:
    """INSERT rows whose driver parameters are ready, in ``names`` order (``names`` must be columns).

    ``fixed``: columns whose driver value is the same in every row (defaults, the county), given once.

    On SQLite, many rows per statement: sqlite3's executemany binds and steps the statement once per row,
    which costs more than SQLite's own insert work; the ``fixed`` values are bound once per statement
    (numbered parameters every row refers to). Elsewhere the driver's executemany."""
    if not params:
        return
    fixed = fixed or {}
    columns = (*_checked(table, tuple(fixed)), *_checked(table, names))
    head = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
    if connection.dialect.name != "sqlite":
        mark = _mark(connection.dialect)
        values = tuple(fixed.values())
        rows = [values + row for row in params] if values else params
        connection.exec_driver_sql(head + f"({', '.join([mark] * len(columns))})", rows)
        return
    # ?1 … ?k are the fixed values; a bare ? after them takes the next number, so each row's own come after
    one = f"({', '.join([*(f'?{n}' for n in range(1, len(fixed) + 1)), *['?'] * len(names)])})"
    cursor = driver_cursor(connection)
    limit = cursor.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per_statement = max(1, min(ROWS_PER_STATEMENT, (limit - len(fixed)) // max(1, len(names))))
    first = list(fixed.values())
    try:
        for part in statement_parts(params, per_statement):
            cursor.execute(head + ", ".join([one] * len(part)), [*first, *chain.from_iterable(part)])
    except sqlite3.DatabaseError as exc:  # the same exceptions a Core statement raises
        raise sa.exc.DBAPIError.instance(head, None, exc, sqlite3.Error) from exc
    finally:
        cursor.close()


# The capture trigger's log row (schema/migrations 0002), written here for many rows at once.
CAPTURE_LOG = "INSERT INTO change_log (tbl, row_id, op, at) VALUES "
CAPTURE_ROW = "('{table}', ?, 'I', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
CAPTURE_COPY = ("INSERT INTO change_log (tbl, row_id, op, at) SELECT '{table}', id, 'I', "
                "strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM {table} WHERE rowid > ? ORDER BY rowid")
CITY_CODE = "410500"  # schema.models.CITY_CODE: the one county code the own-county trigger treats apart under the guard


def capture_trigger_present(connection: Connection, table: sa.Table) -> bool:
    """Whether ``table`` has its capture insert trigger (a county store's captured table, on SQLite)."""
    return connection.dialect.name == "sqlite" and bool(driver_rows(
        connection, "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?",
        (f"trg_{table.name}_capture_insert",)))


def insert_captured(connection: Connection, table: sa.Table, names: Sequence[str],
                    params: list[tuple[Any, ...]], *, trigger_present: bool | None = None,
                    fixed: dict[str, Any] | None = None) -> None:
    """``insert_params`` for a captured table of a county store, logging the rows in ``change_log`` as its
    insert trigger does (``'I'``, the row's id, the statement's time, in insert order), but a statement per
    batch instead of a trigger program per row: the trigger is held off with ``sync_guard`` inside the
    caller's transaction, so a failure rolls the rows, their log and the guard back together. When the rows
    took the rowids after the table's last (as SQLite gives them, short of the largest rowid), the log is
    copied from the table in one statement (``INSERT … SELECT`` over that rowid range, in rowid order: the
    insert order); otherwise their ids are bound, 500 rows a statement.

    Exactly the trigger's outcome: nothing is logged when the guard is already up (a sync writing), and
    rows that the guard would let through the own-county trigger (the city's code) go through the triggers.

    ``trigger_present``: ``capture_trigger_present``'s answer, for a caller writing many batches in one
    transaction that leaves the trigger alone (looking it up cost ~3 ms a batch after a large insert).
    ``fixed``: as for ``insert_params``."""
    if trigger_present is None and params:
        trigger_present = capture_trigger_present(connection, table)
    fixed = fixed or {}
    if (not params or connection.dialect.name != "sqlite" or not trigger_present
            or driver_rows(connection, "SELECT 1 FROM sync_guard WHERE active = 1 LIMIT 1", ())
            or fixed.get("county_code") == CITY_CODE
            or ("county_code" in names and CITY_CODE in map(itemgetter(list(names).index("county_code")), params))):
        insert_params(connection, table, names, params, fixed)
        return
    assert table.name.isidentifier(), table.name  # written into the statement as the trigger writes it
    cursor = driver_cursor(connection)
    try:
        cursor.execute("UPDATE sync_guard SET active = 1 WHERE id = 1")
        try:
            last = cursor.execute(f"SELECT max(rowid) FROM {table.name}").fetchone()[0] or 0
            insert_params(connection, table, names, params, fixed)
            if cursor.execute("SELECT last_insert_rowid()").fetchone()[0] == last + len(params):
                cursor.execute(CAPTURE_COPY.format(table=table.name), (last,))
            else:
                _log_by_ids(cursor, table.name, names, params)
        finally:  # down again on any failure too: a caller that goes on in this transaction is captured again
            cursor.execute("UPDATE sync_guard SET active = 0 WHERE id = 1")
    except sqlite3.DatabaseError as exc:  # the same exceptions a Core statement raises
        raise sa.exc.DBAPIError.instance(CAPTURE_LOG, None, exc, sqlite3.Error) from exc
    finally:
        cursor.close()


def _log_by_ids(cursor: sqlite3.Cursor, table: str, names: Sequence[str], params: list[tuple[Any, ...]]) -> None:
    ids = itemgetter(list(names).index("id"))
    row_sql = CAPTURE_ROW.format(table=table)
    for part in statement_parts(params, ROWS_PER_STATEMENT):
        cursor.execute(CAPTURE_LOG + ", ".join([row_sql] * len(part)), list(map(ids, part)))


REBUILD_AT_ROWS = 10_000  # rows added at once from which a table's indexes are dropped and made again after


@contextmanager
def indexes_made_after(connection: Connection, table: sa.Table, adding: int,
                       at_rows: int | None = None) -> Iterator[None]:
    """Around a bulk insert of ``adding`` rows into ``table`` on SQLite: its secondary indexes dropped first and
    made again at the end, when the insert at least doubles the table (from ``at_rows`` rows). SQLite makes an
    index from sorted keys far quicker than it files 100k random keys one by one into each of a dozen indexes.

    Inside the caller's transaction: the indexes come back in the same statement text (``sqlite_master``), and a
    failure on the way rolls the drops back with the rows (the caller's transaction must roll back on it, as
    ``engine.begin()`` does). Unique indexes stay: they are constraints, checked row by row."""
    if connection.dialect.name != "sqlite" or adding < (REBUILD_AT_ROWS if at_rows is None else at_rows):
        yield
        return
    cursor = driver_cursor(connection)
    try:
        present = cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table.name} LIMIT ?)", (adding + 1,)
                                 ).fetchone()[0]
        indexes = [] if present > adding else cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL "
            "ORDER BY name", (table.name,)).fetchall()
        indexes = [(name, sql) for name, sql in indexes if not sql.lstrip().upper().startswith("CREATE UNIQUE")]
        for name, _sql in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    finally:
        cursor.close()
    yield
    cursor = driver_cursor(connection)
    try:
        for _name, sql in indexes:
            cursor.execute(sql)
    except sqlite3.DatabaseError as exc:  # the same exceptions a Core statement raises
        raise sa.exc.DBAPIError.instance("CREATE INDEX", None, exc, sqlite3.Error) from exc
    finally:
        cursor.close()


@contextmanager
def own_county_checked_once(connection: Connection, table: sa.Table, county: str) -> Iterator[None]:
    """Around a bulk insert into ``table`` of rows that all carry ``county``: the table's own-county insert trigger
    (schema/migrations 0009), which would look the store's county up for every row, is checked once here and
    held off, and made again at the end in the same statement text. It is held off only where it could not
    refuse any of the rows (``county`` is the store's own, or the store has no county yet); otherwise it stays
    and refuses them. Inside the caller's transaction, which must roll back on a failure (as
    ``engine.begin()`` does): no other writer ever sees the table without it."""
    if connection.dialect.name != "sqlite":
        yield
        return
    trigger = f"trg_{table.name}_own_county_insert"
    found = driver_rows(connection, "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (trigger,))
    own = driver_rows(connection, "SELECT value FROM setting WHERE key = 'county_code'", ()) if found else []
    own_code = own[0][0] if own else None
    if not found or not (own_code in (None, "", CITY_CODE) or county == own_code):
        yield
        return
    cursor = driver_cursor(connection)
    try:
        cursor.execute(f'DROP TRIGGER "{trigger}"')
    finally:
        cursor.close()
    yield
    cursor = driver_cursor(connection)
    try:
        cursor.execute(found[0][0])
    finally:
        cursor.close()


def update_params(connection: Connection, table: sa.Table, names: Sequence[str], params: list[tuple[Any, ...]]) -> None:
    """UPDATE the columns ``names`` (``id`` last: the key) of rows whose driver parameters are ready."""
    if params:
        mark = _mark(connection.dialect)
        columns = _checked(table, names)
        assert columns[-1] == "id", "id comes last: it is the key"
        assignments = ", ".join(f"{name} = {mark}" for name in columns[:-1])
        connection.exec_driver_sql(f"UPDATE {table.name} SET {assignments} WHERE id = {mark}", params)


def select_by_ids(connection: Connection, table: sa.Table, ids: Sequence[str], *, chunk: int = 500,
                  for_update: bool = False) -> list[dict[str, Any]]:
    """Rows of ``table`` with these ids, in id order per chunk, typed as a Core select types them.

    On SQLite the statement goes to the driver with SQLite's result processors applied here: a fraction
    of the cost of an expanding ``IN`` per call. (PostgreSQL's processors depend on the column types the
    server reports, so there a Core select does it.)"""
    if connection.dialect.name != "sqlite":
        rows = []
        for start in range(0, len(ids), chunk):
            query = sa.select(table).where(table.c.id.in_(ids[start:start + chunk])).order_by(table.c.id)
            rows.extend(dict(row) for row in connection.execute(
                query.with_for_update() if for_update else query).mappings())
        return rows
    names = tuple(table.c.keys())
    processors = _result_processors(connection.dialect, table)
    rows = []
    for raw in rows_in(connection, f"SELECT {', '.join(names)} FROM {table.name} WHERE id", ids, chunk=chunk,
                       tail=" ORDER BY id"):
        values = list(raw)
        for index, process in processors:
            if values[index] is not None:
                values[index] = process(values[index])
        rows.append(dict(zip(names, values, strict=True)))
    return rows


def existing_ids(connection: Connection, table: sa.Table, ids: Sequence[str], *, chunk: int = 500) -> set[str]:
    """Which of ``ids`` are rows of ``table``."""
    return {row[0] for row in rows_in(connection, f"SELECT id FROM {table.name} WHERE id", ids, chunk=chunk)}


def rows_in(connection: Connection, head: str, values: Sequence[Any], *, chunk: int = 500,
            tail: str = "") -> Iterator[Any]:
    """Rows of ``{head} IN (values…){tail}``, ``chunk`` values per statement, through the driver: SQLAlchemy
    compiles an expanding ``IN`` anew at every call, which cost more than the lookups themselves."""
    mark = _mark(connection.dialect)
    for part in in_lists(values, chunk):
        yield from connection.exec_driver_sql(f"{head} IN ({', '.join([mark] * len(part))}){tail}", part)


def driver_rows_in(connection: Connection, head: str, values: Sequence[Any], *, chunk: int = 500,
                   tail: str = "") -> Iterator[tuple[Any, ...]]:
    """``rows_in`` as the driver's tuples (``driver_query``: written with ``?`` marks): for the lookups of a
    push batch, thousands of rows, which SQLAlchemy's result rows cost ~1 µs each to make."""
    for part in in_lists(values, chunk):
        yield from driver_query(connection, f"{head} IN ({', '.join('?' * len(part))}){tail}", part)


def in_lists(values: Sequence[Any], chunk: int = 500) -> Iterator[tuple[Any, ...]]:
    """``values`` in parts of ``chunk`` for ``IN (…)`` lists, the last part padded with its last value to a
    power of two (or to ``chunk``): an ``IN`` list means the same with a value twice, and its statement is one
    of a few sizes, prepared once and kept (see ``statement_parts``), not one more per batch."""
    for start in range(0, len(values), chunk):
        part = tuple(values[start:start + chunk])
        if len(part) < chunk:
            size = min(chunk, 1 << (len(part) - 1).bit_length())
            part += (part[-1],) * (size - len(part))
        yield part


def driver_cursor(connection: Connection) -> Any:
    """A plain sqlite3 cursor on ``connection``, inside its transaction: begun here if SQLAlchemy has not begun
    it yet (as its own first statement would), so what the cursor writes or reads belongs to that transaction."""
    if not connection.in_transaction():
        connection.begin()
    return connection.connection.driver_connection.cursor()  # type: ignore[union-attr]


def driver_query(connection: Connection, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """A query's rows as the driver's tuples, on SQLite or PostgreSQL, in ``connection``'s transaction: ``sql``
    is written with ``?`` marks (turned into the driver's own) and no ``%``. For the few small reads every
    request makes (a token, a node, a checkpoint): SQLAlchemy's statement building and result processing cost
    some 50-300 µs a query, the query itself a few. Values come as the driver gives them (on SQLite a date and
    time is text); errors are SQLAlchemy's, as a Core statement raises them."""
    return _driver_run(connection, sql, parameters, fetch=True)  # type: ignore[return-value]


def driver_execute(connection: Connection, sql: str, parameters: tuple[Any, ...] = ()) -> int:
    """``driver_query`` for a statement that returns no rows (an UPDATE of one row, say): how many rows it
    changed."""
    return _driver_run(connection, sql, parameters, fetch=False)  # type: ignore[return-value]


def driver_values(connection: Connection, table: sa.Table, values: dict[str, Any]) -> tuple[Any, ...]:
    """``values`` (column → Python value) as ``driver_query`` parameters, in their order: each through the
    column's bind processor, as a Core statement would send it (on SQLite a date and time as the text SQLAlchemy
    stores, so the column's values compare and sort with it)."""
    return _tuples(connection.dialect, table, tuple(values), [values])[0]


def _driver_run(connection: Connection, sql: str, parameters: tuple[Any, ...], *, fetch: bool
                ) -> list[tuple[Any, ...]] | int:
    dbapi = connection.dialect.loaded_dbapi
    cursor = driver_cursor(connection)
    try:
        cursor.execute(_driver_sql(sql, connection.dialect.paramstyle), parameters)
        return cursor.fetchall() if fetch else cursor.rowcount  # type: ignore[no-any-return]
    except dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(sql, parameters, exc, dbapi.Error) from exc
    finally:
        cursor.close()


@cache
def _driver_sql(sql: str, paramstyle: str) -> str:
    assert "%" not in sql, sql
    return sql if paramstyle == "qmark" else sql.replace("?", "%s")


def driver_rows(connection: Connection, sql: str, parameters: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """A query's rows as plain sqlite3 tuples."""
    cursor = driver_cursor(connection)
    try:
        return cursor.execute(sql, parameters).fetchall()
    finally:
        cursor.close()


def update_rows(connection: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE every column but ``id`` of each row, by id (every row carries every column)."""
    if not rows:
        return
    names = (*(c.name for c in table.columns if c.name != "id"), "id")
    update_params(connection, table, names, _tuples(connection.dialect, table, names, rows))


def _mark(dialect: Dialect) -> str:
    return "?" if dialect.paramstyle == "qmark" else "%s"


def _checked(table: sa.Table, names: Sequence[str]) -> Sequence[str]:
    unknown = set(names) - _columns(table)
    if unknown:
        raise ValueError(f"{table.name} has no column {sorted(unknown)}")
    return names


@cache
def _result_processors(dialect: Dialect, table: sa.Table) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    found = []
    for index, column in enumerate(table.columns):
        process = column.type._cached_result_processor(dialect, None)
        if process is not None:
            found.append((index, process))
    return tuple(found)


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
    if len(names) == 1:  # (itemgetter of one name gives the value, not a tuple)
        process = converting[0][1] if converting else None
        return [(pick(row) if process is None else process(pick(row)),) for row in rows]
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
