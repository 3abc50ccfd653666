"""Corrections of confirmed service hours append a record (who, when, why, before, after), apply it, show
in the volunteer's record, and travel to the city and the county's other devices like any record."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import select
from sync_fixtures import StoreFactory, ThreadServer, sync
from test_tui_fixtures import county_app, make_store, settle, wait_until
from textual.widgets import DataTable, Input

from schema.errors import InvalidRecord
from schema.models import Activity, HoursCorrection, Participation
from schema.rules import HoursNotConfirmed, correct_hours, hours_corrections, volunteer_hours
from schema.store import Store
from stvs_tui.county.screens.activities import ActivityScreen
from stvs_tui.county.screens.volunteers import VolunteerScreen
from stvs_tui.widgets.form import FormModal

COUNTY = "410522"
AT = datetime(2025, 3, 16, 10, 0)


@pytest.fixture
def demo_store(tmp_path: Path) -> Iterator[Store]:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=60)
    yield store
    store.close()


def confirmed_participation(store: Store) -> Participation:
    with store.session() as session:
        return session.exec(select(Participation).where(Participation.hours_confirmed.is_(True))
                            .order_by(Participation.id)).first()


def test_a_correction_is_appended_and_applied(demo_store: Store) -> None:
    target = confirmed_participation(demo_store)
    with demo_store.session() as session:
        before = volunteer_hours(session, target.volunteer_id)
        participation = session.get(Participation, target.id)
        correct_hours(session, participation, target.hours + 1.5, "签到表漏记半天", "王芳", AT)
        session.commit()
        after = volunteer_hours(session, target.volunteer_id)
        corrections = hours_corrections(session, target.volunteer_id)
    assert after == pytest.approx(before + 1.5)
    [(title, fix)] = corrections
    assert (fix.old_hours, fix.new_hours, fix.reason, fix.corrected_by) == (target.hours, target.hours + 1.5,
                                                                           "签到表漏记半天", "王芳")
    assert title
    with sqlite3.connect(demo_store.path) as connection:
        logged = connection.execute("SELECT tbl, op FROM change_log WHERE row_id IN (?, ?) ORDER BY seq",
                                    (fix.id, target.id)).fetchall()
    assert ("hours_correction", "I") in logged and ("participation", "U") in logged


def test_a_correction_needs_a_reason_and_changes_nothing_without_one(demo_store: Store) -> None:
    target = confirmed_participation(demo_store)
    with demo_store.session() as session:
        participation = session.get(Participation, target.id)
        with pytest.raises(InvalidRecord, match="reason"):
            correct_hours(session, participation, 1.0, "  ", "王芳", AT)
        session.rollback()
        assert session.get(Participation, target.id).hours == target.hours
        assert not session.exec(select(HoursCorrection)).all()


def test_unconfirmed_hours_are_edited_directly_not_corrected(demo_store: Store) -> None:
    with demo_store.session() as session:
        unconfirmed = session.exec(select(Participation).where(Participation.hours_confirmed.is_(False))).first()
        with pytest.raises(HoursNotConfirmed):
            correct_hours(session, unconfirmed, 1.0, "理由", "王芳", AT)


async def test_clerk_corrects_confirmed_hours_and_sees_it_on_the_record(demo_store: Store) -> None:
    target = confirmed_participation(demo_store)
    app = county_app(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await app.push_screen(ActivityScreen(target.activity_id))
        screen = app.screen
        await wait_until(pilot, lambda: screen.detail is not None)
        table = screen.query_one("#participants", DataTable)
        table.focus()
        table.move_cursor(row=table.get_row_index(target.id))
        await pilot.press("ctrl+y")
        await wait_until(pilot, lambda: isinstance(app.screen, FormModal))
        form = app.screen
        form.query_one("#f-new_hours", Input).value = "6"
        await pilot.press("ctrl+s")  # no reason yet: the form stays open
        await settle(pilot)
        assert isinstance(app.screen, FormModal)
        form.query_one("#f-reason").load_text("活动延长至下午")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, FormModal))
        with demo_store.session() as session:
            await wait_until(pilot, lambda: session.get(Participation, target.id, populate_existing=True).hours == 6)
        await app.push_screen(VolunteerScreen(target.volunteer_id))
        record = app.screen
        corrections = record.query_one("#vol-corrections", DataTable)
        await wait_until(pilot, lambda: corrections.row_count == 1)
        assert [str(c) for c in corrections.get_row_at(0)[1:4]] == [f"{target.hours:g}", "6", "活动延长至下午"]


def test_a_correction_reaches_the_city_and_the_other_device(city: ThreadServer, stores: StoreFactory) -> None:
    from datetime import date

    from stvs_tui.demo import generate, store_demo

    token = city.token(COUNTY)
    first, second = stores.make(COUNTY), stores.make(COUNTY)
    store_demo(first, generate(COUNTY, "安阳县", 30, 5, date(2025, 3, 15)))
    sync(first, city, token)
    sync(second, city, token)
    target = confirmed_participation(first)
    with first.session() as session:
        correct_hours(session, session.get(Participation, target.id), target.hours + 2, "补记", "王芳", AT)
        session.commit()
    summary = sync(first, city, token)
    assert summary.rejected == 0 and summary.conflicts == 0
    sync(second, city, token)
    with second.session() as session:
        assert session.get(Participation, target.id).hours == target.hours + 2
        [(_title, fix)] = hours_corrections(session, target.volunteer_id)
        assert (fix.reason, fix.new_hours) == ("补记", target.hours + 2)
        assert session.get(Activity, target.activity_id) is not None
