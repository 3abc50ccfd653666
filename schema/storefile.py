"""The county store as a file, without SQLAlchemy: its folder and permissions, its header, its schema revision read
from the migration files, backups with SQLite's backup API, and the plain check the TUI starts on.

``schema.store`` opens a store with SQLAlchemy and builds on these; ``plain_open`` lets ``stvs-tui`` show its first
screen before SQLAlchemy and the models are imported (some 0.5 s), when the store needs nothing done to it.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from schema.errors import StoreCorrupt, StoreUnavailable
from schema.paths import NOT_A_FOLDER, folder_problem, input_problem, os_reason, output_problem

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_HEADER = b"SQLite format 3\x00"
VERSION_TABLE = "alembic_version"
_REVISION = re.compile(r'^(down_revision|revision)\b[^=\n]*=\s*(?:"([^"]+)"|\'([^\']+)\'|None)\s*$', re.MULTILINE)
# Settings the first screen needs (``plain_open`` reads them all in one statement).
PLAIN_SETTINGS = ("county_code", "clerk", "language", "node_id", "node_public_key")


@cache
def read_revisions(folder: Path) -> dict[str, str | None]:
    """revision → down revision of each migration in ``folder``, read from the files as text (as Alembic reads
    them: the module-level ``revision`` and ``down_revision``; ``tests/test_store_revisions.py`` checks both agree)."""
    graph: dict[str, str | None] = {}
    for path in sorted((folder / "versions").glob("*.py")):
        found = {m.group(1): m.group(2) or m.group(3) for m in _REVISION.finditer(path.read_text(encoding="utf-8"))}
        revision = found.get("revision")
        if revision:
            # Two branches that each added "the next" migration: Alembic would refuse both heads at upgrade.
            assert revision not in graph, f"two migrations are revision {revision}: renumber one ({path.name})"
            graph[str(revision)] = found.get("down_revision")
    return graph


def head_of(graph: dict[str, str | None]) -> str:
    heads = [revision for revision in graph if revision not in set(graph.values())]
    assert len(heads) == 1, f"the migrations folder should have one head revision, not {heads}"
    return heads[0]


def make_store_folder(folder: Path) -> None:
    """The store's folder (0700 when made here); a folder that cannot be made or written says why."""
    if folder.exists() and not folder.is_dir():
        raise StoreUnavailable(f"{folder}: {NOT_A_FOLDER}")
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        where = Path(exc.filename) if exc.filename else folder
        raise StoreUnavailable(f"{where}: 无法创建文件夹 (cannot create the folder): {os_reason(exc)}") from None
    # SQLite writes its -wal and -shm files beside the store, so the folder itself must be writable.
    problem = folder_problem(folder)
    if problem:
        raise StoreUnavailable(problem)


def check_existing_file(path: Path) -> None:
    """An existing store this user cannot read or write (a read-only copy, another user's file, an immutable
    file) is refused with its path and reason; what others may do with it is taken away."""
    problem = input_problem(path) or output_problem(path)
    if problem:
        raise StoreUnavailable(problem)
    status = path.stat()
    # Take away what others may do with an existing file, never add to what its owner may.
    if status.st_uid == os.geteuid() and stat.S_IMODE(status.st_mode) & 0o077:
        os.chmod(path, stat.S_IMODE(status.st_mode) & 0o700)


def create_private_file(path: Path) -> None:
    """Create the store readable by its owner only (0600) in a 0700 folder, before SQLite touches it.

    An existing store is checked first (``check_existing_file``), and a folder in its place is refused.
    """
    make_store_folder(path.parent)
    if path.exists():
        check_existing_file(path)
        return
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise StoreUnavailable(f"{path}: 无法创建 (cannot create): {os_reason(exc)}") from None
    os.chmod(path, 0o600)


def restrict_sidecars(path: Path) -> None:
    for suffix in ("-wal", "-shm"):
        sidecar = path.with_name(path.name + suffix)
        if sidecar.exists():
            os.chmod(sidecar, 0o600)


def check_header(path: Path) -> None:
    with path.open("rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header and header != SQLITE_HEADER:
        raise StoreCorrupt(f"{path} 不是 stvs-tui 数据库或已损坏 (not an SQLite database, or damaged)")


def backup_sqlite(source: Path, target: Path) -> Path:
    """Copy a live SQLite database consistently with the backup API (safe while others write)."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()
    src.close()
    os.chmod(target, 0o600)
    return target


# The sync engine's writes mark the dashboard's kept figures as out of date (migration 0018): in the same transaction.
FIGURES_CHANGED = "UPDATE dashboard_cache SET generation = generation + 1 WHERE id = 1"


def connect_plain(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection to an existing store, for reads, with the pragmas ``schema.store`` sets."""
    connection = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=10, check_same_thread=False)
    connection.isolation_level = None
    connection.execute("PRAGMA busy_timeout=10000")
    return connection


@dataclass(frozen=True)
class PlainStore:
    """What the TUI's first screen needs of a store that ``plain_open`` found ready: its path and settings."""

    path: Path
    settings: dict[str, str]
    county_name: str = ""  # the county's name in the region list (its code when the list has none)

    def setting(self, key: str, default: str = "") -> str:
        return self.settings.get(key, default)

    @property
    def county_code(self) -> str:
        return self.setting("county_code")


def plain_open(path: Path) -> PlainStore | None:
    """The store at ``path`` when it can be used as it is, read with sqlite3 alone; None when ``open_store`` has
    something to do first (make the store, migrate it, make its node keys) or to say (a damaged or unopenable
    file: it words SQLite's refusal).

    The file checks are ``open_store``'s own, with its errors: a folder or file it cannot use, or a file that is
    not an SQLite database, raises here as it would there. A store with no county yet is not read further (the
    first-run setup writes it).
    """
    path = Path(path)
    if not path.is_file():
        return None
    make_store_folder(path.parent)
    check_existing_file(path)
    check_header(path)
    try:
        connection = connect_plain(path)
        try:
            journal = connection.execute("PRAGMA journal_mode").fetchone()[0]
            if str(journal).lower() != "wal":
                return None  # a store made elsewhere, or not yet by open_store: it sets WAL
            if not connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                      (VERSION_TABLE,)).fetchone():
                return None
            revisions = [row[0] for row in connection.execute(f"SELECT version_num FROM {VERSION_TABLE}")]
            if revisions != [head_of(read_revisions(MIGRATIONS_DIR))]:
                return None  # to migrate, or written by a newer stvs-tui: open_store says which
            marks = ", ".join("?" * len(PLAIN_SETTINGS))
            settings = dict(connection.execute(f"SELECT key, value FROM setting WHERE key IN ({marks})",
                                               PLAIN_SETTINGS).fetchall())
            regions = connection.execute("SELECT 1 FROM region LIMIT 1").fetchone()
            county = settings.get("county_code", "")
            name = connection.execute("SELECT name FROM region WHERE code = ?", (county,)).fetchone()
        finally:
            connection.close()
    except sqlite3.Error:
        return None  # open_store words it (damaged, locked, read-only, ...)
    if not settings.get("county_code") or not (settings.get("node_id") and settings.get("node_public_key")) \
            or regions is None:
        return None  # first-run setup, node keys or the region list to make: open_store and the app do it
    restrict_sidecars(path)
    return PlainStore(path=path, settings=settings, county_name=name[0] if name else county)
