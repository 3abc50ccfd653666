"""Migration 0019: a change's receipt without the ``content_hash`` that only repeated the end of its key, kept by
that key alone on SQLite (``WITHOUT ROWID``), on SQLite and PostgreSQL. Receipts written before it still answer
a change sent again as ``duplicate``; a downgrade gives the column back, filled from the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from city_server import DATABASES
from clerk import COUNTY, Clerk
from sync_fixtures import thread_server

from schema.store import _alembic_config, head_revision

KEY = "a" * 56 + "0123abcd"  # a content key: 64 hex digits
RECEIPTS = [  # change_id, batch_id, status, reason, version
    (f"volunteer:v1:{KEY}", "b1", "applied", "inserted", 1),
    (f"volunteer:v2:{'b' * 64}", "b1", "conflict", "field_conflict", 3),
    (f"team:t1:{'c' * 64}", "b2", "rejected", "invalid", 0),
]


@pytest.fixture(params=DATABASES)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (not the tests' migrated template)."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'city.sqlite'}"


def _migrate(url: str, revision: str, down: bool = False) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            (command.downgrade if down else command.upgrade)(_alembic_config(connection, "server"), revision)
    finally:
        engine.dispose()


def _receipts(url: str) -> tuple[list[str], list[tuple[object, ...]], str]:
    """The receipt table's columns, its rows (in key order) and, on SQLite, how it is made."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            present = {column["name"] for column in sa.inspect(connection).get_columns("sync_receipt")}
            # (in 0003's order: PostgreSQL adds a column back at the end)
            columns = [name for name in ("change_id", "batch_id", "content_hash", "status", "reason", "version")
                       if name in present]
            assert len(columns) == len(present)
            rows = [tuple(row) for row in connection.execute(sa.text(
                f"SELECT {', '.join(columns)} FROM sync_receipt ORDER BY change_id"))]
            made = (connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'sync_receipt'").scalar()
                    if engine.dialect.name == "sqlite" else "")
    finally:
        engine.dispose()
    return columns, rows, str(made)


def test_receipts_lose_the_repeated_hash_and_keep_everything_else(url: str) -> None:
    _migrate(url, "0018")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO sync_receipt (change_id, batch_id, content_hash, status, reason, version) "
            "VALUES (:change_id, :batch_id, :content_hash, :status, :reason, :version)"),
            [{"change_id": c, "batch_id": b, "content_hash": c[-64:], "status": s, "reason": r, "version": v}
             for c, b, s, r, v in RECEIPTS])
    engine.dispose()
    _migrate(url, head_revision())
    columns, rows, made = _receipts(url)
    assert columns == ["change_id", "batch_id", "status", "reason", "version"]
    assert rows == sorted(RECEIPTS)
    assert ("WITHOUT ROWID" in made) == url.startswith("sqlite")
    _migrate(url, "0018", down=True)
    columns, rows, made = _receipts(url)
    assert columns == ["change_id", "batch_id", "content_hash", "status", "reason", "version"]
    assert rows == sorted((c, b, c[-64:], s, r, v) for c, b, s, r, v in RECEIPTS)
    assert "WITHOUT ROWID" not in made


def test_a_change_received_before_the_migration_is_a_duplicate_after_it(url: str, tmp_path: Path) -> None:
    """A store and its copy, made before either synced: the first syncs; the server's database is taken back to
    0018 (receipts as a release before this one holds them, the hash filled in from each key) and upgraded again
    as the next start of the server does; the copy sends the same changes, each answered from its receipt."""
    first = Clerk(tmp_path / "first").setup(volunteers=15)
    copy = first.copy_to(tmp_path / "copy")
    with thread_server(url) as server:
        token = server.token(COUNTY)
        sent = first.sync(server.url, token)
    assert sent["applied"] == sent["pushed"] > 15 and sent["digest"] == "match"
    _migrate(url, "0018", down=True)
    _, rows, _ = _receipts(url)
    assert len(rows) == sent["pushed"] and all(row[2] == row[0][-64:] for row in rows)
    with thread_server(url) as server:  # opening the database migrates it to head, receipts copied over
        again = copy.sync(server.url, token)
    assert _receipts(url)[1] == [(c, b, s, r, v) for c, b, _, s, r, v in rows]
    assert again["duplicates"] == again["pushed"] == sent["pushed"] and again["applied"] == 0
    assert again["digest"] == "match"
