"""The dashboard's figures read as the TUI starts (``stvs_tui.county.start``, beside the imports): the first screen
shows what the dashboard reads itself, to the character; figures for another county or month are not used, and
they are taken once (a refresh reads the store again)."""

from __future__ import annotations

import sqlite3
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path

import pytest
from test_tui_fixtures import COUNTY, TODAY, county_app, make_store, screen_text, settle

from schema.store import Store
from stvs_tui.county.screens.dashboard import DashboardScreen
from stvs_tui.county.start import read_first_figures
from stvs_tui.dashboard_figures import plain_dashboard_data, previous_periods
from stvs_tui.queries import dashboard_data, save_report
from sync.status import sync_status


async def first_screen(app) -> tuple[object, str]:  # type: ignore[no-untyped-def]
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        return app.screen.data, screen_text(app)


async def test_the_first_screen_from_the_figures_read_at_start_is_the_one_read_by_the_dashboard(
        tmp_path: Path) -> None:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=80)
    try:
        first = read_first_figures(store, TODAY)
        assert first is not None and first[:2] == ("410522", "2025-03")
        started = county_app(store)
        started.first_figures = first
        data, text = await first_screen(started)
        assert started.first_figures is None  # taken once
        fresh_data, fresh_text = await first_screen(county_app(store))
        assert data == fresh_data
        assert text == fresh_text
    finally:
        store.close()


@pytest.mark.parametrize("ready", [True, False])
async def test_figures_read_by_the_time_the_dashboard_mounts_are_in_its_first_frame(tmp_path: Path,
                                                                                  ready: bool) -> None:
    """Read already as the dashboard mounts (the usual case: they are read while Textual imports): shown at once,
    so that its first frame has them (no empty frame, then a worker, then a second frame). Still being read: a
    worker waits for them, and the screen shows them when they come."""
    store = make_store(tmp_path / "stvs.sqlite", volunteers=20)
    try:
        first = read_first_figures(store, TODAY)
        assert first is not None
        figures = first[2].result()
        pending: Future[object] = Future()
        app = county_app(store)
        app.first_figures = (first[0], first[1], first[2] if ready else pending)
        jobs: list[object] = []
        plain_run_job = app.run_job

        def run_job(node, job, *args, **kwargs):  # type: ignore[no-untyped-def]
            if isinstance(node, DashboardScreen):
                jobs.append(job)
            return plain_run_job(node, job, *args, **kwargs)

        app.run_job = run_job  # type: ignore[method-assign]
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            if ready:
                assert screen.data is figures and not jobs  # shown in on_mount, before the first frame
            else:
                assert screen.data is None and jobs == [pending.result]
                pending.set_result(figures)
            await settle(pilot)
            assert screen.data == figures
    finally:
        store.close()


async def test_figures_of_another_month_are_not_shown(tmp_path: Path) -> None:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=20)
    try:
        app = county_app(store)

        wrong: Future[object] = Future()
        wrong.set_exception(AssertionError("the figures of another month were used"))
        app.first_figures = ("410522", "2025-02", wrong)
        data, _text = await first_screen(app)
        assert data is not None and data.period == "2025-03"  # type: ignore[attr-defined]
    finally:
        store.close()


def test_a_store_without_a_county_reads_nothing_at_start(tmp_path: Path) -> None:
    store = make_store(tmp_path / "stvs.sqlite", county=None)
    try:
        assert read_first_figures(store, TODAY) is None
    finally:
        store.close()


# The first reading is plain SQL (sqlite3) written beside the SQLAlchemy queries it mirrors: the two must not drift.

def both_readings(store: Store, period: str) -> tuple[object, object]:
    with store.session() as session:
        regular = dashboard_data(session, COUNTY, period, sync_status(store))
    assert store.path is not None
    with sqlite3.connect(store.path) as db:
        plain = plain_dashboard_data(db, COUNTY, period)
    db.close()
    return regular, plain


def test_the_plain_first_reading_equals_the_dashboards_own_queries_on_demo_data(tmp_path: Path) -> None:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=300)
    try:
        periods = previous_periods("2025-03", 14)  # months with activities, and before the demo's data
        for period in periods:
            regular, plain = both_readings(store, period)
            assert plain == regular, period
        regular, _ = both_readings(store, "2025-03")
        # The demo data gives every figure something to count (else an equality would prove little).
        assert regular.teams and regular.talents.volunteers and regular.talents.san_zhang  # type: ignore[attr-defined]
        assert regular.talents.experts and regular.talents.rural_talents  # type: ignore[attr-defined]
        assert any(team.members for team in regular.teams)  # type: ignore[attr-defined]
        assert any(team.activities_in_month for team in regular.teams)  # type: ignore[attr-defined]
        assert sum(regular.trend.activities) and sum(regular.trend.hours)  # type: ignore[attr-defined]
        assert regular.pending_changes  # type: ignore[attr-defined]
        # What each filter of the queries leaves out: members who left, deleted and inactive volunteers, a
        # cancelled, a deleted and a draft activity, a deleted and a dissolved team.
        with store.engine.begin() as connection:
            sql = connection.exec_driver_sql
            sql("UPDATE membership SET left_on = '2025-01-31' WHERE rowid % 5 = 0")
            sql("UPDATE membership SET deleted = 1 WHERE rowid % 7 = 0")
            sql("UPDATE volunteer SET deleted = 1 WHERE rowid % 11 = 0")
            sql("UPDATE volunteer SET status = 'inactive' WHERE rowid % 13 = 0")
            for status, step in (("cancelled", 3), ("draft", 4)):
                sql(f"UPDATE activity SET status = '{status}' WHERE rowid % {step} = 0")
            sql("UPDATE activity SET deleted = 1 WHERE rowid % 5 = 0")
            sql("UPDATE participation SET hours_confirmed = 0 WHERE rowid % 3 = 0")
            sql("UPDATE participation SET attended = 0 WHERE rowid % 4 = 0")
            sql("UPDATE participation SET deleted = 1 WHERE rowid % 5 = 0")
            sql("UPDATE team SET deleted = 1 WHERE rowid = (SELECT min(rowid) FROM team)")
            sql("UPDATE team SET status = 'dissolved' WHERE rowid = (SELECT max(rowid) FROM team)")
        for period in periods:
            changed, plain = both_readings(store, period)
            assert plain == changed, period
        changed, _ = both_readings(store, "2025-03")
        assert changed != regular
        assert len(changed.teams) == len(regular.teams) - 2  # type: ignore[attr-defined]
        assert changed.talents.volunteers < regular.talents.volunteers  # type: ignore[attr-defined]
        assert sum(changed.trend.hours) < sum(regular.trend.hours)  # type: ignore[attr-defined]
    finally:
        store.close()


@pytest.mark.parametrize("state", ["draft", "waiting", "synced", "conflict"])
def test_the_plain_reading_of_the_report_and_sync_lines_equals_the_regular_one(tmp_path: Path, state: str) -> None:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=20)
    try:
        with store.session() as session:
            report = save_report(session, COUNTY, "2025-03", nil=False, highlights="",
                                 submit_by=None if state == "draft" else "王芳", now=datetime(2025, 3, 20, 9),
                                 today=TODAY)
        with store.applying_remote_changes() as connection:  # as a sync writes: the triggers keep the state
            if state in ("synced", "conflict"):
                connection.exec_driver_sql("UPDATE monthly_report SET sync_state = ? WHERE id = ?",
                                           (state, report.id))
                connection.exec_driver_sql("INSERT INTO sync_checkpoint (key, value) VALUES ('last_sync_at', "
                                           "'2025-03-21T10:30:00+08:00')")
            if state == "conflict":
                connection.exec_driver_sql(
                    "INSERT INTO sync_issue (tbl, row_id, status, reason, message, at) VALUES "
                    "('monthly_report', ?, 'conflict', 'conflict', 'the city has another', '2025-03-21T10:30:00')",
                    (report.id,))
        regular, plain = both_readings(store, "2025-03")
        assert plain == regular
        assert regular.report_waiting == (state in ("waiting", "conflict"))  # type: ignore[attr-defined]
        assert regular.conflicts == (1 if state == "conflict" else 0)  # type: ignore[attr-defined]
        assert bool(regular.last_sync) == (state in ("synced", "conflict"))  # type: ignore[attr-defined]
    finally:
        store.close()


def test_the_team_table_and_the_hours_are_read_from_covering_indexes(tmp_path: Path) -> None:
    """Migration 0016: the team table's join of memberships to volunteers and the hours of the chart are answered
    from indexes alone (each volunteer row fetched for its tags cost the dashboard ~35 ms at 20k volunteers)."""
    store = make_store(tmp_path / "stvs.sqlite", volunteers=40)
    try:
        assert store.path is not None
        plans: list[str] = []

        class Explaining:
            def __init__(self, db: sqlite3.Connection) -> None:
                self.db = db

            def execute(self, sql: str, parameters: object = ()) -> sqlite3.Cursor:
                plan = self.db.execute(f"EXPLAIN QUERY PLAN {sql}", parameters).fetchall()  # type: ignore[arg-type]
                plans.append("\n".join(row[3] for row in plan))
                return self.db.execute(sql, parameters)  # type: ignore[arg-type]

        with sqlite3.connect(store.path) as db:
            plain_dashboard_data(Explaining(db), COUNTY, "2025-03")  # type: ignore[arg-type]
        db.close()
        members = next(plan for plan in plans if "membership" in plan)
        hours = next(plan for plan in plans if "participation" in plan)
        assert "COVERING INDEX ix_membership_team_members" in members, members
        assert "COVERING INDEX ix_volunteer_id_tags" in members, members
        assert "COVERING INDEX ix_participation_hours" in hours, hours
    finally:
        store.close()


@pytest.mark.parametrize("lang, shown", [("zh", "填报人：未填写（F9 设置）"), ("en", "clerk: not set (F9 Settings)")])
async def test_a_store_without_a_clerk_says_so_in_the_header(tmp_path: Path, lang: str, shown: str) -> None:
    """The demo store, or one whose clerk was never set: the header says where to set it, not an empty name."""
    store = make_store(tmp_path / "stvs.sqlite", volunteers=10)
    try:
        store.set_settings(clerk="")
        _data, text = await first_screen(county_app(store, lang))
        assert shown in text
    finally:
        store.close()
