"""Turning SQLite's triggers off for one connection (``SQLITE_DBCONFIG_ENABLE_TRIGGER``), for the city server's
push: its transactions write tens of thousands of rows into tables whose triggers exist only to note writes made
by hand (migrations 0011 and 0012: a ``sqlite3`` shell's INSERT, UPDATE or DELETE), and those triggers already
let the sync engine's own writes through (``ServerDB.write`` says the engine is writing). Let through or not, each
row still ran the trigger's program: ~3.5% of the push handler's instructions (cachegrind, 20k records replayed).
Every other connection, a clerk's or an administrator's shell included, keeps its triggers.

Python 3.12 has ``Connection.setconfig``. On CPython 3.11 the option is set through SQLite's own
``sqlite3_db_config``, called with ctypes on the connection's handle, which CPython 3.11 keeps as the first field
after the object's header (``Modules/_sqlite/connection.h``: ``PyObject_HEAD`` then ``sqlite3 *db``). The handle
is believed only when SQLite itself names the connection's own file for it, and the option only when SQLite
reads it back as set; anything else (another Python, a SQLite linked into the module without its symbols) leaves
the connection as it is, with its triggers, which is always correct, only slower.
"""

from __future__ import annotations

import ctypes
import sqlite3
import sys
from functools import cache
from typing import Any

ENABLE_TRIGGER = 1003  # SQLITE_DBCONFIG_ENABLE_TRIGGER


def set_triggers(connection: sqlite3.Connection, enabled: bool) -> bool:
    """Turn the connection's triggers on or off; whether SQLite now reads the setting back as asked."""
    if hasattr(connection, "setconfig"):  # Python 3.12 and later
        try:
            connection.setconfig(sqlite3.SQLITE_DBCONFIG_ENABLE_TRIGGER, enabled)
            return bool(connection.getconfig(sqlite3.SQLITE_DBCONFIG_ENABLE_TRIGGER)) == enabled
        except (sqlite3.Error, AttributeError):
            return False
    config = _db_config()
    handle = _handle(connection)
    if config is None or handle is None:
        return False
    now = ctypes.c_int(-1)
    if config(handle, ENABLE_TRIGGER, int(enabled), ctypes.byref(now)) != 0:
        return False
    return now.value == int(enabled)


def triggers_enabled(connection: sqlite3.Connection) -> bool | None:
    """Whether the connection runs triggers (None: this Python cannot tell)."""
    if hasattr(connection, "getconfig"):
        return bool(connection.getconfig(sqlite3.SQLITE_DBCONFIG_ENABLE_TRIGGER))
    config, handle = _db_config(), _handle(connection)
    if config is None or handle is None:
        return None
    now = ctypes.c_int(-1)
    return None if config(handle, ENABLE_TRIGGER, -1, ctypes.byref(now)) != 0 else bool(now.value)


@cache
def _library() -> Any:
    """SQLite's C functions as the ``_sqlite3`` module is linked with them, or None."""
    if sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 11):
        return None  # (3.12 and later: setconfig; another layout of the connection object: not guessed at)
    try:
        import _sqlite3

        library = ctypes.CDLL(_sqlite3.__file__)
        filename, config = library.sqlite3_db_filename, library.sqlite3_db_config
    except (ImportError, OSError, AttributeError):
        return None
    filename.argtypes, filename.restype = [ctypes.c_void_p, ctypes.c_char_p], ctypes.c_char_p
    # (variadic: its arguments converted at each call, as C's default promotions do for int and pointers)
    config.restype = ctypes.c_int
    return library


def _db_config() -> Any:
    library = _library()
    if library is None:
        return None
    config = library.sqlite3_db_config
    return lambda handle, option, value, result: config(ctypes.c_void_p(handle), ctypes.c_int(option),
                                                        ctypes.c_int(value), result)


def _handle(connection: sqlite3.Connection) -> int | None:
    """The connection's ``sqlite3 *``, when SQLite names this connection's own main file for it."""
    library = _library()
    if library is None or not isinstance(connection, sqlite3.Connection):
        return None
    handle = ctypes.c_void_p.from_address(id(connection) + object.__basicsize__).value
    if not handle:
        return None
    try:
        expected = connection.execute("PRAGMA database_list").fetchone()[2]
    except sqlite3.Error:
        return None
    named = library.sqlite3_db_filename(handle, b"main")
    return handle if named is not None and named.decode(errors="replace") == expected else None
