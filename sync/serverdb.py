"""The city server's database: opening it (migrated once, even with several workers starting together),
write transactions that serialise the way the change sequence needs, and retries on deadlock.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from filelock import FileLock
from sqlalchemy.dialects.sqlite import base as sqlite_types
from sqlalchemy.engine import Connection, Engine

from schema.identity import SigningKey, new_key_pair, public_key_of
from schema.models import SYNCED_TABLES, new_id
from schema.store import (
    NEW_FILE_PAGE_SIZE,
    Store,
    head_revision,
    make_store_folder,
    open_database,
    sqlite_engine,
)
from sync.sqlite_triggers import set_triggers

T = TypeVar("T")
# Key of the PostgreSQL advisory locks: one for migrations, one for the change sequence.
MIGRATION_LOCK = 0x5354_5653_0001
SEQUENCE_LOCK = 0x5354_5653_0002
_RETRY_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected
WRITE_ATTEMPTS = 5
# WAL size (bytes) before a writer copies it back itself (SQLite's default: 1,000 pages): a backstop, as the
# checkpointer thread (WalCheckpointer) copies them back every CHECKPOINT_SECONDS.
SQLITE_WAL_BYTES = 400 * 1024 * 1024
# A new SQLite server database's page size (a database made before keeps its own): see NEW_FILE_PAGE_SIZE.
SQLITE_PAGE_SIZE = NEW_FILE_PAGE_SIZE
CHECKPOINT_SECONDS = 0.5
SQLITE_CACHE_KIB = 8 * 1024  # the page cache of the connections pushes write on (``_push_writers_cache``)
ENGINE_WRITING = "UPDATE sync_checkpoint SET value = ? WHERE key = 'engine_writing'"


@dataclass
class ServerDB:
    """An open server database and what the sync code needs to know about it."""

    store: Store
    server_id: str
    city_key: SigningKey
    checkpointer: WalCheckpointer | None = None
    # SQLite: the same database through connections whose triggers are off, for writes of synced rows (``write``)
    untriggered: Engine | None = None
    _engine_triggers: tuple[int, frozenset[str]] = field(default=(-1, frozenset()), init=False, repr=False)

    @property
    def engine(self) -> Engine:
        return self.store.engine

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction: one consistent snapshot on both SQLite (WAL) and PostgreSQL."""
        with self.engine.connect() as connection, connection.begin():
            if self.is_postgres:
                connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield connection

    @contextmanager
    def write(self, *, synced_rows: bool = True, tables: Collection[str] = ()) -> Iterator[Connection]:
        """A write transaction; on SQLite it holds the write lock from its start so two writers never deadlock.

        For its duration it says the sync engine is writing, so the triggers that note rows inserted or deleted
        by hand (migration 0012) let its own writes through; no other connection ever sees it said. A write
        that touches no synced table (``synced_rows=False``: the server's record of a node) says nothing, and
        its own first statement takes SQLite's write lock (two statements fewer for every no-op sync).

        ``tables``: the synced tables whose rows the work writes (besides the engine's own bookkeeping: receipts,
        the change log, digests). On SQLite the transaction then runs on a connection whose triggers are off
        (``untriggered``, ``sync.sqlite_triggers``): the only triggers of those tables note hand edits and would let
        the engine's rows through anyway. Unless another trigger is there (the city's report receipts on
        ``monthly_report``, or one an administrator added): then ``TriggersNeeded``, looked for once the write lock
        is held, so no trigger can be made meanwhile; ``run_write`` runs the work on a connection with triggers."""
        engine = self.untriggered if tables and synced_rows and self.untriggered is not None else self.engine
        with engine.connect() as connection, connection.begin():
            if not synced_rows:
                yield connection
                return
            if self.is_postgres:
                connection.exec_driver_sql("SELECT set_config('stvs.engine_writing', 'on', true)")
                yield connection
                return
            # Take SQLite's write lock first, before any read: a transaction that read first and then
            # wants to write can only fail (SQLITE_BUSY), never wait its turn.
            connection.exec_driver_sql(ENGINE_WRITING, ("1",))
            if engine is not self.engine and not self._may_skip_triggers(connection, tables):
                raise TriggersNeeded
            yield connection
            connection.exec_driver_sql(ENGINE_WRITING, ("0",))

    def _may_skip_triggers(self, connection: Connection, tables: Collection[str]) -> bool:
        """Whether the database's triggers other than the hand-edit ones (``HAND_EDIT_TRIGGERS``) leave alone both
        ``tables`` and every table that is not a synced one (the engine's bookkeeping). Read again only when the
        schema has changed (its version, one pragma)."""
        version = connection.connection.driver_connection.execute("PRAGMA schema_version").fetchone()[0]
        if self._engine_triggers[0] != version:
            found = connection.connection.driver_connection.execute(
                "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'").fetchall()
            self._engine_triggers = (version, frozenset(table for name, table in found if name not in HAND_EDIT_TRIGGERS))
        others = self._engine_triggers[1]
        return others.issubset(SYNCED_TABLES) and others.isdisjoint(tables)

    def run_write(self, work: Callable[[Connection], T], *, synced_rows: bool = True, tables: Collection[str] = ()) -> T:
        """Run ``work`` in a write transaction, again from the start after a deadlock or serialization error.
        ``tables``: see ``write``."""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self.write(synced_rows=synced_rows, tables=tables) as connection:
                    return work(connection)
            except TriggersNeeded:
                return self.run_write(work, synced_rows=synced_rows)
            except sa.exc.DBAPIError as exc:
                if not _retryable(exc) or attempt == WRITE_ATTEMPTS - 1:
                    raise
                time.sleep(0.02 * 2 ** attempt)
        raise AssertionError("unreachable")

    def lock_sequence(self, connection: Connection) -> None:
        """Serialise change-sequence allocation with commit (held until this transaction ends).

        Concurrent transactions could otherwise commit sequence numbers out of order, and a pull that
        read seq 11 before seq 10 committed would skip 10 forever. SQLite holds one writer at a time anyway.
        """
        if self.is_postgres:
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SEQUENCE_LOCK})")

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        if self.untriggered is not None:
            self.untriggered.dispose()
        self.store.close()


class TriggersNeeded(Exception):
    """A write given ``tables`` meets a trigger it must run (``ServerDB.write``); nothing was written."""


# The triggers of migrations 0011 and 0012 (frozen names): they note rows written by hand, and let the engine's through.
HAND_EDIT_TRIGGERS = frozenset(f"trg_{table}_{kind}" for table in SYNCED_TABLES
                               for kind in ("hand_insert", "hand_delete", "recheck"))


class WalCheckpointer:
    """Copies a SQLite server's write-ahead log back into the database file on a thread of its own.

    Left to SQLite, the writer whose commit crosses the WAL limit does it: a push batch every so often
    took 120-150 ms longer, some 3 µs per record of the server's push time. Here a PASSIVE checkpoint runs
    every ``interval`` seconds on its own connection; it never blocks readers or writers, and the WAL
    limit stays as a backstop should this thread fall behind.
    """

    def __init__(self, path: str, interval: float = CHECKPOINT_SECONDS) -> None:
        self.path, self.interval = path, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            connection.execute("PRAGMA busy_timeout=1000")
            while not self._stop.wait(self.interval):
                self.checkpoint(connection)
        finally:
            connection.close()

    @staticmethod
    def checkpoint(connection: sqlite3.Connection) -> None:
        with suppress(sqlite3.OperationalError):  # busy or closing: the next round copies what this one could not
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _retryable(exc: sa.exc.DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code in _RETRY_SQLSTATES:
        return True
    return isinstance(exc, sa.exc.OperationalError) and "database is locked" in str(exc.orig)


@contextmanager
def _migration_lock(url: str) -> Iterator[None]:
    """Several workers may open the database at once: only one migrates, the others wait and see head."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        make_store_folder(path.parent)  # a folder that cannot be made or written says why, in one line
        with FileLock(path.with_name(path.name + ".migrate-lock")):  # any OS, Windows included
            yield
        return
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
            try:
                yield
            finally:
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")
                connection.commit()
    finally:
        engine.dispose()


def open_server_db(url: str) -> ServerDB:
    """Open (creating and migrating) the city server database at a SQLAlchemy URL."""
    with _migration_lock(url):
        store = open_database(url, role="server")
        server_id = _server_identity(store.engine)
        city_key = _city_key(store.engine, server_id)
        _seed_regions(store.engine)
    database = store.engine.url.database
    if store.engine.dialect.name == "sqlite" and database in (None, "", ":memory:"):
        _keep_unreadable_dates(store.engine)
    elif store.engine.dialect.name == "sqlite":
        _as_server_file(store.engine)
        untriggered = _untriggered_engine(Path(database))
        sa.event.listen(untriggered or store.engine, "connect", _push_writers_cache)  # (the engine pushes write on)
        store.engine.dispose()  # connections opened so far lack them
        return ServerDB(store=store, server_id=server_id, city_key=city_key,
                        checkpointer=WalCheckpointer(str(database)), untriggered=untriggered)
    return ServerDB(store=store, server_id=server_id, city_key=city_key)


class _KeptText:
    """A SQLite city database's date (or date and time) that is none (typed by hand in the ``sqlite3`` shell:
    ``2026-13-45``) read as its text, not as an error: it goes to the county as it is (a device holds the record
    back, in quarantine, naming the field) instead of failing every pull, fetch and push of that county with a 500."""

    def result_processor(self, dialect: sa.Dialect, coltype: object) -> Callable[[Any], Any]:
        parse = super().result_processor(dialect, coltype)  # type: ignore[misc]

        def read(value: Any) -> Any:
            try:
                return parse(value) if parse is not None else value
            except (ValueError, TypeError):
                return value
        return read


class _KeptDate(_KeptText, sqlite_types.DATE):
    pass


class _KeptDateTime(_KeptText, sqlite_types.DATETIME):
    pass


def _keep_unreadable_dates(engine: Engine) -> None:
    """This engine (only: a county store's reads stay strict, its TUI asks for a correction) reads dates it
    cannot parse as their text. PostgreSQL's typed columns never hold one."""
    dialect = engine.dialect
    dialect.colspecs = {**dialect.colspecs, sa.Date: _KeptDate, sa.DateTime: _KeptDateTime}
    dialect._type_memos.clear()  # the processors the migrations' statements read with
    engine.clear_compiled_cache()


def _untriggered_engine(path: Path) -> Engine | None:
    """An engine of the server's SQLite database whose connections run no triggers (``ServerDB.write``), set up as
    the server's own; None where this Python cannot turn them off (``sync.sqlite_triggers``)."""
    probe = sqlite3.connect(path)
    try:
        if not set_triggers(probe, False):
            return None
    finally:
        probe.close()
    engine = _as_server_file(sqlite_engine(path))
    sa.event.listen(engine, "connect", _without_triggers)
    return engine


def _as_server_file(engine: Engine) -> Engine:
    """A SQLite file's engine set up as the city server's (its own and ``ServerDB.untriggered`` alike): dates it
    cannot read kept as text, the server's pragmas on each new connection."""
    _keep_unreadable_dates(engine)
    sa.event.listen(engine, "connect", _server_sqlite_pragmas)
    return engine


def _without_triggers(dbapi_connection: Any, _record: object) -> None:
    # (should it not take, the connection runs the triggers: the hand-edit ones let the engine's rows through)
    set_triggers(dbapi_connection, False)


def _seed_regions(engine: Engine) -> None:
    """The shipped region list, once, when the server's database has none (until the city loads its own).
    Done here, at open, under the migration lock: done lazily by the reports and summary requests, two of them
    at once each began a read and then tried to write the list, and SQLite refused one ("database is locked")."""
    from sqlmodel import Session

    from schema.models import Region
    from schema.regions import install_regions, read_regions

    with Session(engine) as session:
        if session.execute(sa.select(Region.code).limit(1)).first() is None:
            install_regions(session, read_regions())


def _server_sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    """A push batch writes thousands of table and index pages; with SQLite's default (1,000 pages) the WAL
    was copied back into the database file, and synced, by the writer every batch or two: now
    ``WalCheckpointer`` does it.

    Statement journals in memory: a multi-row INSERT into a table with triggers keeps the pages it changes
    in one, and in a temporary file that was ~750 MB of writes (a system call per page) over a 100k push;
    in memory the handler's system time fell 6.6 -> 4.3 µs a record (``bench/push_replay.py``, medians of three
    in turn), for no more peak memory."""
    cursor = dbapi_connection.cursor()
    page_size = cursor.execute("PRAGMA page_size").fetchone()[0]
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_BYTES // page_size}")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _push_writers_cache(dbapi_connection: Any, _record: object) -> None:
    """A page cache of ``SQLITE_CACHE_KIB`` (SQLite's default is 2 MB) for the connections pushes write their rows
    on (``ServerDB.untriggered``, else the server's own): a 100k push reads back index and table pages it has just
    written; through a 2 MB cache each came again from the kernel. Measured 2026-12-01 (tenth session), the live
    push in turn against the default, server CPU as a ratio to the same run's client (whose work did not change,
    so the shared machine's drift cancels): medians 1.26 → 1.20 over six pairs, system time of a replay ~4.8 →
    ~3.2 µs a record; the server's peak memory +6 MB. (16 MB saved ~0.5 µs more for +15 MB, 32 MB ~1 µs more for
    +32 MB: against the memory target, not kept; nor for the other connections, which read little at a time.)"""
    dbapi_connection.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")


def _server_identity(engine: Engine) -> str:
    """A random id made once per server database: a county that meets a new database starts afresh."""
    with engine.begin() as connection:
        found = connection.exec_driver_sql("SELECT value FROM sync_checkpoint WHERE key = 'server_id'").scalar()
        if found:
            return str(found)
        server_id = new_id()
        connection.execute(sa.text("INSERT INTO sync_checkpoint (key, value) VALUES ('server_id', :v)"),
                           {"v": server_id})
        return server_id


def _city_key(engine: Engine, server_id: str) -> SigningKey:
    """The city's Ed25519 key pair, which signs return bundles: made once with the server database, kept in it
    (beside the server id: whoever holds the database is the city)."""
    with engine.connect() as connection:
        kept = dict(connection.exec_driver_sql(
            "SELECT key, value FROM sync_checkpoint WHERE key IN ('city_key', 'city_public_key')").all())
    if kept.get("city_key") and kept.get("city_public_key"):
        return SigningKey(city_signer(server_id), kept["city_key"], kept["city_public_key"])
    private = kept.get("city_key")
    pair = (private, public_key_of(private)) if private else new_key_pair()
    with engine.begin() as connection:
        for name, value in zip(("city_key", "city_public_key"), pair, strict=True):
            connection.execute(sa.text("INSERT INTO sync_checkpoint (key, value) VALUES (:k, :v) "
                                       "ON CONFLICT (key) DO NOTHING"), {"k": name, "v": value})
    return _city_key(engine, server_id)


def city_signer(server_id: str) -> str:
    """How the city signs: ``city:`` and its server id (a county knows which city database it trusts)."""
    return f"city:{server_id}"


@cache
def schema_version() -> str:
    """The migration head (cached: alembic reads the migrations folder to find it, and every push asks)."""
    return head_revision()
