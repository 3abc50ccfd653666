"""The TUI's Excel screen: a preview lists every problem before anything is written; exports write files."""

from __future__ import annotations

from pathlib import Path

import pytest
from excel_helpers import HEADERS, resident_id, volunteer_count, write_book
from test_tui_fixtures import county_app, make_store, settle
from textual.widgets import DataTable, Input, Label, Select

from schema.store import Store
from stvs_tui.county.app import CountyApp
from stvs_tui.county.screens.excel_import import ExcelScreen


@pytest.fixture
def tui_store(tmp_path: Path) -> Store:
    store = make_store(tmp_path / "data" / "stvs.sqlite", volunteers=30)
    yield store
    store.close()


def summary(app: CountyApp) -> str:
    return str(app.screen.query_one("#xl-summary", Label).content)


async def test_preview_lists_the_problems_and_imports_only_after_confirming(tui_store: Store, tmp_path: Path) -> None:
    path = write_book(tmp_path / "v.xlsx", [HEADERS, ["张三", resident_id(), "13800001234", "", ""],
                                            ["李四", "410522", "13800001235", "", ""]])
    before = volunteer_count(tui_store)
    app = county_app(tui_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ExcelScreen)
        app.screen.query_one("#xl-file", Input).value = str(path)
        await pilot.press("enter")
        await settle(pilot)
        problems = app.screen.query_one("#xl-problems", DataTable)
        assert problems.row_count == 1 and "证件号码" in str(problems.get_row_at(0)[2])
        await pilot.press("ctrl+s")  # refused: the file has a problem
        await settle(pilot)
        assert volunteer_count(tui_store) == before and not app.screen.is_modal
        await pilot.press("ctrl+v")
        await settle(pilot)
        assert app.screen.is_modal
        await pilot.press("enter")  # the default answer is 否
        await settle(pilot)
        assert volunteer_count(tui_store) == before
        await pilot.press("ctrl+v")
        await settle(pilot)
        await pilot.press("left", "enter")
        await settle(pilot)
        assert volunteer_count(tui_store) == before + 1
        assert "新增1" in summary(app)


async def test_an_unreadable_file_shows_its_reason(tui_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "v.xlsx"
    path.write_text("plain text")
    app = county_app(tui_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.action_go("excel")
        await settle(pilot)
        app.screen.query_one("#xl-file", Input).value = str(path)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "不是Excel工作簿" in summary(app)


async def test_export_writes_the_chosen_form_to_the_folder(tui_store: Store, tmp_path: Path) -> None:
    app = county_app(tui_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.action_go("excel")
        await settle(pilot)
        app.screen.query_one("#xl-folder", Input).value = str(tmp_path)
        app.screen.query_one("#xl-kind", Select).value = "monthly"
        app.screen.query_one("#xl-month", Input).value = "2025-02"
        await pilot.press("ctrl+o")
        await settle(pilot)
    assert [p.name for p in tmp_path.glob("*.xlsx")] == ["月报表-2025-02.xlsx"]
