"""A county store holds its own county's records only (migration 0009): the refusal is clear wherever the
write comes from (the ``sqlite3`` shell, the app's workers), the city's reference rows still arrive by sync,
and a wrong-county row left by an older store is refused by the server on its own while the rest syncs."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from city_server import DATABASES, database_url
from sync_fixtures import StoreFactory, ThreadServer, add_volunteer, resident_id, sync, thread_server

from schema.models import CITY_CODE, Team, Volunteer
from schema.store import Store

HOME, OTHER = "410522", "410503"
INSERT = ("INSERT INTO volunteer (id, county_code, version, updated_hlc, updated_by, deleted, sync_state, created_at,"
          " name, id_type, id_number, sex, mobile, phone2, work_unit, title, expertise, talent_tags, availability,"
          " publicity_consent, stvs_status, status, notes) VALUES (?, ?, 0, '', '', 0, 'local',"
          " '2026-01-01 09:00:00.000000', '王芳', 'resident', ?, '', '13800138000', '', '', '', '', '', '', 0,"
          " 'unregistered', 'active', '')")


@pytest.fixture(params=DATABASES)
def city(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThreadServer]:
    """The real sync server on SQLite and on PostgreSQL (issue 10: each case holds on both)."""
    with thread_server(database_url(request, tmp_path / "city")) as server:
        yield server


def shell_insert(store: Store, row_id: str, county: str) -> None:
    """What a clerk types at the ``sqlite3`` prompt (a plain sqlite3 connection, no SQLAlchemy)."""
    with sqlite3.connect(store.path) as connection:
        connection.execute(INSERT, (row_id, county, resident_id(county, 7)))


def test_the_sqlite3_shell_cannot_add_or_move_a_record_to_another_county(stores: StoreFactory) -> None:
    store = stores.make(HOME)
    with pytest.raises(sqlite3.IntegrityError, match="county_code: 不能保存其他县区的记录"):
        shell_insert(store, "v-other", OTHER)
    with pytest.raises(sqlite3.IntegrityError, match="another county"):
        shell_insert(store, "v-city", CITY_CODE)
    shell_insert(store, "v-own", HOME)
    with pytest.raises(sqlite3.IntegrityError, match="county_code"), sqlite3.connect(store.path) as connection:
        connection.execute("UPDATE volunteer SET county_code = ? WHERE id = 'v-own'", (OTHER,))
    with sqlite3.connect(store.path) as connection:
        connection.execute("UPDATE volunteer SET name = '王芳芳' WHERE id = 'v-own'")  # other columns: as ever
        assert connection.execute("SELECT id, county_code, name FROM volunteer").fetchall() == \
            [("v-own", HOME, "王芳芳")]


def test_the_app_path_is_refused_too_and_nothing_is_queued(stores: StoreFactory) -> None:
    store = stores.make(HOME)
    with pytest.raises(sa.exc.IntegrityError, match="another county"):
        add_volunteer(store, county_code=OTHER)
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT COUNT(*) FROM change_log").scalar() == 0


def test_the_citys_reference_rows_arrive_by_sync_only(stores: StoreFactory) -> None:
    store = stores.make(HOME)
    with store.applying_remote_changes() as connection:
        connection.execute(sa.insert(Team.__table__), {  # type: ignore[attr-defined]
            "id": "t-city", "county_code": CITY_CODE, "name": "安阳市科技志愿服务支队", "created_at": datetime(2026, 1, 1)})
    with store.session() as session:
        assert session.get(Team, "t-city") is not None


def test_a_store_without_a_county_yet_is_not_checked(tmp_path) -> None:
    from schema.store import open_store

    store = open_store(tmp_path / "new" / "stvs.sqlite", daily_backup=False)
    try:
        shell_insert(store, "v-any", OTHER)
        with store.session() as session:
            assert session.get(Volunteer, "v-any") is not None
    finally:
        store.close()


def test_a_wrong_county_row_of_an_older_store_is_rejected_alone_and_sync_goes_on(city: ThreadServer,
                                                                               stores: StoreFactory) -> None:
    """Issue 10 item 1: one bad record never holds back the others, now or in any later sync."""
    store = stores.make(HOME)
    token = city.token(HOME)
    with sqlite3.connect(store.path) as connection:  # a store from before 0009 could hold one
        connection.execute("DROP TRIGGER trg_volunteer_own_county_insert")
        connection.execute(INSERT, ("v-wrong", OTHER, resident_id(OTHER, 9)))
    good = add_volunteer(store)
    first = sync(store, city, token)
    assert (first.applied, first.rejected) == (1, 1)
    assert first.rejected_records[0]["id"] == "v-wrong" and first.rejected_records[0]["reason"] == "forbidden"
    later = add_volunteer(store)
    second = sync(store, city, token)
    assert second.applied == 1
    with city.db.engine.connect() as connection:
        assert sorted(r[0] for r in connection.exec_driver_sql("SELECT id FROM volunteer")) == sorted([good, later])


async def test_the_county_tui_tells_the_clerk_why_in_one_sentence(tmp_path) -> None:
    """A write of another county's record from the app (any screen's worker) shows the store's reason, not SQL."""
    from test_tui_fixtures import county_app, make_store, settle

    store = make_store(tmp_path / "data" / "stvs.sqlite")
    app = county_app(store)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)

            def write(session) -> None:
                session.add(Volunteer(county_code=OTHER, name="王芳", id_number=resident_id(OTHER, 3),
                                      mobile="13800138000"))
                session.commit()

            app.run_db(app.screen, write, group="write", exclusive=False)
            await settle(pilot)
            messages = [str(n.message) for n in app._notifications]
            assert any("county_code: 不能保存其他县区的记录" in m for m in messages), messages
            assert not any("INSERT INTO" in m for m in messages)
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT COUNT(*) FROM volunteer").scalar() == 0
    finally:
        store.close()
