"""Opening a database: the county's local SQLite store, or the city server's SQLite / PostgreSQL database.

Opening migrates to the newest schema (Alembic), taking a backup with SQLite's backup API first; a store
written by a newer stvs-tui is refused, and a damaged file gives ``StoreCorrupt`` rather than a traceback.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from schema.errors import StoreCorrupt, StoreError, StoreTooNew, StoreUnavailable
from schema.identity import SigningKey, node_identity
from schema.models import Setting
from schema.paths import BACKUP_DIRNAME, STORE_FILENAME  # noqa: F401  (STORE_FILENAME: named here by its users)
from schema.storefile import (  # noqa: F401  (the file-level steps, named here by their users too)
    FIGURES_CHANGED,
    MIGRATIONS_DIR,
    VERSION_TABLE,
    backup_sqlite,
    check_header,
    create_private_file,
    head_of,
    make_store_folder,
    read_revisions,
    restrict_sidecars,
)

if TYPE_CHECKING:
    from alembic.config import Config

DAILY_BACKUPS_KEPT = 7
_SETTING_VALUE = sa.select(Setting.__table__.c.value).where(Setting.__table__.c.key == sa.bindparam("key"))  # type: ignore[attr-defined]


def _alembic_config(connection: Connection, role: str) -> Config:
    # Alembic is imported only to migrate (it and its templates take ~11 MB of every process that opens a
    # database; a store or server at head never needs it).
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    config.attributes["role"] = role
    return config


def _revisions() -> dict[str, str | None]:
    """revision → down revision of each migration, read from the files as text (as Alembic reads them: the
    module-level ``revision`` and ``down_revision``; ``tests/test_store_revisions.py`` checks both agree)."""
    return _read_revisions(MIGRATIONS_DIR)


def _read_revisions(folder: Path) -> dict[str, str | None]:
    return read_revisions(folder)


def head_revision() -> str:
    return head_of(_revisions())


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (Alembic's version table), None for a database never migrated."""
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    assert len(rows) <= 1, f"{VERSION_TABLE} holds several revisions: {rows}"
    return str(rows[0]) if rows else None


def _check_known(revision: str | None) -> None:
    if revision is None:
        return
    if revision not in _revisions():
        raise StoreTooNew(
            f"数据库由更新版本的 stvs-tui 写入（结构版本 {revision}），请先升级 stvs-tui。"
            f" (written by a newer stvs-tui, schema revision {revision}; upgrade stvs-tui to open it)"
        )


def migrate(engine: Engine, role: str, before_upgrade: object = None) -> bool:
    """Bring the database to the head revision in one transaction; return True if anything ran.

    ``before_upgrade`` (a callable) runs first when an existing database is about to change: the backup.
    """
    with engine.connect() as connection:
        revision = current_revision(connection)
    _check_known(revision)
    if revision == head_revision():
        return False
    if revision is not None and callable(before_upgrade):
        before_upgrade()
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection, role), "head")
    return True


# The page size of a SQLite file made now, a county store or a city server database (SQLite's default is 4 KiB; a
# file keeps the size it was made with). A push batch's rows, sync bases and logs go into fewer, larger pages:
# on the city server the push handler's thread 29.2-30.3 -> 28.0-28.4 µs of CPU a record (replay of a 96,828-record
# push, in turn, min of three each); on a county store the sync client's CPU during that push 27.2-28.0 -> 24.9-25.4
# µs a record (three pairs in turn), its system time ~4.5 -> ~3.2 (half the pages written and read back).
NEW_FILE_PAGE_SIZE = 16384


def _size_if_new(path: Path) -> None:
    """A file made now (still empty) gets ``NEW_FILE_PAGE_SIZE``, kept by writing its header now (switching it to
    WAL does: the size set first); a file with content keeps its own."""
    if path.stat().st_size:
        return
    connection = sqlite3.connect(path)
    try:
        connection.execute(f"PRAGMA page_size={NEW_FILE_PAGE_SIZE}")
        connection.execute("PRAGMA journal_mode=WAL").fetchall()
    finally:
        connection.close()
    restrict_sidecars(path)


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # The driver would otherwise open transactions only before DML, leaving DDL (migrations) outside
    # them; SQLAlchemy emits BEGIN itself instead (see _begin), so every transaction is a real one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# A connection's execution option: its transactions begin IMMEDIATE, taking the write lock first (``Store.write_session``).
IMMEDIATE = "stvs_immediate"


def _begin(connection: Connection) -> None:
    """BEGIN on the driver's connection itself: through ``exec_driver_sql`` (an execution context, a cursor and a
    result for a statement that returns nothing) it cost ~11 µs of the ~45 of a small transaction, and a sync
    with nothing to do opens five. ``BEGIN IMMEDIATE`` on a connection with the ``IMMEDIATE`` option (a write
    session's). A failure is raised as SQLAlchemy would raise it."""
    statement = "BEGIN IMMEDIATE" if connection.get_execution_options().get(IMMEDIATE) else "BEGIN"
    try:
        connection.connection.driver_connection.execute(statement)  # type: ignore[union-attr]
    except sqlite3.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


def sqlite_engine(path: Path) -> Engine:
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 10})
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    sa.event.listen(engine, "begin", _begin)
    return engine


def _open_failure(where: object, exc: sa.exc.DatabaseError) -> StoreError:
    """SQLite's refusal in words that say what is wrong: read-only and unopenable files are not damaged."""
    message = str(exc.orig)
    if "readonly" in message or "read-only" in message:
        return StoreUnavailable(f"{where}: 只读，无法写入 (read-only: cannot write to it): {message}")
    if "unable to open" in message:
        return StoreUnavailable(f"{where}: 无法打开 (cannot open the file or its folder): {message}")
    if "locked" in message:
        return StoreUnavailable(f"{where}: 被其他程序锁定 (locked by another program): {message}")
    if "disk I/O" in message or "full" in message:
        return StoreUnavailable(f"{where}: 读写出错 (cannot read or write the disk): {message}")
    return StoreCorrupt(f"{where} 无法读取，文件可能已损坏 (cannot be read, the file may be damaged): {message}")


def _backup_order(path: Path) -> tuple[int, str]:
    """(sequence number, name) of a daily backup; those named before numbering (stvs-daily-YYYYMMDD) come first."""
    parts = path.stem.split("-")
    return (int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else 0), path.name


@dataclass
class Store:
    """An open database and the device-local settings kept in it."""

    engine: Engine
    path: Path | None = None

    @property
    def backup_dir(self) -> Path:
        if self.path is None:
            raise StoreError("only a SQLite store has a backup folder")
        return self.path.parent / BACKUP_DIRNAME

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def write_session(self) -> Session:
        """A session for work that writes: each of its transactions takes the store's write lock as it begins
        (``BEGIN IMMEDIATE``, at the session's first statement), waiting its turn while another program holds it.
        (Begun as a reader, a save that read first could only fail once another program had the lock: SQLite
        cannot move a transaction that has read to a newer state, and answers "database is locked" at once.)
        Work that writes through other connections instead never takes the lock here."""
        return Session(self._write_engine, expire_on_commit=False)

    def write_transaction(self) -> AbstractContextManager[Connection]:
        """``engine.begin()`` for a transaction that reads before it writes (an import matching its rows against
        the store's, the demo checking the store is empty): ``BEGIN IMMEDIATE``, so it waits its turn while a sync
        or another program writes, as ``write_session`` does."""
        return self._write_engine.begin()

    @contextmanager
    def driver_transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``: it waits its turn) on a pooled connection's own sqlite3
        connection, for a small write every sync makes (its checkpoints): SQLAlchemy's connection, execution
        context and commit around it cost ~55 µs of its ~85. Committed at the end, rolled back on any error; a
        database error is raised as SQLAlchemy raises it (``OperationalError`` for a locked store, and so on)."""
        raw = self.engine.raw_connection()
        driver: sqlite3.Connection = raw.driver_connection  # type: ignore[assignment]
        try:
            try:
                driver.execute("BEGIN IMMEDIATE")
                yield driver
                driver.execute("COMMIT")
            except BaseException:
                if driver.in_transaction:
                    driver.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise sa.exc.DBAPIError.instance("", None, exc, sqlite3.Error) from exc
        finally:
            raw.close()  # (back to the pool)

    @cached_property
    def _write_engine(self) -> Engine:
        """The store's engine (its pool shared) whose connections begin their transactions IMMEDIATE."""
        return self.engine.execution_options(**{IMMEDIATE: True})

    def setting(self, key: str, default: str = "") -> str:
        # One plain SELECT (an ORM session costs a few times more, and a sync reads several settings).
        with self.engine.connect() as connection:
            row = connection.execute(_SETTING_VALUE, {"key": key}).first()
        return row[0] if row else default

    def set_settings(self, **values: str) -> None:
        """Set settings in one write transaction (``driver_transaction``: it waits its turn). (Read first, as an
        ORM session's get did, the transaction could only fail if another program wrote the store meanwhile: SQLite
        cannot move a transaction that has read to the newer state, so it answers "database is locked" at once
        instead of waiting its turn. A `stvs-tui sync` that had done its work then failed on saving the server's URL
        while a clerk's `sqlite3` shell wrote the store.)"""
        if not values:
            return
        with self.driver_transaction() as driver:
            driver.executemany("INSERT INTO setting (key, value) VALUES (?, ?) "
                               "ON CONFLICT(key) DO UPDATE SET value = excluded.value", list(values.items()))

    @property
    def county_code(self) -> str:
        return self.setting("county_code")

    @property
    def node_id(self) -> str:
        """This device's identity as a sync node (see ``schema.identity``), made with its key pair."""
        return self.identity.signer

    @property
    def identity(self) -> SigningKey:
        """This node's id and Ed25519 key, which signs its bundles; made once, kept in the store."""
        return node_identity(self)

    @contextmanager
    def applying_remote_changes(self) -> Iterator[Connection]:
        """A transaction whose writes are not captured for upload (rows that came from the server); it marks the
        dashboard's kept figures as out of date.

        Foreign keys are checked at commit, so a batch may hold children before their parents.
        """
        with self.engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
            connection.exec_driver_sql("UPDATE sync_guard SET active = 1 WHERE id = 1")
            # The dashboard's kept figures are read afresh after any write of the sync engine (migration 0018).
            connection.exec_driver_sql(FIGURES_CHANGED)
            try:
                yield connection
            finally:
                connection.exec_driver_sql("UPDATE sync_guard SET active = 0 WHERE id = 1")

    def pending_change_count(self) -> int:
        """Records with unsynced changes (a record changed twice is one). Counted over the pairs, read from the
        (tbl, row_id) index: ``COUNT(DISTINCT tbl || row_id)`` built a string per change and sorted them, 3× the
        time at 100k changes (the dashboard waits for it), and could take two records for one."""
        with self.engine.connect() as connection:
            return connection.exec_driver_sql(
                "SELECT COUNT(*) FROM (SELECT DISTINCT tbl, row_id FROM change_log)").scalar_one()

    def backup(self, reason: str) -> Path:
        assert self.path is not None
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return backup_sqlite(self.path, self.backup_dir / f"stvs-{stamp}-{reason}.sqlite")

    def rotate_daily_backup(self, today: date | None = None) -> Path | None:
        """Keep one backup a day, the ``DAILY_BACKUPS_KEPT`` made last; None if today's exists.

        "Made last" is the order they were made in (a sequence number in the name), not the date in the name:
        a laptop whose clock once ran years ahead left a backup dated in the future, and ordering by date would
        keep that one and delete the real days' backups once the clock is right again.
        """
        day = (today or date.today()).strftime("%Y%m%d")
        if any(self.backup_dir.glob(f"stvs-daily-{day}*.sqlite")):
            return None
        made = sorted(self.backup_dir.glob("stvs-daily-*.sqlite"), key=_backup_order)
        number = _backup_order(made[-1])[0] + 1 if made else 1
        target = backup_sqlite(self.path, self.backup_dir / f"stvs-daily-{day}-{number:06d}.sqlite")  # type: ignore[arg-type]
        for old in [*made, target][:-DAILY_BACKUPS_KEPT]:
            old.unlink()
        return target

    def close(self) -> None:
        self.engine.dispose()


def open_store(path: Path, *, daily_backup: bool = True) -> Store:
    """Open (creating if needed) a county store at ``path``: private file, WAL, migrated to head."""
    path = Path(path)
    create_private_file(path)
    check_header(path)
    _size_if_new(path)
    store = Store(engine=sqlite_engine(path), path=path)
    try:
        migrate(store.engine, "county", before_upgrade=lambda: store.backup("pre-migration"))
        if daily_backup:
            store.rotate_daily_backup()
        if store.county_code:
            node_identity(store)  # a store from before node keys gets its key pair now
    except sa.exc.DatabaseError as exc:
        store.close()
        raise _open_failure(path, exc) from None
    except (OSError, sqlite3.Error) as exc:  # only the backups write outside SQLAlchemy
        store.close()
        raise StoreUnavailable(f"{store.backup_dir}: 无法写入备份 (cannot write a backup): {exc}") from None
    except StoreError:
        store.close()
        raise
    restrict_sidecars(path)
    return store


def open_database(url: str, role: str = "server") -> Store:
    """Open a server database by SQLAlchemy URL (SQLite file or PostgreSQL), migrated to head. A SQLite file made
    now gets ``NEW_FILE_PAGE_SIZE``, as a county store does."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        create_private_file(path)
        check_header(path)
        _size_if_new(path)
        engine = sqlite_engine(path)
    else:
        engine = sa.create_engine(url, pool_pre_ping=True)
        path = None
    store = Store(engine=engine, path=path)
    try:
        migrate(engine, role, before_upgrade=(lambda: store.backup("pre-migration")) if path else None)
    except sa.exc.DatabaseError as exc:
        store.close()
        if path is None:
            raise StoreCorrupt(f"{url}: 无法打开数据库 (cannot open the database): {exc.orig}") from None
        raise _open_failure(path, exc) from None
    return store
