"""User text is never read as markup: a work unit or notes with `[b]x[/b]` and `[/]` show as typed."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select
from test_tui_fixtures import county_app, make_store, screen_text, wait_until
from textual.widgets import Input

from schema.models import Volunteer
from stvs_tui.county.screens.volunteers import VolunteerScreen, VolunteersScreen

WORK_UNIT = "[b]x[/b]农科所"
NOTES = "备注[/]结束"


async def test_work_unit_and_notes_show_as_typed_in_the_list_and_the_record(tmp_path: Path) -> None:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=20)
    with store.session() as session:
        volunteer = session.exec(select(Volunteer)).first()
        volunteer.work_unit, volunteer.notes = WORK_UNIT, NOTES
        session.add(volunteer)
        session.commit()
        name = volunteer.name
    app = county_app(store)
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await wait_until(pilot, lambda: app.screen.__class__.__name__ == "DashboardScreen")
            await pilot.press("f3")
            await wait_until(pilot, lambda: isinstance(app.screen, VolunteersScreen) and app.screen.table.row_count > 0)
            screen = app.screen
            shown = screen.table.pages_shown
            screen.query_one("#filter", Input).value = name
            await wait_until(pilot, lambda: screen.table.pages_shown > shown and screen.table.row_count > 0)
            await wait_until(pilot, lambda: WORK_UNIT in screen_text(app))
            screen.table.focus()
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, VolunteerScreen) and app.screen.detail is not None)
            await wait_until(pilot, lambda: WORK_UNIT in screen_text(app) and NOTES in screen_text(app))
    finally:
        store.close()
