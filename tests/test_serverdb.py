"""The SQLite server's write-ahead log is copied back by its own thread, not by the writer whose commit
crosses the limit; the thread stops with the database."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa

from sync.serverdb import SQLITE_WAL_PAGES, WalCheckpointer, open_server_db

FILLER = 8 * 1024 * 1024  # bytes written: far more than the database file holds before


def test_the_checkpointer_copies_the_wal_back_and_stops_with_the_database(tmp_path: Path) -> None:
    path = tmp_path / "server.sqlite"
    db = open_server_db(f"sqlite:///{path}")
    try:
        assert db.checkpointer is not None
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == SQLITE_WAL_PAGES
        db.checkpointer.stop()
        assert not db.checkpointer._thread.is_alive()
        before = path.stat().st_size
        with db.write() as connection:
            connection.execute(sa.text("CREATE TABLE filler (x TEXT)"))
            connection.execute(sa.text("INSERT INTO filler VALUES (:x)"), [{"x": "x" * 4096}] * (FILLER // 4096))
        # The commit has returned and the checkpointer is stopped: had the writer copied pages back, they
        # would be in the file now. They wait in the WAL.
        assert path.stat().st_size < before + FILLER // 2
        db.checkpointer = WalCheckpointer(str(path), interval=0.05)
        deadline = time.monotonic() + 300  # a guard against a checkpointer that never runs, not a wait for it
        while path.stat().st_size < before + FILLER:
            assert time.monotonic() < deadline, "the WAL was not copied back"
            time.sleep(0.05)
    finally:
        db.close()
    assert not db.checkpointer._thread.is_alive()
