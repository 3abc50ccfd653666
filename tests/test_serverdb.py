"""The SQLite server's write-ahead log is copied back by its own thread, not by the writer whose commit
crosses the limit; the thread stops with the database."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from earlier_files import four_kib_file

from schema.store import open_store
from sync.serverdb import (
    SQLITE_CACHE_KIB,
    SQLITE_PAGE_SIZE,
    SQLITE_WAL_BYTES,
    WalCheckpointer,
    open_server_db,
)

FILLER = 8 * 1024 * 1024  # bytes written: far more than the database file holds before


def test_the_checkpointer_copies_the_wal_back_and_stops_with_the_database(tmp_path: Path) -> None:
    path = tmp_path / "server.sqlite"
    db = open_server_db(f"sqlite:///{path}")
    try:
        assert db.checkpointer is not None
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == SQLITE_WAL_BYTES // SQLITE_PAGE_SIZE
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



def test_a_sqlite_server_keeps_statement_journals_in_memory(tmp_path: Path) -> None:
    """A push batch's multi-row INSERTs into tables with triggers each keep a statement journal: in a temporary
    file they were a system call per page (~750 MB over a 100k push); a county store keeps SQLite's default. The
    connections pushes write their rows on have a page cache of SQLITE_CACHE_KIB (a push reads back the pages it
    has just written), the server's others and a county store SQLite's default."""
    db = open_server_db(f"sqlite:///{tmp_path / 'server.sqlite'}")
    try:
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA temp_store").scalar() == 2  # MEMORY
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -2000  # SQLite's default
        assert db.untriggered is not None
        with db.untriggered.connect() as connection:  # the connections pushes write their rows on
            assert connection.exec_driver_sql("PRAGMA temp_store").scalar() == 2
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -SQLITE_CACHE_KIB
    finally:
        db.close()
    store = open_store(tmp_path / "county" / "stvs.sqlite", daily_backup=False)
    try:
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA temp_store").scalar() == 0  # the build's default
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -2000  # SQLite's default
    finally:
        store.close()


def test_a_new_sqlite_server_has_large_pages_an_older_one_keeps_its_own(tmp_path: Path) -> None:
    """A server database made now has 16 KiB pages (a push writes fewer, larger pages), made private as any store;
    one made before with SQLite's 4 KiB keeps them, its rows read as before, and its WAL backstop is the same
    size in bytes."""
    import sqlite3
    import stat

    new = tmp_path / "new" / "server.sqlite"
    open_server_db(f"sqlite:///{new}").close()
    with sqlite3.connect(new) as connection:
        assert connection.execute("PRAGMA page_size").fetchone()[0] == SQLITE_PAGE_SIZE == 16384
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.close()
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    old = four_kib_file(tmp_path / "old" / "server.sqlite")
    db = open_server_db(f"sqlite:///{old}")
    try:
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA page_size").scalar() == 4096
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == SQLITE_WAL_BYTES // 4096
            assert connection.exec_driver_sql("SELECT x FROM kept").scalars().all() == ["留存"]
    finally:
        db.close()

def _list_indexes(path: Path) -> set[str]:
    import sqlite3

    with sqlite3.connect(path) as connection:
        return {name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_volunteer_list_%'")}


def test_a_sqlite_server_has_no_volunteer_list_indexes_a_county_store_keeps_them(tmp_path: Path) -> None:
    """Migration 0015: the county screen's sort indexes (0010) cost a pushed volunteer ~20 µs on the server, which
    never sorts the list; a server at 0014 loses them on upgrade, its rows kept, and a county store keeps all seven."""
    from alembic import command

    from schema.store import _alembic_config
    from sync.records import table_of

    county = tmp_path / "county" / "stvs.sqlite"
    open_store(county, daily_backup=False).close()
    assert len(_list_indexes(county)) == 7
    path = tmp_path / "server.sqlite"
    open_server_db(f"sqlite:///{path}").close()
    assert _list_indexes(path) == set()
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            command.downgrade(_alembic_config(connection, "server"), "0014")
            connection.execute(sa.insert(table_of("volunteer")), {
                "id": "v1", "county_code": "410522", "version": 1, "updated_hlc": "", "updated_by": "", "name": "李强",
                "id_number": "11010519491231002X", "sex": "female", "birth_date": date(1949, 12, 31),
                "mobile": "13800000000"})
        assert len(_list_indexes(path)) == 7
    finally:
        engine.dispose()
    db = open_server_db(f"sqlite:///{path}")
    try:
        with db.read() as connection:
            assert connection.exec_driver_sql("SELECT name FROM volunteer").scalars().all() == ["李强"]
    finally:
        db.close()
    assert _list_indexes(path) == set()


UNUSED_IN_A_COUNTY = {"ix_volunteer_county_code", "ix_volunteer_name", "ix_volunteer_mobile"}


def _volunteer_indexes(path: Path) -> set[str]:
    import sqlite3

    with sqlite3.connect(path) as connection:
        return {name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'volunteer' AND sql IS NOT NULL")}


def test_a_county_store_has_no_unused_volunteer_indexes_a_sqlite_server_keeps_them(tmp_path: Path) -> None:
    """Migration 0017: the county never looks a volunteer up by county alone, name or mobile through those indexes
    (the list's indexes start with the county; its filter reads volunteer_search), so a county store drops them
    (each cost every insert, and a large import made each again); a store at 0016 loses them on upgrade, keeps
    the list's, the ID number's and the dashboard's, and gets them back on downgrade. A server keeps them."""
    from alembic import command

    from schema.store import _alembic_config

    county = tmp_path / "county" / "stvs.sqlite"
    open_store(county, daily_backup=False).close()
    indexes = _volunteer_indexes(county)
    assert indexes.isdisjoint(UNUSED_IN_A_COUNTY)
    assert {"ix_volunteer_id_number", "ix_volunteer_id_tags"} <= indexes and len(_list_indexes(county)) == 7
    engine = sa.create_engine(f"sqlite:///{county}")
    try:
        with engine.begin() as connection:
            command.downgrade(_alembic_config(connection, "county"), "0016")
        assert _volunteer_indexes(county) == indexes | UNUSED_IN_A_COUNTY
    finally:
        engine.dispose()
    open_store(county, daily_backup=False).close()
    assert _volunteer_indexes(county) == indexes
    server = tmp_path / "server.sqlite"
    open_server_db(f"sqlite:///{server}").close()
    assert _volunteer_indexes(server) >= UNUSED_IN_A_COUNTY
