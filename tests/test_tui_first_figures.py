"""The dashboard's figures read as the TUI starts (``stvs_tui.county.start``, beside the imports): the first screen
shows what the dashboard reads itself, to the character; figures for another county or month are not used, and
they are taken once (a refresh reads the store again)."""

from __future__ import annotations

from pathlib import Path

from test_tui_fixtures import TODAY, county_app, make_store, screen_text, settle

from stvs_tui.county.screens.dashboard import DashboardScreen
from stvs_tui.county.start import read_first_figures


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


async def test_figures_of_another_month_are_not_shown(tmp_path: Path) -> None:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=20)
    try:
        app = county_app(store)

        def wrong() -> object:
            raise AssertionError("the figures of another month were used")

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
