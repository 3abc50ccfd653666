"""A push writes its rows on SQLite without running triggers (``sync.sqlite_triggers``, ``ServerDB.write``): the
hand-edit triggers of migrations 0011/0012 are off for the push's own connection only, a row written by hand is
still noted, and a trigger the engine must run (the report receipts, or one an administrator added to the city's
database, even while the server runs) still runs for every row. Through the real server over HTTP."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sync_fixtures import (
    StoreFactory,
    ThreadServer,
    add_volunteer,
    resident_id,
    server_record,
    sync,
    thread_server,
)

from sync.sqlite_triggers import set_triggers, triggers_enabled

COUNTY = "410522"
VOLUNTEERS = 40


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ThreadServer]:
    with thread_server(f"sqlite:///{tmp_path / 'city' / 'server.sqlite'}") as running:
        yield running


def test_one_connections_triggers_go_off_and_the_others_keep_theirs(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    pushing, shell = sqlite3.connect(path, isolation_level=None), sqlite3.connect(path, isolation_level=None)
    pushing.executescript("CREATE TABLE t (a); CREATE TABLE log (a); "
                          "CREATE TRIGGER noted AFTER INSERT ON t BEGIN INSERT INTO log VALUES (NEW.a); END;")
    assert triggers_enabled(pushing) is True
    assert set_triggers(pushing, False) and triggers_enabled(pushing) is False
    pushing.execute("INSERT INTO t VALUES (1)")
    shell.execute("INSERT INTO t VALUES (2)")
    assert shell.execute("SELECT a FROM log").fetchall() == [(2,)]
    assert set_triggers(pushing, True) and triggers_enabled(pushing) is True
    pushing.execute("INSERT INTO t VALUES (3)")
    assert shell.execute("SELECT a FROM log ORDER BY a").fetchall() == [(2,), (3,)]
    pushing.close()
    shell.close()


def traced(server: ThreadServer) -> Counter[str]:
    """How many times SQLite starts each statement on the server's connections from now on: a statement's text
    once for itself and once more for each trigger program it runs (as sqlite3's trace callback reports them)."""
    seen: Counter[str] = Counter()

    def trace(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.set_trace_callback(lambda sql: seen.update([sql.split("(", 1)[0].strip()]))

    for engine in (server.db.engine, server.db.untriggered):
        assert engine is not None, "this Python could not turn a connection's triggers off"
        sa.event.listen(engine, "connect", trace)
        engine.dispose()  # (idle connections: the next ones are traced)
    return seen


def test_a_push_runs_no_trigger_for_its_rows_and_a_hand_insert_is_still_noted(server: ThreadServer,
                                                                               stores: StoreFactory) -> None:
    seen = traced(server)
    store = stores.make(COUNTY)
    for _ in range(VOLUNTEERS):
        add_volunteer(store)
    summary = sync(store, server, server.token(COUNTY))
    assert (summary.pushed, summary.applied, summary.digest) == (VOLUNTEERS, VOLUNTEERS, "match")
    # The rows went in by a handful of multi-row INSERTs; with the triggers on, each row ran its hand-insert
    # trigger once more (let through, but run).
    assert 0 < seen["INSERT INTO volunteer"] < VOLUNTEERS / 4, seen
    with sqlite3.connect(server.db.engine.url.database) as shell:  # a city administrator's sqlite3 shell
        columns = [row[1] for row in shell.execute("PRAGMA table_info(volunteer)")]
        shell.execute(f"INSERT INTO volunteer ({', '.join(columns)}) SELECT "
                      + ", ".join("'0190c0de-0000-7000-8000-00000000abcd'" if c == "id" else
                                  f"'{resident_id(COUNTY, 4242)}'" if c == "id_number" else c for c in columns)
                      + " FROM volunteer LIMIT 1")
        noted = shell.execute("SELECT tbl, row_id FROM row_recheck").fetchall()
    assert noted == [("volunteer", "0190c0de-0000-7000-8000-00000000abcd")]


def test_a_trigger_an_administrator_adds_runs_for_every_pushed_row(server: ThreadServer,
                                                                    stores: StoreFactory) -> None:
    """Made while the server runs, after a push has gone through without triggers: the next push sees it (it is
    looked for with the write lock held, whenever the schema has changed) and writes on a connection with them."""
    store = stores.make(COUNTY)
    first = add_volunteer(store)
    token = server.token(COUNTY)
    assert sync(store, server, token).applied == 1
    with sqlite3.connect(server.db.engine.url.database) as shell:
        shell.executescript("CREATE TABLE audit_log (row_id TEXT); "
                            "CREATE TRIGGER audit_volunteer AFTER INSERT ON volunteer "
                            "BEGIN INSERT INTO audit_log VALUES (NEW.id); END;")
    added = {add_volunteer(store) for _ in range(5)}
    assert sync(store, server, token).applied == 5
    with sqlite3.connect(server.db.engine.url.database) as shell:
        assert {row_id for (row_id,) in shell.execute("SELECT row_id FROM audit_log")} == added
    assert server_record(server.db, "volunteer", first) is not None
    # and the hand-edit triggers' own work is as ever: the engine's rows are not noted
    with server.db.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM row_recheck")).scalar() == 0
