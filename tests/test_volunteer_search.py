"""``volunteer_search`` (migration 0014), the narrow copy of what the volunteer filter looks in, stays what the
volunteer rows say whatever writes them: the app, plain SQL, an edit at the ``sqlite3`` prompt, a sync pull,
hard deletes and renumbered rowids; the migration fills it for the people already stored; the filter reads it
(not the volunteer rows) and finds the same people as before.

The oracle is written here in Python from the rule (``mask_id_number``'s shown parts), not from the SQL."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sync_fixtures import StoreFactory, ThreadServer, add_volunteer, delete_row, sync, update_row
from test_tui_fixtures import COUNTY, make_store

from schema.store import Store, open_store
from stvs_tui import queries
from stvs_tui.queries import VolunteerFilter, rebuild_volunteer_search, volunteer_count, volunteer_page


def shown_parts(number: str) -> str:
    """The ID number's characters the list shows (``mask_id_number``), the parts apart."""
    if len(number) > 8:
        return f"{number[:6]} {number[-4:]}"
    if len(number) > 2:
        return f"{number[0]} {number[-1]}"
    return ""


def expected(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT rowid, name, mobile, id_number, county_code, deleted FROM volunteer").fetchall()
    return sorted((rid, name, f"{mobile} {shown_parts(number)}".upper(), county, deleted)
                  for rid, name, mobile, number, county, deleted in rows)


def search_rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT rid, name, digits, county_code, deleted FROM volunteer_search "
                          "ORDER BY rid").fetchall()


def path_of(store: Store) -> Path:
    assert store.path is not None
    return store.path


def check(store: Store) -> None:
    path = path_of(store)
    assert search_rows(path) == expected(path)


def found(store: Store, text: str) -> set[str]:
    with store.session() as session:
        return {row.id for row in volunteer_page(session, COUNTY, VolunteerFilter(text=text), 0, 10_000)}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=30)
    yield store
    store.close()


def test_the_migration_fills_it_for_the_people_already_stored(store: Store) -> None:
    assert len(search_rows(path_of(store))) == 30
    check(store)


def test_it_follows_inserts_updates_and_deletes_of_the_app_and_of_plain_sql(store: Store) -> None:
    new = add_volunteer(store, name="欧阳明月")
    check(store)
    assert found(store, "阳明") == {new}
    with store.session() as session:
        queries.save_volunteer(session, COUNTY, new, {"name": "欧阳晓", "mobile": "13912345678"})
    check(store)
    assert found(store, "阳明") == set() and found(store, "1234567") == {new}
    update_row(store, "volunteer", new, id_number="41052219900101777X")
    check(store)
    assert found(store, "777x") == found(store, "777X") == {new}
    assert found(store, "19900101") == set()  # the hidden digits are not there to be found
    update_row(store, "volunteer", new, deleted=True)  # the app deletes by marking
    check(store)
    assert found(store, "欧阳晓") == set()
    update_row(store, "volunteer", new, deleted=False)
    check(store)
    assert found(store, "欧阳晓") == {new}
    update_row(store, "volunteer", new, work_unit="县医院", sync_state="synced")  # columns it does not hold
    check(store)
    delete_row(store, "volunteer", new)  # a hard delete (the sync engine's, or by hand)
    check(store)
    assert found(store, "欧阳晓") == set()


def test_an_edit_at_the_sqlite3_prompt_is_followed(store: Store) -> None:
    path = path_of(store)
    with sqlite3.connect(path) as db:
        victim, = db.execute("SELECT id FROM volunteer ORDER BY rowid LIMIT 1").fetchone()
    script = (f"UPDATE volunteer SET name = '司马光', mobile = '13800138000' WHERE id = '{victim}';\n"
              "UPDATE volunteer SET rowid = rowid + 1000 WHERE rowid = (SELECT max(rowid) FROM volunteer);\n"
              "DELETE FROM volunteer WHERE rowid = (SELECT min(rowid) FROM volunteer WHERE id <> "
              f"'{victim}');\n")
    shell = shutil.which("sqlite3")
    if shell is not None:  # the real prompt, as a clerk or a technician would use it
        subprocess.run([shell, str(path)], input=script, text=True, check=True, capture_output=True)
    else:
        with sqlite3.connect(path) as db:
            db.executescript(script)
    check(store)
    assert found(store, "司马") == found(store, "00138000") == {victim}


def test_a_sync_pull_is_followed(city: ThreadServer, stores: StoreFactory) -> None:
    token = city.token(COUNTY)
    first, second = stores.make(COUNTY), stores.make(COUNTY)
    try:
        kept = add_volunteer(first, name="诸葛亮")
        gone = add_volunteer(first, name="诸葛瑾")
        sync(first, city, token)
        sync(second, city, token)  # inserted by the pull
        check(second)
        assert found(second, "诸葛") == {kept, gone}
        update_row(first, "volunteer", kept, name="诸葛孔明", mobile="13700001111")
        update_row(first, "volunteer", gone, deleted=True)
        sync(first, city, token)
        sync(second, city, token)  # updated by the pull, with the sync guard up
        check(second)
        assert found(second, "孔明") == found(second, "00001111") == {kept}
        assert found(second, "诸葛瑾") == set()
    finally:
        first.close()
        second.close()


def test_rebuild_puts_it_right_after_the_rowids_were_renumbered(store: Store) -> None:
    path = path_of(store)
    with sqlite3.connect(path) as db:  # as a restore from a .dump does: the triggers not there yet
        db.execute("DROP TRIGGER trg_volunteer_search_update")
        db.execute("UPDATE volunteer SET rowid = rowid + 5000")
    assert search_rows(path) != expected(path)
    with store.engine.begin() as connection:
        rebuild_volunteer_search(connection)
    check(store)


def test_a_store_restored_from_a_dump_is_put_right_before_its_first_filter(tmp_path: Path, store: Store) -> None:
    """A clerk (or a technician) restores the store from a ``.dump``: the volunteer rows get new rowids (the hard
    deletes had left gaps), the search table comes back with the old ones, and its triggers are made only at
    the end of the script. The first filter on the restored store finds it out of step and fills it again."""
    path = path_of(store)
    with sqlite3.connect(path) as db:  # gaps in the rowids: hard deletes at the sqlite3 prompt
        db.execute("DELETE FROM membership WHERE volunteer_id IN (SELECT id FROM volunteer WHERE rowid % 3 = 0)")
        db.execute("DELETE FROM participation WHERE volunteer_id IN (SELECT id FROM volunteer WHERE rowid % 3 = 0)")
        db.execute("DELETE FROM volunteer WHERE rowid % 3 = 0")
    store.close()
    restored = tmp_path / "restored" / "stvs.sqlite"
    restored.parent.mkdir()
    with sqlite3.connect(path) as db:
        script = "\n".join(db.iterdump())  # what the sqlite3 shell's .dump writes, triggers last
    with sqlite3.connect(restored) as db:
        db.executescript(script)
    assert search_rows(restored) != expected(restored)  # out of step, as the restore left it
    with sqlite3.connect(restored) as db:
        people = dict(db.execute("SELECT id, name FROM volunteer WHERE deleted = 0").fetchall())
    again = open_store(restored, daily_backup=False)
    try:
        someone, name = sorted(people.items())[0]
        assert someone in found(again, name)
        check(again)
        assert {row_id for row_id, other in people.items() if name in other} == found(again, name)
        with again.session() as session:  # checked once a process: no second count
            assert queries.ensure_volunteer_search(session) is False
    finally:
        again.close()


@pytest.mark.parametrize("text", ["贺", "41052", "0", "欧阳"])
def test_the_filter_reads_the_search_table_and_stops_at_a_page(store: Store, text: str) -> None:
    flt = VolunteerFilter(text=text)
    newest_first = sa.literal_column("volunteer_search.rowid").desc()
    query = queries._volunteers(flt, COUNTY, queries.Volunteer.id).order_by(newest_first).limit(5)
    with store.engine.connect() as connection:
        sql = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
        plan = [row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    assert plan[0] == "SCAN volunteer_search", plan  # in the list's order: no sort of every match
    assert plan[1].startswith("SEARCH volunteer USING INTEGER PRIMARY KEY"), plan
    with store.session() as session:
        assert volunteer_count(session, COUNTY, flt) == len(found(store, text))


def test_an_import_fills_it_for_every_new_volunteer(store: Store, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A large import (indexes made after, the change log written per statement) leaves it as the rows say."""
    from excel_helpers import resident_id, write_book

    from stvs_tui.excel import apply_import, plan_import

    monkeypatch.setattr("sync.bulk.REBUILD_AT_ROWS", 10)
    monkeypatch.setattr("stvs_tui.excel.importer.INSERT_BATCH", 7)
    header = ["姓名", "证件号码", "手机号码", "工作单位"]
    rows = [[f"张{'一二三四五六七八九十'[n % 10]}{'甲乙丙丁'[n // 10]}", resident_id("19800101", f"{n:03d}"),
             f"138{n:08d}", "县医院"] for n in range(40)]
    result = apply_import(store, plan_import(write_book(tmp_path / "v.xlsx", [header, *rows]), store))
    assert result.inserted == 40
    check(store)
    assert len(search_rows(path_of(store))) == 30 + 40
