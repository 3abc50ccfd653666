"""Exports from the TUI's lists (issue 5): Ctrl+O asks for the file, writes it in a worker, tells the path."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import select
from test_tui_fixtures import county_app, make_store, wait_until, workers_ended
from textual.widgets import Checkbox, Input

from schema.models import Volunteer
from schema.store import Store
from schema.validators import mask_id_number
from stvs_tui.county.app import CountyApp
from stvs_tui.county.screens.exports import ExportModal
from stvs_tui.county.screens.volunteers import VolunteerScreen, VolunteersScreen
from stvs_tui.widgets.confirm import ConfirmModal


@pytest.fixture
def demo_store(tmp_path: Path) -> Store:
    store = make_store(tmp_path / "data" / "stvs.sqlite", volunteers=40)
    yield store
    store.close()


def _notices(app: CountyApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def _export(pilot, app: CountyApp, target: Path, *, unmasked: bool = False) -> None:
    """Press Ctrl+O, type the file, tick "unmasked" when asked, Ctrl+S; wait for the written notice."""
    await pilot.press("ctrl+o")
    await wait_until(pilot, lambda: isinstance(app.screen, ExportModal))
    modal = app.screen
    assert Path(modal.query_one("#export-path", Input).value).parent == app.store.path.parent
    modal.query_one("#export-path", Input).value = str(target)
    if unmasked:
        modal.query_one("#export-unmasked", Checkbox).value = True
    await pilot.press("ctrl+s")
    if unmasked:
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.click("#yes")
    await wait_until(pilot, lambda: any(str(target) in n for n in _notices(app)))
    assert target.exists()


async def test_each_list_exports_its_workbook_with_the_path_told(demo_store: Store, tmp_path: Path) -> None:
    app = county_app(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "DashboardScreen")
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, VolunteersScreen) and app.screen.table.row_count > 0)
        await _export(pilot, app, tmp_path / "roster.xlsx")
        await _export(pilot, app, tmp_path / "roster-full.xlsx", unmasked=True)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, VolunteerScreen) and app.screen.detail is not None)
        await _export(pilot, app, tmp_path / "certificate.xlsx")
        for key, name in (("f4", "teams.xlsx"), ("f5", "activities.xlsx"), ("f7", "monthly.xlsx")):
            await pilot.press(key)
            await wait_until(pilot, lambda: app.screen.is_current and not isinstance(app.screen, VolunteerScreen))
            await pilot.pause()
            await _export(pilot, app, tmp_path / name)

    masked = [str(c.value) for row in load_workbook(tmp_path / "roster.xlsx").active.iter_rows() for c in row]
    full = [str(c.value) for row in load_workbook(tmp_path / "roster-full.xlsx").active.iter_rows() for c in row]
    with demo_store.session() as session:
        number = session.exec(select(Volunteer.id_number)).first()
    assert number in full and number not in masked and mask_id_number(number) in masked
    assert "科技志愿服务队基本情况表" in str(load_workbook(tmp_path / "teams.xlsx").active["A2"].value)


async def test_unmasked_roster_needs_a_yes_and_no_writes_nothing(demo_store: Store, tmp_path: Path) -> None:
    app = county_app(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "DashboardScreen")
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, VolunteersScreen) and app.screen.table.row_count > 0)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportModal))
        app.screen.query_one("#export-path", Input).value = str(tmp_path / "full.xlsx")
        app.screen.query_one("#export-unmasked", Checkbox).value = True
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("enter")  # the default answer is 否
        await wait_until(pilot, lambda: isinstance(app.screen, VolunteersScreen))
        await workers_ended(app)
    assert not (tmp_path / "full.xlsx").exists()
