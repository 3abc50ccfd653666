"""The local store: private file, WAL, migrations with a backup first, refusal of newer or damaged
stores, and change capture by triggers for every write path."""

from __future__ import annotations

import shutil
import sqlite3
import stat
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from earlier_files import four_kib_file

from schema import store as store_module
from schema.errors import StoreCorrupt, StoreTooNew
from schema.models import Volunteer
from schema.store import Store, _alembic_config, head_revision, open_database, open_store, sqlite_engine

VOLUNTEER_COLUMNS = [c.name for c in Volunteer.__table__.columns]


def raw_insert_volunteer(path: Path, row_id: str = "v1", sync_state: str = "local") -> None:
    values = {c: "" for c in VOLUNTEER_COLUMNS} | {
        "id": row_id, "county_code": "410522", "version": 0, "deleted": 0, "sync_state": sync_state,
        "created_at": "2026-01-01 00:00:00", "name": "王芳", "id_type": "resident",
        "id_number": "11010519491231002X", "mobile": "13800138000", "publicity_consent": 0,
        "birth_date": None, "stvs_registered_on": None, "joined_on": None,
    }
    with sqlite3.connect(path) as connection:
        connection.execute(f"INSERT INTO volunteer ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                           list(values.values()))


def change_log(path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT tbl, row_id, op FROM change_log ORDER BY seq").fetchall()


def revision_of(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_empty_store_is_migrated_to_head(store_path: Path) -> None:
    opened = open_store(store_path)
    opened.close()
    assert revision_of(store_path) == head_revision()


def test_store_file_is_private_and_in_wal_mode(store_path: Path) -> None:
    opened = open_store(store_path)
    with opened.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    opened.close()
    assert stat.S_IMODE(store_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store_path.parent.stat().st_mode) == 0o700


def test_a_new_store_has_large_pages_an_older_one_keeps_its_own(store_path: Path, tmp_path: Path) -> None:
    """A store made now has 16 KiB pages (a sync writes fewer, larger pages), as a city server database has; its
    backup keeps them. One made before with SQLite's 4 KiB keeps its pages and its rows, migrated as ever."""
    opened = open_store(store_path)
    backup = opened.backup("test")
    opened.close()
    for path in (store_path, backup):
        with sqlite3.connect(path) as connection:
            assert connection.execute("PRAGMA page_size").fetchone()[0] == store_module.NEW_FILE_PAGE_SIZE == 16384
        connection.close()
    old = four_kib_file(tmp_path / "old" / "stvs.sqlite")
    reopened = open_store(old, daily_backup=False)
    with reopened.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA page_size").scalar() == 4096
        assert connection.exec_driver_sql("SELECT x FROM kept").scalars().all() == ["留存"]
    reopened.close()
    assert revision_of(old) == head_revision()


def test_settings_are_saved_while_another_program_writes_the_store(store_path: Path) -> None:
    """A setting saved while another program (a clerk's `sqlite3` shell) holds the store's write lock waits its
    turn and is saved, and what that program wrote stays. (Saved by reading first, the save failed at once with
    "database is locked": SQLite cannot move a transaction that has read to a newer state. A `stvs-tui sync`
    that had done its work then failed on saving the server's URL.)"""
    import threading

    opened = open_store(store_path, daily_backup=False)
    opened.set_settings(clerk_name="王芳")
    shell = sqlite3.connect(store_path, isolation_level=None)
    shell.execute("BEGIN IMMEDIATE")
    shell.execute("INSERT INTO setting (key, value) VALUES ('shell_note', '李四')")
    failures: list[BaseException] = []

    def save() -> None:
        try:
            opened.set_settings(server_url="https://city.example", clerk_name="张三")
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    saving = threading.Thread(target=save)
    saving.start()
    saving.join(0.5)  # a save that reads first has failed by now; a right one waits for the lock
    assert saving.is_alive() and not failures, failures
    shell.execute("COMMIT")
    shell.close()
    saving.join(30)
    assert not saving.is_alive() and not failures, failures
    assert opened.setting("server_url") == "https://city.example" and opened.setting("clerk_name") == "张三"
    assert opened.setting("shell_note") == "李四"
    opened.close()


def test_a_write_session_waits_while_another_program_holds_the_write_lock(store_path: Path) -> None:
    """A unit of work that reads and then writes, in a write session, waits for another program's write lock
    and lands after it; the same in a reader's session fails at once ("database is locked"): SQLite cannot
    move a transaction that has read to a newer state."""
    import threading

    from schema.models import Setting

    opened = open_store(store_path, daily_backup=False)
    opened.set_settings(clerk_name="王芳")
    shell = sqlite3.connect(store_path, isolation_level=None)
    shell.execute("BEGIN IMMEDIATE")
    shell.execute("INSERT INTO setting (key, value) VALUES ('shell_note', '李四')")
    outcomes: dict[str, BaseException | None] = {}

    def rename(session_of: str) -> None:
        try:
            with getattr(opened, session_of)() as session:
                row = session.get(Setting, "clerk_name")
                assert row is not None
                row.value = "张三"
                session.add(row)
                session.commit()
            outcomes[session_of] = None
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcomes[session_of] = exc

    rename("session")
    assert isinstance(outcomes["session"], sa.exc.OperationalError)  # what a save did before
    saving = threading.Thread(target=rename, args=("write_session",))
    saving.start()
    saving.join(0.5)  # a save that began as a reader has failed by now; a write session waits for the lock
    assert saving.is_alive() and "write_session" not in outcomes, outcomes
    shell.execute("COMMIT")
    shell.close()
    saving.join(30)
    assert outcomes["write_session"] is None, outcomes
    assert opened.setting("clerk_name") == "张三" and opened.setting("shell_note") == "李四"
    opened.close()


def test_reopening_keeps_data_and_runs_no_migration(store_path: Path) -> None:
    open_store(store_path).close()
    raw_insert_volunteer(store_path)
    reopened = open_store(store_path)
    with reopened.session() as session:
        assert session.get(Volunteer, "v1").name == "王芳"
    reopened.close()
    assert not list((store_path.parent / "backups").glob("*pre-migration*"))


def _store_at_revision(path: Path, revision: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = sqlite_engine(path)
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection, "county"), revision)
    engine.dispose()


def test_backup_is_taken_before_a_migration(store_path: Path) -> None:
    _store_at_revision(store_path, "0001")
    open_store(store_path).close()
    backups = list((store_path.parent / "backups").glob("*pre-migration*"))
    assert len(backups) == 1
    assert revision_of(backups[0]) == "0001"
    assert revision_of(store_path) == head_revision()


def test_a_failing_migration_leaves_the_store_as_it_was(store_path: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    open_store(store_path).close()
    migrations = tmp_path / "migrations"
    shutil.copytree(store_module.MIGRATIONS_DIR, migrations)
    (migrations / "versions" / "9000_broken.py").write_text(
        "from alembic import op\nimport sqlalchemy as sa\n"
        f"revision = '9000'\ndown_revision = {head_revision()!r}\nbranch_labels = None\ndepends_on = None\n"
        "def upgrade(role='county'):\n"
        "    op.create_table('half_done', sa.Column('id', sa.Integer, primary_key=True))\n"
        "    op.execute('UPDATE volunteer SET name = 1/0')\n"
        "    raise RuntimeError('migration failed half-way')\n"
        "def downgrade(role='county'):\n    pass\n", encoding="utf-8")
    monkeypatch.setattr(store_module, "MIGRATIONS_DIR", migrations)
    with pytest.raises(RuntimeError, match="half-way"):
        open_store(store_path)
    with sqlite3.connect(store_path) as connection:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half_done" not in tables
    monkeypatch.undo()
    assert revision_of(store_path) == head_revision()


def test_store_written_by_a_newer_version_is_refused(store_path: Path) -> None:
    open_store(store_path).close()
    with sqlite3.connect(store_path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'fffffuture'")
    with pytest.raises(StoreTooNew, match="fffffuture"):
        open_store(store_path)


def test_a_file_that_is_not_sqlite_is_refused_clearly(store_path: Path) -> None:
    store_path.parent.mkdir(parents=True)
    store_path.write_bytes(b"PK\x03\x04 this is a zip, not a store" * 50)
    with pytest.raises(StoreCorrupt, match="not an SQLite database"):
        open_store(store_path)


def test_a_damaged_sqlite_file_is_refused_clearly(store_path: Path) -> None:
    open_store(store_path).close()
    data = bytearray(store_path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    store_path.write_bytes(bytes(data))
    with pytest.raises(StoreCorrupt, match="damaged"):
        open_store(store_path)


def test_triggers_capture_raw_sql_insert_update_and_delete(store_path: Path) -> None:
    open_store(store_path).close()
    raw_insert_volunteer(store_path)
    with sqlite3.connect(store_path) as connection:
        connection.execute("UPDATE volunteer SET mobile = '13900139000' WHERE id = 'v1'")
        connection.execute("DELETE FROM volunteer WHERE id = 'v1'")
    assert change_log(store_path) == [("volunteer", "v1", "I"), ("volunteer", "v1", "U"), ("volunteer", "v1", "D")]


def test_writes_through_the_orm_are_captured_in_the_same_transaction(store) -> None:
    with store.session() as session:
        session.add(Volunteer(id="v2", county_code="410522", name="李强", id_number="440524188001010014",
                              mobile="13800138000"))
        session.rollback()
    assert change_log(store.path) == []
    with store.session() as session:
        session.add(Volunteer(id="v2", county_code="410522", name="李强", id_number="440524188001010014",
                              mobile="13800138000"))
        session.commit()
    assert change_log(store.path) == [("volunteer", "v2", "I")]


def test_editing_a_synced_row_queues_it_again(store_path: Path) -> None:
    open_store(store_path).close()
    raw_insert_volunteer(store_path, sync_state="synced")
    with sqlite3.connect(store_path) as connection:
        connection.execute("UPDATE volunteer SET name = '王芳芳' WHERE id = 'v1'")
        state = connection.execute("SELECT sync_state FROM volunteer WHERE id = 'v1'").fetchone()[0]
    assert state == "queued"


def test_rows_written_by_sync_are_not_queued(store) -> None:
    with store.applying_remote_changes() as connection:
        connection.execute(sa.insert(Volunteer.__table__).values(
            id="v3", county_code="410522", version=4, updated_hlc="", updated_by="server", deleted=False,
            sync_state="synced", created_at=sa.func.current_timestamp(), name="赵敏", id_type="resident",
            id_number="11010519491231002X", sex="female", mobile="13800138000", phone2="", work_unit="",
            title="", expertise="", talent_tags="", availability="", publicity_consent=False,
            stvs_status="unregistered", status="active", notes=""))
    assert change_log(store.path) == []
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT active FROM sync_guard").scalar() == 0


def test_daily_backup_is_rotated(store) -> None:
    from datetime import date, timedelta

    for offset in range(10):
        store.rotate_daily_backup(date(2026, 1, 1) + timedelta(days=offset))
    assert len(list(store.backup_dir.glob("stvs-daily-2026*.sqlite"))) == store_module.DAILY_BACKUPS_KEPT


def test_daily_backups_rotate_by_the_order_made_not_the_date_in_their_name(store) -> None:
    """The laptop's clock ran years ahead for a day (a backup named 2029-05-01), then was put right: the real
    days' backups are kept, the newest first, and the future-dated one goes when its turn comes."""
    from datetime import date, timedelta

    for path in store.backup_dir.glob("stvs-daily-*.sqlite"):  # the one open_store made today
        path.unlink()
    assert store.rotate_daily_backup(date(2026, 11, 20)) is not None
    assert store.rotate_daily_backup(date(2029, 5, 1)) is not None
    real_days = [date(2026, 11, 21) + timedelta(days=offset) for offset in range(6)]
    for day in real_days:
        assert store.rotate_daily_backup(day) is not None
        assert any(store.backup_dir.glob(f"stvs-daily-{day:%Y%m%d}*.sqlite"))  # today's backup is never the one deleted
    days = sorted(path.name[11:19] for path in store.backup_dir.glob("stvs-daily-*.sqlite"))
    assert days == ["20261121", "20261122", "20261123", "20261124", "20261125", "20261126", "20290501"]
    store.rotate_daily_backup(date(2026, 11, 27))
    days = sorted(path.name[11:19] for path in store.backup_dir.glob("stvs-daily-*.sqlite"))
    assert "20290501" not in days and days[-1] == "20261127" and len(days) == store_module.DAILY_BACKUPS_KEPT
    assert store.rotate_daily_backup(date(2026, 11, 27)) is None


@pytest.mark.postgres
def test_migrations_run_on_postgresql_and_reopen(pg_url: str) -> None:
    server = open_database(pg_url, role="server")
    with server.engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    server.close()
    assert {"volunteer", "team", "activity", "participation", "monthly_report"} <= tables
    assert "change_log" not in tables
    assert revision == head_revision()
    reopened = open_database(pg_url, role="server")
    reopened.close()


@pytest.mark.postgres
def test_postgresql_database_of_a_newer_version_is_refused(pg_url: str) -> None:
    open_database(pg_url, role="server").close()
    engine = sa.create_engine(pg_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'fffffuture'")
    engine.dispose()
    with pytest.raises(StoreTooNew):
        open_database(pg_url, role="server")


def test_a_week_of_future_dated_backups_never_deletes_the_real_days_backup(store) -> None:
    from datetime import date, timedelta

    for offset in range(7):  # a week with the clock three years ahead
        store.rotate_daily_backup(date(2029, 11, 1) + timedelta(days=offset))
    today = store.rotate_daily_backup(date(2026, 11, 30))  # the clock put right
    assert today is not None and today.exists()
    assert len(list(store.backup_dir.glob("stvs-daily-*.sqlite"))) == store_module.DAILY_BACKUPS_KEPT


def _held_by_a_shell(store_path: Path) -> sqlite3.Connection:
    """A clerk's ``sqlite3`` shell in the middle of a write: the store's write lock held, a row written (so a
    transaction that read before it commits cannot move to the newer state)."""
    shell = sqlite3.connect(store_path, isolation_level=None)
    shell.execute("BEGIN IMMEDIATE")
    shell.execute("INSERT INTO setting (key, value) VALUES ('shell_note', '李四') "
                  "ON CONFLICT(key) DO UPDATE SET value = excluded.value")
    return shell


def _landed_after_the_shell(store_path: Path, work: Callable[[], object]) -> object:
    """Run ``work`` in a thread while a shell holds the store's write lock; let the shell commit; return what
    ``work`` returned, or raise what it raised. (Begun as a reader, the work waits in SQLite's busy handler and
    fails once the shell commits; begun IMMEDIATE, it waits for the lock and lands.)"""
    import threading

    shell = _held_by_a_shell(store_path)
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as exc:  # noqa: BLE001 - raised below, in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(0.5)  # (whatever the machine's speed: the work cannot have written while the shell holds the lock)
    shell.execute("COMMIT")
    shell.close()
    thread.join(60)
    assert not thread.is_alive()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["result"]


def test_an_import_waits_while_another_program_writes_and_lands(store: Store, store_path: Path,
                                                                tmp_path: Path) -> None:
    """An import reads the store's volunteers (its duplicates) before it writes: begun as a reader it failed with
    "database is locked" once a clerk's ``sqlite3`` shell (or a sync) had written meanwhile; it waits its turn."""
    from excel_helpers import HEADERS, resident_id, volunteer_count, write_book

    from stvs_tui.excel import apply_import, plan_import

    path = write_book(tmp_path / "v.xlsx", [HEADERS, ["张三", resident_id("19850312", "123"), "13800001234", "", ""]])
    plan = plan_import(path, store)
    result = _landed_after_the_shell(store_path, lambda: apply_import(store, plan))
    assert result.inserted == 1 and volunteer_count(store) == 1  # type: ignore[attr-defined]
    assert store.setting("shell_note") == "李四"


def test_the_demo_waits_while_another_program_writes_and_lands(store: Store, store_path: Path) -> None:
    """The demo looks whether the store is empty before it writes: it waits its turn as an import does."""
    from stvs_tui.demo import generate, store_demo

    counts = _landed_after_the_shell(
        store_path, lambda: store_demo(store, generate("410522", "安阳县", 12, seed=3, today=date(2026, 3, 1))))
    assert counts["volunteer"] == 12  # type: ignore[index]
    assert store.setting("shell_note") == "李四"


def test_the_region_list_loads_while_another_program_writes(store_path: Path) -> None:
    """A store without the region list gets it at its first start, waiting its turn while another program writes;
    a store that has it is only read (a start does not wait for a sync's write)."""
    from schema.models import Region
    from schema.regions import read_regions
    from stvs_tui.regions import ensure_regions

    opened = open_store(store_path, daily_backup=False)
    try:
        _landed_after_the_shell(store_path, lambda: ensure_regions(opened))
        with opened.session() as session:
            assert session.exec(sa.select(sa.func.count()).select_from(Region)).one()[0] == len(read_regions()) > 0
        shell = _held_by_a_shell(store_path)
        try:
            ensure_regions(opened)  # returns at once: nothing to load, no lock asked for
        finally:
            shell.execute("ROLLBACK")
            shell.close()
    finally:
        opened.close()


def test_a_driver_transaction_commits_rolls_back_and_waits_its_turn(store: Store, store_path: Path) -> None:
    """``Store.driver_transaction`` (a sync's checkpoints, through sqlite3 itself): all or nothing, a database error
    raised as SQLAlchemy raises it, and a write that waits while another program holds the lock."""
    from sync.replica import Replica

    with pytest.raises(ValueError), store.driver_transaction() as driver:
        driver.execute("INSERT INTO sync_checkpoint (key, value) VALUES ('half', 'written')")
        raise ValueError("stopped half way")
    with pytest.raises(sa.exc.IntegrityError), store.driver_transaction() as driver:
        driver.execute("INSERT INTO sync_checkpoint (key, value) VALUES ('once', '1')")
        driver.execute("INSERT INTO sync_checkpoint (key, value) VALUES ('once', '2')")
    replica = Replica(store)
    assert replica.checkpoint("half") == "" and replica.checkpoint("once") == ""
    _landed_after_the_shell(store_path, lambda: replica.save_checkpoints(last_sync_at="2026-12-01T23:00:00"))
    assert replica.checkpoint("last_sync_at") == "2026-12-01T23:00:00"
    assert store.setting("shell_note") == "李四"
