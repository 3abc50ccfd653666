"""The county's report screen knows the city's reporting calendar: a month past its lock day cannot be filed
or changed until the city reopens it (the server refuses it too: tests/test_period_locks.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select
from test_tui_fixtures import county_app, make_store, settle, wait_until

from schema.models import MonthlyReport
from schema.reporting import lock_row
from schema.store import Store
from stvs_tui.county.screens.report import MonthlyReportScreen


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = make_store(tmp_path / "stvs.sqlite", volunteers=40)
    yield opened
    opened.close()


async def _open_report(pilot, app, back: int) -> MonthlyReportScreen:
    await settle(pilot)
    await pilot.press("f7")
    await wait_until(pilot, lambda: isinstance(app.screen, MonthlyReportScreen) and app.screen.state is not None)
    screen = app.screen
    for _ in range(back):
        await pilot.press("pageup")
    await wait_until(pilot, lambda: screen.state is not None and not screen.workers)
    return screen


async def test_a_month_past_its_lock_day_cannot_be_filed(store: Store) -> None:
    app = county_app(store)  # today is 2025-03-15: January locked on 2025-02-15 (default 15 days)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_report(pilot, app, back=2)
        assert screen.period == "2025-01"
        await wait_until(pilot, lambda: screen.state.period_locked)
        assert screen.query_one("#report-highlights").read_only
        await pilot.press("ctrl+s")
        await settle(pilot)
    with store.session() as session:
        assert session.exec(select(MonthlyReport).where(MonthlyReport.period == "2025-01")).first() is None


async def test_a_month_the_city_reopened_can_be_filed(store: Store) -> None:
    with store.applying_remote_changes() as connection:  # as a pull from the city writes it
        row = lock_row("410522", "2025-01", date(2025, 3, 31), "同意补报")
        connection.execute(MonthlyReport.metadata.tables["reporting_deadline"].insert().values(
            **{c.name: getattr(row, c.name) for c in row.__table__.columns}))
    app = county_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_report(pilot, app, back=2)
        assert screen.period == "2025-01" and not screen.state.period_locked
        await pilot.press("ctrl+s")
        with store.session() as session:
            await wait_until(pilot, lambda: session.exec(
                select(MonthlyReport).where(MonthlyReport.period == "2025-01")).first() is not None)
