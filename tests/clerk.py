"""A county clerk at work, for the field-case sync tests: the real CLI (click's runner) on a data folder,
plain ``sqlite3`` edits as someone at the ``sqlite3`` prompt would make them, file copies, bundles.

And the counts that say "nothing lost, nothing doubled": live rows per table on the county store and on
the server, and whether the store's rows equal the server's.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner

from schema.models import SYNCED_TABLES
from schema.store import STORE_FILENAME, Store, open_store
from stvs_tui.cli import main
from sync.records import row_to_wire, table_of
from sync.serverdb import ServerDB

COUNTY = "410522"


class Clerk:
    """One county device: a data folder driven through the CLI."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def store_file(self) -> Path:
        return self.folder / STORE_FILENAME

    def cli(self, *args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(main, ["--data-dir", str(self.folder), *args])
        return result.exit_code, result.stdout, result.stderr

    def setup(self, volunteers: int = 12, seed: int = 1) -> Clerk:
        assert self.cli("init", "--county", COUNTY, "--clerk", "王芳")[0] == 0
        code, out, err = self.cli("demo", "--volunteers", str(volunteers), "--seed", str(seed))
        assert code == 0, out + err
        return self

    def sync(self, url: str | None = None, token: str | None = None) -> dict[str, Any]:
        """``stvs-tui sync --json``; the summary (the command must exit 0)."""
        args = ["sync", "--json"] + (["--server", url] if url else []) + (["--token", token] if token else [])
        code, out, err = self.cli(*args)
        assert code == 0, f"sync exited {code}: {err}{out}"
        return dict(json.loads(out))

    def sql(self, statement: str, *params: Any) -> None:
        """A statement typed at the ``sqlite3`` prompt (the capture triggers log it like any write)."""
        with sqlite3.connect(self.store_file) as connection:
            connection.execute(statement, params)
        connection.close()

    def query(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.store_file) as connection:
            rows = connection.execute(statement, params).fetchall()
        connection.close()
        return rows

    def copy_to(self, folder: Path) -> Clerk:
        """The whole data folder copied, as a clerk copies it to a new laptop (new files)."""
        shutil.copytree(self.folder, folder)
        return Clerk(folder)

    def backup_to(self, path: Path) -> Path:
        """A consistent copy of the store, as the app's own backups are made (SQLite's backup API)."""
        with sqlite3.connect(self.store_file) as source, sqlite3.connect(path) as target:
            source.backup(target)
        source.close()
        target.close()
        return path

    def restore_from(self, path: Path) -> None:
        """The backup copied back over the store file (the same file, its content replaced)."""
        for sidecar in ("-wal", "-shm"):
            self.store_file.with_name(STORE_FILENAME + sidecar).unlink(missing_ok=True)
        shutil.copyfile(path, self.store_file)

    def open(self) -> Store:
        return open_store(self.store_file, daily_backup=False)

    def node_id(self) -> str:
        return str(self.query("SELECT value FROM setting WHERE key = 'node_id'")[0][0])

    def pending(self) -> int:
        return int(self.query("SELECT COUNT(DISTINCT tbl || row_id) FROM change_log")[0][0])

    def rows(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Every live row of the county's synced tables, in wire form."""
        store = self.open()
        try:
            return live_rows(store.engine)
        finally:
            store.close()


def two_devices(url: str, token: str, folder: Path, volunteers: int = 40) -> tuple[Clerk, Clerk, str]:
    """Device ``a`` with the county's demo data, synced; device ``b`` set up from the server; the first
    volunteer's id (the row the two will edit)."""
    a = Clerk(folder / "a").setup(volunteers=volunteers)
    a.sync(url, token)
    b = Clerk(folder / "b")
    assert b.cli("init", "--county", COUNTY)[0] == 0
    b.sync(url, token)
    return a, b, a.query("SELECT id FROM volunteer ORDER BY id LIMIT 1")[0][0]


def live_rows(engine: sa.Engine, county: str = COUNTY) -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    with engine.connect() as connection:
        for name in SYNCED_TABLES:
            table = table_of(name)
            query = sa.select(table).where(table.c.county_code == county, table.c.deleted == sa.false())
            for row in connection.execute(query).mappings():
                found[(name, row["id"])] = row_to_wire(name, row)
    return found


def server_rows(db: ServerDB, county: str = COUNTY) -> dict[tuple[str, str], dict[str, Any]]:
    return live_rows(db.engine, county)


def open_conflicts(db: ServerDB) -> int:
    with db.engine.connect() as connection:
        return int(connection.exec_driver_sql("SELECT COUNT(*) FROM sync_conflict WHERE status = 'open'").scalar())


def assert_in_sync(clerk: Clerk, db: ServerDB) -> None:
    """The county's store holds exactly the server's rows of the county, with nothing waiting to go."""
    assert clerk.pending() == 0
    local, server = clerk.rows(), server_rows(db)
    assert local.keys() == server.keys()
    assert local == server
