"""Hours over the activity's duration need a reason and a yes (否 preselected); over 24 a day are refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import select
from test_tui_fixtures import county_app, make_store, settle, wait_until
from textual.widgets import DataTable, Input, Label

from schema.enums import ActivityStatus
from schema.models import Activity, Participation
from schema.rules import hours_cap, planned_hours
from schema.store import Store
from stvs_tui import queries
from stvs_tui.county.screens.activities import ActivityScreen
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.form import FormModal

START, END = datetime(2025, 3, 10, 9, 0), datetime(2025, 3, 10, 12, 0)  # a three-hour activity


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=30)
    yield store
    store.close()


def three_hour_activity_with_one_attendee(store: Store) -> tuple[str, str]:
    with store.session() as session:
        participation = session.exec(select(Participation).order_by(Participation.id)).first()
        activity = session.get(Activity, participation.activity_id)
        activity.starts_at, activity.ends_at = START, END
        activity.status = ActivityStatus.IN_PROGRESS.value
        for other in session.exec(select(Participation).where(Participation.activity_id == activity.id)):
            other.hours_confirmed, other.attended, other.hours, other.evaluation = False, None, 0.0, ""
            session.add(other)
        session.add(activity)
        session.commit()
        return activity.id, participation.id


def hours_of(store: Store, participation_id: str) -> tuple[float, str]:
    with store.session() as session:
        row = session.get(Participation, participation_id)
        return row.hours, row.evaluation


def test_the_limits_follow_the_activity() -> None:
    assert planned_hours(START, END) == 3.0
    assert hours_cap(START, END) == 24.0
    assert hours_cap(START, datetime(2025, 3, 12, 17, 0)) == 72.0  # three calendar days


def test_the_store_refuses_more_than_24_hours_a_day(store: Store) -> None:
    _activity, participation = three_hour_activity_with_one_attendee(store)
    with store.session() as session, pytest.raises(queries.WorkflowError, match="hours_over_cap"):
        queries.record_attendance(session, participation, True, 30.0)
    assert hours_of(store, participation)[0] == 0.0


async def open_attendance_form(pilot, app, activity_id: str, participation_id: str) -> FormModal:  # type: ignore[no-untyped-def]
    await settle(pilot)
    app.open_screen(ActivityScreen(activity_id))
    await wait_until(pilot, lambda: isinstance(app.screen, ActivityScreen) and app.screen.detail is not None)
    screen = app.screen
    table = screen.query_one("#participants", DataTable)
    row = [p.participation_id for p in screen.detail.participants].index(participation_id)
    table.focus()
    table.move_cursor(row=row)
    await settle(pilot)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, FormModal))
    return app.screen


async def test_hours_over_the_duration_need_a_reason_and_a_yes(store: Store) -> None:
    activity, participation = three_hour_activity_with_one_attendee(store)
    app = county_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        form = await open_attendance_form(pilot, app, activity, participation)
        form.query_one("#f-hours", Input).value = "30"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert "24" in str(form.query_one("#err-hours", Label).content)  # over 24 a day: refused
        form.query_one("#f-hours", Input).value = "5"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form  # over the 3 hours: a reason first
        assert "3" in str(form.query_one("#err-evaluation", Label).content)
        form.query_one("#f-evaluation", Input).value = "布展提前两小时到场"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("enter")  # 否: nothing recorded
        await wait_until(pilot, lambda: isinstance(app.screen, ActivityScreen))
        await settle(pilot)
        assert hours_of(store, participation) == (0.0, "")
        form = await open_attendance_form(pilot, app, activity, participation)
        form.query_one("#f-hours", Input).value = "5"
        form.query_one("#f-evaluation", Input).value = "布展提前两小时到场"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("left", "enter")  # 是
        await wait_until(pilot, lambda: hours_of(store, participation) == (5.0, "布展提前两小时到场"))


async def test_hours_within_the_duration_ask_nothing(store: Store) -> None:
    activity, participation = three_hour_activity_with_one_attendee(store)
    app = county_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        form = await open_attendance_form(pilot, app, activity, participation)
        form.query_one("#f-hours", Input).value = "2.5"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: hours_of(store, participation)[0] == 2.5)
        assert not isinstance(app.screen, ConfirmModal)
