""""已报送" tells the truth: a submitted report reads 已报送（待同步） until a sync has brought the city's
acknowledgement, then 已送达市级 with the time; the dashboard says what waits to sync and offers F8, and its
report and sync lines are on the first screen at 80×24. The sync is a real one against a city server."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from city_server import running_city_server
from test_tui_fixtures import TODAY, make_store, screen_text, settle, wait_until

from schema.store import Store
from stvs_tui import queries
from stvs_tui.county.app import CountyApp
from stvs_tui.county.screens.dashboard import DashboardScreen
from stvs_tui.county.screens.report import MonthlyReportScreen
from sync.client import SyncClient

# The city server locks months by its own clock: the open month is the real one.
NOW = date.today()
PERIOD = f"{NOW:%Y-%m}"


def submit_report(store: Store, day: date = NOW) -> None:
    with store.session() as session:
        queries.save_report(session, "410522", f"{day:%Y-%m}", nil=False, highlights="", submit_by="王芳",
                            now=datetime.combine(day, datetime.min.time()), today=day)


async def dashboard_and_report_text(store: Store, today: date = NOW) -> tuple[str, str]:
    app = CountyApp(store, lang="zh", today=today)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.data is not None)
        await settle(pilot)
        dashboard = screen_text(app)
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, MonthlyReportScreen) and app.screen.state is not None)
        await settle(pilot)
        return dashboard, screen_text(app)


async def test_submitted_reads_waiting_until_the_city_acknowledges_it(tmp_path: Path) -> None:
    store = make_store(tmp_path / "county" / "stvs.sqlite", volunteers=30)
    try:
        submit_report(store)
        dashboard, report = await dashboard_and_report_text(store)
        # On the first screen at 80×24: the report's truth and what waits to sync, with F8 offered.
        assert f"{PERIOD} 月报：已报送（待同步，F8）" in dashboard
        assert f"未同步更改：{store.pending_change_count()} 条（F8 同步）" in dashboard
        assert "上次同步：从未同步" in dashboard
        assert "已报送（待同步，F8）" in report and "已送达" not in report

        with running_city_server(tmp_path) as city:
            SyncClient(store, city.url, city.tokens["410522"]).run()
        dashboard, report = await dashboard_and_report_text(store)
        assert f"{PERIOD} 月报：已送达市级（" in dashboard and "同步确认）" in dashboard, dashboard
        assert "未同步更改：0 条" in dashboard and "F8 同步" not in dashboard
        assert "已送达市级（" in report and "待同步" not in report
    finally:
        store.close()


async def test_a_report_the_city_refused_is_not_shown_as_delivered(tmp_path: Path) -> None:
    """A month long past its lock day is refused by the city: the county reads that, not 已报送."""
    store = make_store(tmp_path / "county" / "stvs.sqlite", volunteers=30)
    try:
        submit_report(store, TODAY)
        with running_city_server(tmp_path) as city:
            SyncClient(store, city.url, city.tokens["410522"]).run()
        dashboard, report = await dashboard_and_report_text(store, TODAY)
        assert f"{TODAY:%Y-%m} 月报：已报送（市级未接收，原因见 F8）" in dashboard
        assert "已送达" not in report and "市级未接收" in report
    finally:
        store.close()
