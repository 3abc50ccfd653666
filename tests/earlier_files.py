"""SQLite files as a release before this one left them."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def four_kib_file(path: Path) -> Path:
    """A private folder's SQLite file with SQLite's default 4 KiB pages (as releases before 16 KiB made every file)
    and one row of its own, ``kept`` ("留存"), to be found again after it is opened and migrated."""
    path.parent.mkdir(mode=0o700)
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE kept (x TEXT)")
        connection.execute("INSERT INTO kept VALUES ('留存')")
    connection.close()
    return path
