"""The dashboard's charts: activities and confirmed hours per month for the last 12 months, and this month's
teams with and without an activity, on the first screen at 80×24 with the report and sync lines."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from rich.cells import cell_len
from test_tui_fixtures import COUNTY, TODAY, county_app, make_store, screen_text, settle

from schema.rules import period_of
from stvs_tui.queries import monthly_trend, previous_periods
from stvs_tui.widgets.charts import EMPTY, spark, split_bar


def test_the_trend_counts_each_month_as_the_records_say(tmp_path: Path) -> None:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=120)
    try:
        period = period_of(TODAY)
        months = previous_periods(period, 12)
        assert months[0] == "2024-04" and months[-1] == "2025-03" and len(months) == 12
        with sqlite3.connect(store.path) as db:
            # One activity of the last months cancelled: it no longer counts, nor do its hours.
            cancelled = db.execute("SELECT id, substr(starts_at, 1, 7) FROM activity WHERE starts_at >= '2024-06' "
                                   "ORDER BY starts_at LIMIT 1").fetchone()
            db.execute("UPDATE activity SET status = 'cancelled' WHERE id = ?", (cancelled[0],))
            expected_activities = [db.execute(
                "SELECT COUNT(*) FROM activity WHERE county_code = ? AND deleted = 0 AND status != 'cancelled' "
                "AND substr(starts_at, 1, 7) = ?", (COUNTY, month)).fetchone()[0] for month in months]
            expected_hours = [db.execute(
                "SELECT COALESCE(SUM(p.hours), 0) FROM participation p JOIN activity a ON a.id = p.activity_id "
                "WHERE a.county_code = ? AND a.deleted = 0 AND a.status != 'cancelled' AND p.deleted = 0 "
                "AND p.attended = 1 AND p.hours_confirmed = 1 AND substr(a.starts_at, 1, 7) = ?",
                (COUNTY, month)).fetchone()[0] for month in months]
        with store.session() as session:
            trend = monthly_trend(session, COUNTY, period)
        assert trend.months == months
        assert trend.activities == expected_activities and sum(expected_activities) > 12
        assert trend.hours == pytest.approx(expected_hours) and sum(expected_hours) > 0
    finally:
        store.close()


def test_the_text_charts() -> None:
    assert spark([0, 1, 2, 4, 8]).plain == f"{EMPTY}▁▂▄█"
    assert spark([0, 0]).plain == EMPTY * 2
    assert split_bar(1, 3, 8).plain == "██░░░░░░"
    assert split_bar(0, 0, 4).plain == "░░░░"


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_the_charts_report_and_sync_lines_are_on_the_first_screen_at_80x24(tmp_path: Path, lang: str) -> None:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=120)
    try:
        with store.session() as session:
            trend = monthly_trend(session, COUNTY, period_of(TODAY))
        app = county_app(store, lang)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            text = screen_text(app)
            lines = text.splitlines()
            teams = app.screen.data.teams
            active = sum(1 for team in teams if team.meets_monthly_activity)
            if lang == "zh":
                wanted = ["近12个月（2024-04 至 2025-03）", f"共 {sum(trend.activities)} 次，本月 {trend.activities[-1]} 次",
                          f"本月有活动 {active} 支，无活动 {len(teams) - active} 支", "2025-03 月报：", "未同步更改："]
            else:
                wanted = ["Last 12 months (2024-04 to 2025-03)", f"{sum(trend.activities)} in all, "
                          f"{trend.activities[-1]} this month", f"{active} active this month, {len(teams) - active} not",
                          "Report 2025-03:", "Unsynced changes:"]
            for words in wanted:
                assert words in text, f"{words!r} not on the first screen at 80×24:\n{text}"
            chart = next(line for line in lines if f"{sum(trend.activities)}" in line)
            bars = "".join(char for char in chart if char in "▁▂▃▄▅▆▇█" + EMPTY)
            assert bars == "".join(char * 2 for char in spark([float(n) for n in trend.activities]).plain)
            assert all(cell_len(line) <= 80 for line in lines)
    finally:
        store.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_team_table_fits_the_width_and_a_cut_cell_ends_in_an_ellipsis(tmp_path: Path, lang: str,
                                                                              size: tuple[int, int]) -> None:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=120)
    try:
        app = county_app(store, lang)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            table = app.screen.query_one("#team-table")
            room = table.scrollable_content_region.width
            # The gutter is kept whether or not the bar shows, so the room cannot change after the fit.
            assert room == table.content_region.width - table.styles.scrollbar_size_vertical
            assert table.virtual_size.width <= room, "the last columns would be past the right edge"
            flags_header = table.ordered_columns[-1].label.plain
            rows = [table.get_row_at(index) for index in range(table.row_count)]
            flagged = [row for row in rows if row[-1].plain]
            assert flagged, "the demo data has teams short of members or without an activity"
            width = table.ordered_columns[-1].width
            for row in flagged:
                line = row[-1].copy()
                line.truncate(width, overflow="ellipsis")
                # Drawn whole, or cut and saying so.
                assert line.plain == row[-1].plain or line.plain.endswith("…")
            text = screen_text(app)
            assert flags_header in text
            shown = [row[-1].plain for row in flagged if row[-1].cell_len <= width]
            cut = [row[-1].plain for row in flagged if row[-1].cell_len > width]
            if size == (80, 24):
                assert cut or shown  # at 80 columns the flags may be cut, with the "…"
            else:
                assert not cut, f"at {size[0]} columns every flag fits: {cut}"
    finally:
        store.close()
