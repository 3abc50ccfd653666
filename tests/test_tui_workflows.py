"""Pilot tests of the clerk's workflows in the county TUI, on real SQLite stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select
from test_tui_fixtures import (
    COUNTY,
    county_app,
    make_store,
    open_volunteer_edit_form,
    open_volunteer_list,
    screen_text,
    settle,
    type_text,
    wait_until,
)
from textual.widgets import DataTable, Input, Label, Select

from schema.enums import ActivityStatus, ReportStatus
from schema.models import Activity, Membership, MonthlyReport, Participation, Team, Volunteer
from schema.rules import monthly_figures, volunteer_hours
from schema.store import Store
from stvs_tui.county.screens.activities import ActivitiesScreen, ActivityScreen
from stvs_tui.county.screens.dashboard import DashboardScreen
from stvs_tui.county.screens.report import MonthlyReportScreen
from stvs_tui.county.screens.setup import SetupScreen
from stvs_tui.county.screens.teams import TeamsScreen
from stvs_tui.county.screens.volunteers import VolunteerScreen, VolunteersScreen
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.form import FormModal
from stvs_tui.widgets.picker import PickerModal

VALID_ID = "11010519491231002X"
BAD_CHECK_ID = "110105194912310021"


@pytest.fixture
def demo_store(tmp_path: Path) -> Store:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=120)
    yield store
    store.close()


@pytest.fixture
def empty_store(tmp_path: Path) -> Store:
    store = make_store(tmp_path / "stvs.sqlite", county=None)
    yield store
    store.close()


def _error(screen: FormModal, field: str) -> str:
    return str(screen.query_one(f"#err-{field}", Label).render())


async def test_first_run_setup_picks_county_and_clerk(empty_store: Store) -> None:
    app = county_app(empty_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen)
        await pilot.press("ctrl+s")
        assert "县区" in str(app.screen.query_one("#err-county", Label).render())
        select = app.screen.query_one("#county", Select)
        select.focus()
        await pilot.press("enter")
        await settle(pilot)  # the list opens (and highlights the current choice) before the arrows
        options = [code for _label, code in select._options]
        await pilot.press(*["down"] * (options.index("410523")), "enter")
        assert select.value == "410523"
        app.screen.query_one("#clerk", Input).focus()
        await type_text(pilot, "李明")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
    assert empty_store.county_code == "410523"
    assert empty_store.setting("clerk") == "李明"


async def test_first_run_demo_key_loads_demo_data(empty_store: Store) -> None:
    app = county_app(empty_store)
    app.demo_volunteers = 40
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
    assert empty_store.county_code == COUNTY
    with empty_store.session() as session:
        assert len(session.exec(select(Volunteer)).all()) == 40


async def test_add_volunteer_refuses_a_bad_check_digit_then_saves_a_valid_id(demo_store: Store) -> None:
    app = county_app(demo_store)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, VolunteersScreen)
        await pilot.press("ctrl+n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormModal)
        form.query_one("#f-name", Input).value = "欧阳·娜[b]"
        form.query_one("#f-name", Input).value = "欧阳·娜"
        form.query_one("#f-id_number", Input).value = BAD_CHECK_ID
        form.query_one("#f-mobile", Input).value = "+86 139-0000-1111"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form, "an invalid record must not be saved"
        assert "校验码" in _error(form, "id_number")
        form.query_one("#f-id_number", Input).value = VALID_ID
        await settle(pilot)
        assert _error(form, "id_number") == ""
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, VolunteersScreen)
    with demo_store.session() as session:
        saved = session.exec(select(Volunteer).where(Volunteer.id_number == VALID_ID)).one()
    assert (saved.name, saved.mobile, saved.sex, str(saved.birth_date)) == ("欧阳·娜", "13900001111", "female",
                                                                          "1949-12-31")
    assert saved.county_code == COUNTY


async def test_a_save_waits_while_another_program_writes_the_store_and_lands(demo_store: Store) -> None:
    """The clerk saves an edit of a volunteer while another program (a `sqlite3` shell, a sync) holds the store's
    write lock: the save waits its turn and lands once the lock is let go. (The save reads the record, then
    writes it: begun as a reader it failed at once with "database is locked", SQLite being unable to move a
    transaction that has read to the newer state.)"""
    import sqlite3

    from textual.worker import WorkerState

    with demo_store.session() as session:
        someone = session.exec(select(Volunteer).limit(1)).one()
    app = county_app(demo_store)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_volunteer_list(pilot)
        await open_volunteer_edit_form(pilot, someone.id)
        app.screen.query_one("#f-mobile", Input).value = "13900001111"
        await settle(pilot)
        shell = sqlite3.connect(demo_store.path, isolation_level=None)  # type: ignore[arg-type]
        shell.execute("BEGIN IMMEDIATE")
        shell.execute("UPDATE setting SET value = value WHERE key = 'clerk'")
        await pilot.press("ctrl+s")
        # The save's worker running, waiting for the lock. (A save that began as a reader failed at once and its
        # worker was gone: this waits out its guard, then the form is still open below.)
        await wait_until(pilot, lambda: any(w.group == "write" and w.state == WorkerState.RUNNING for w in app.workers),
                         timeout=60)
        await pilot.pause(0.3)
        shell.execute("COMMIT")
        shell.close()
        await wait_until(pilot, lambda: all(w.is_finished for w in app.workers if w.group == "write"))
        await settle(pilot)
        assert isinstance(app.screen, VolunteerScreen)  # the form closed: saved
    with demo_store.session() as session:
        assert session.get(Volunteer, someone.id).mobile == "13900001111"


async def test_required_fields_and_mobile_are_checked_per_field(demo_store: Store) -> None:
    app = county_app(demo_store)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        form = app.screen
        form.query_one("#f-mobile", Input).value = "0372-2555663"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert "不能为空" in _error(form, "name")
        assert "座机" in _error(form, "mobile")


async def test_volunteer_filter_finds_by_name_mobile_and_id_fragment(demo_store: Store) -> None:
    with demo_store.session() as session:
        someone = session.exec(select(Volunteer).limit(1)).one()
    app = county_app(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, VolunteersScreen)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        for fragment in (someone.mobile[-6:], someone.id_number[-4:]):
            app.focused.value = fragment
            await settle(pilot)
            assert someone.id in screen.table.held_keys(), fragment
        # ID numbers are masked in the list
        row = screen.table.get_row(someone.id)
        assert someone.id_number not in [str(cell) for cell in row]
        assert "********" in str(row[2])
        await pilot.press("enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, VolunteerScreen)


async def test_create_team_and_add_members(demo_store: Store) -> None:
    app = county_app(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, TeamsScreen)
        await pilot.press("ctrl+n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormModal)
        form.query_one("#f-name", Input).value = "[b]北关社区[/b]科技志愿服务队"
        form.query_one("#f-host_unit", Input).value = "北关社区"
        await pilot.press("ctrl+s")
        await settle(pilot)
        teams = app.screen
        assert isinstance(teams, TeamsScreen)
        assert teams.detail is not None and teams.detail.team.name == "[b]北关社区[/b]科技志愿服务队"
        # User text is never markup: the brackets show as typed
        assert "[b]北关社区[/b]" in screen_text(app)
        await pilot.press("ctrl+a")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, PickerModal)
        assert picker.focused is picker.table  # the list has the focus: Space marks at once
        await pilot.press("space", "down", "space", "down", "space", "up", "space")
        assert len(picker.marked) == 2
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is teams
        assert len(teams.detail.members) == 2
        # Make the first member the leader
        teams.query_one("#members", DataTable).focus()
        await pilot.press("ctrl+r")
        await settle(pilot)
        role_form = app.screen
        role_form.query_one("#f-role", Select).value = "leader"
        await pilot.press("ctrl+s")
        await settle(pilot)
    with demo_store.session() as session:
        team = session.exec(select(Team).where(Team.host_unit == "北关社区")).one()
        members = session.exec(select(Membership).where(Membership.team_id == team.id)).all()
    assert team.county_code == COUNTY and team.tier == "grassroots"
    assert sorted(m.role for m in members) == ["leader", "member"]


async def test_dissolving_a_team_asks_and_defaults_to_no(demo_store: Store) -> None:
    app = county_app(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        teams = app.screen
        team_id = teams.detail.team.id
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("enter")  # the focused answer is 否
        await settle(pilot)
        with demo_store.session() as session:
            assert session.get(Team, team_id).status == "active"
        await pilot.press("ctrl+d")
        await settle(pilot)
        await pilot.press("left", "enter")
        await settle(pilot)
    with demo_store.session() as session:
        assert session.get(Team, team_id).status == "dissolved"


async def _new_activity(pilot, app) -> ActivityScreen:  # type: ignore[no-untyped-def]
    await pilot.press("f5")
    await settle(pilot)
    assert isinstance(app.screen, ActivitiesScreen)
    await pilot.press("ctrl+n")
    await settle(pilot)
    form = app.screen
    assert isinstance(form, FormModal)
    form.query_one("#f-title", Input).value = "小麦春季田间管理培训"
    team_select = form.query_one("#f-team_id", Select)
    team_select.value = team_select._options[-1][1]
    form.query_one("#f-starts_at", Input).value = "2025-03-20 09:00"
    form.query_one("#f-ends_at", Input).value = "2025-03-20 12:00"
    await pilot.press("ctrl+s")
    await settle(pilot)
    assert isinstance(app.screen, ActivityScreen)
    return app.screen


async def test_activity_runs_from_draft_to_completion_with_attendance_and_hours(demo_store: Store) -> None:
    app = county_app(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = await _new_activity(pilot, app)
        activity_id = screen.activity_id
        await pilot.press("ctrl+a")  # signing up needs a published activity
        await settle(pilot)
        assert not isinstance(app.screen, PickerModal)
        await pilot.press("ctrl+u")
        await settle(pilot)
        assert screen.detail.activity.status == ActivityStatus.PUBLISHED.value
        await pilot.press("ctrl+a")
        await settle(pilot)
        await pilot.press("space", "down", "space", "down", "space", "ctrl+s")
        await settle(pilot)
        assert len(screen.detail.participants) == 3
        await pilot.press("ctrl+g")
        await settle(pilot)
        # First: attendance form, hours default to the duration (3 h), changed to 2.5
        await pilot.press("up", "up", "enter")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormModal)
        assert form.query_one("#f-hours", Input).value == "3"
        form.query_one("#f-hours", Input).value = "2.5"
        await pilot.press("ctrl+s")
        await settle(pilot)
        # Second: attended with the default hours; third stays unknown (absent)
        await pilot.press("down", "space")
        await settle(pilot)
        await pilot.press("ctrl+t")  # 结项 (its own key); cannot complete with unconfirmed hours
        await settle(pilot)
        assert not isinstance(app.screen, FormModal)
        await pilot.press("ctrl+k")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("left", "enter")
        await settle(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        form = app.screen
        form.query_one("#f-beneficiaries", Input).value = "120"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.detail.activity.status == ActivityStatus.FINISHED.value
    with demo_store.session() as session:
        activity = session.get(Activity, activity_id)
        rows = session.exec(select(Participation).where(Participation.activity_id == activity_id)).all()
        hours = sorted(p.hours for p in rows)
        assert activity.beneficiaries == 120
        assert hours == [0.0, 2.5, 3.0]
        assert sorted(bool(p.attended) for p in rows) == [False, True, True]
        assert all(p.hours_confirmed for p in rows if p.attended)
        attended = [p for p in rows if p.hours == 2.5][0]
        assert volunteer_hours(session, attended.volunteer_id) >= 2.5


async def test_cancelling_an_activity_asks_first(demo_store: Store) -> None:
    app = county_app(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = await _new_activity(pilot, app)
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("escape")
        await settle(pilot)
        assert screen.detail.activity.status == ActivityStatus.DRAFT.value
        await pilot.press("ctrl+d")
        await settle(pilot)
        await pilot.press("left", "enter")
        await settle(pilot)
        assert screen.detail.activity.status == ActivityStatus.CANCELLED.value


async def test_monthly_report_shows_computed_figures_and_is_submitted(demo_store: Store) -> None:
    app = county_app(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MonthlyReportScreen)
        await pilot.press("pageup")
        await settle(pilot)
        assert screen.period == "2025-02"
        with demo_store.session() as session:
            expected = monthly_figures(session, COUNTY, "2025-02")
        table = screen.query_one("#report-figures", DataTable)
        assert str(table.get_row_at(0)[0]) == str(expected.activities)
        assert str(table.get_row_at(1)[0]) == str(expected.person_times)
        await pilot.press("ctrl+t", "ctrl+s")  # a month with activities cannot be a nil report
        await settle(pilot)
        assert screen.state.report is None
        await pilot.press("ctrl+t", "ctrl+u")
        await settle(pilot)
        await pilot.press("left", "enter")
        await settle(pilot)
        assert screen.state.report.status == ReportStatus.SUBMITTED.value
        assert screen.state.report.activities == expected.activities
        assert screen.query_one("#report-highlights").read_only


async def test_nil_report_for_a_month_without_activity(demo_store: Store) -> None:
    app = county_app(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        await pilot.press("pagedown", "pagedown")
        await settle(pilot)
        screen = app.screen
        assert screen.period == "2025-05"
        await pilot.press("ctrl+t", "ctrl+s")
        await settle(pilot)
    with demo_store.session() as session:
        report = session.exec(select(MonthlyReport).where(MonthlyReport.period == "2025-05")).one()
    assert report.is_nil and report.activities == 0 and report.status == ReportStatus.DRAFT.value


async def test_dashboard_figure_opens_the_list_behind_it(demo_store: Store) -> None:
    app = county_app(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        options = dashboard.query_one("#figures")
        index = [options.get_option_at_index(i).id for i in range(options.option_count)].index("tag:expert")
        options.highlighted = index
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, VolunteersScreen)
        assert app.screen.filter_state().tag == "expert"
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is dashboard
        options.highlighted = [options.get_option_at_index(i).id for i in range(options.option_count)].index("idle")
        await pilot.press("enter")
        await settle(pilot)
        teams = app.screen
        assert isinstance(teams, TeamsScreen) and teams.mode == "idle"
        assert all(not team.meets_monthly_activity for team in teams.teams if teams._visible(team))


async def test_filter_at_scale_pages_through_sql(tmp_path: Path) -> None:
    """20k volunteers: the list holds the rows around its screen only, Ctrl+End reaches the 20,000th, a filter
    finds one person, the count comes from SQL."""
    store = make_store(tmp_path / "stvs.sqlite", volunteers=20_000, seed=3)
    try:
        with store.session() as session:
            target = session.exec(select(Volunteer).offset(12_345).limit(1)).one()
            same_mobile = len(session.exec(select(Volunteer.id).where(Volunteer.mobile == target.mobile)).all())
        app = county_app(store)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("f3")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, VolunteersScreen)
            assert screen.table.held < 200
            assert screen.table.total == screen.table.row_count == 20_000
            assert "共 20000 条" in screen_text(app)
            screen.table.focus()
            await pilot.press("ctrl+end")  # the last row comes from SQL
            await settle(pilot)
            assert screen.table.cursor_row == 19_999 and screen.table.current_key is not None
            assert screen.table.held < 200
            await pilot.press("slash")
            app.focused.value = target.mobile
            await settle(pilot)
            assert screen.table.row_count == same_mobile and target.id in screen.table.held_keys()
            app.focused.value = ""
            screen.query_one("#tag-filter", Select).value = "expert"
            await settle(pilot)
            with store.session() as session:
                from stvs_tui.queries import VolunteerFilter, volunteer_count

                assert screen.table.total == volunteer_count(session, COUNTY, VolunteerFilter(tag="expert"))
    finally:
        store.close()
