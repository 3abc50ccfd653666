"""Focus and keys: the form and the setup screen take the clerk to the field to fix; Enter in a list's filter
opens the first match; the pick dialog marks with Space and reaches its search with `/`; 结项 has a key of its
own; ⚑ is explained where it appears."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_tui_fixtures import COUNTY, county_app, make_store, screen_text, settle, type_text, wait_until
from textual.widgets import Input, Label, Select

from schema.models import Team
from schema.store import Store
from stvs_tui.actions import ACTIONS
from stvs_tui.county.screens.setup import SetupScreen
from stvs_tui.county.screens.teams import TeamsScreen
from stvs_tui.county.screens.volunteers import VolunteerScreen, VolunteersScreen
from stvs_tui.widgets.form import FormModal
from stvs_tui.widgets.picker import MARK, PickerModal
from stvs_tui.widgets.virtual_table import VirtualTable


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=30)
    yield store
    store.close()


async def test_a_refused_save_focuses_the_first_field_marked_red(store: Store) -> None:
    app = county_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, VolunteersScreen))
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: isinstance(app.screen, FormModal))
        form = app.screen
        await type_text(pilot, "王芳")
        form.query_one("#f-notes").focus()  # the clerk is at the bottom of the form
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert app.focused is form.query_one("#f-id_number", Input)  # name is fine; the ID number is first


async def test_enter_in_the_filter_opens_the_first_match(store: Store) -> None:
    app = county_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, VolunteersScreen) and app.screen.table.row_count > 0)
        screen = app.screen
        first_name = str(screen.table.get_row_at(0)[0])
        await pilot.press("slash")
        await type_text(pilot, first_name)
        await wait_until(pilot, lambda: screen.table.row_count > 0
                         and str(screen.table.get_row_at(0)[0]) == first_name)
        expected = screen.table.current_key
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, VolunteerScreen))
        assert app.screen.volunteer_id == expected


async def test_the_pick_dialog_marks_with_space_and_searches_after_slash(store: Store) -> None:
    app = county_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        with store.session() as session:
            empty = Team(county_code=COUNTY, name="新队", tier="grassroots", host_kind="township")
            session.add(empty)
            session.commit()
            empty_id = empty.id
        app.open_area(TeamsScreen(select_team=empty_id))
        await wait_until(pilot, lambda: isinstance(app.screen, TeamsScreen) and app.screen.detail is not None
                         and app.screen.detail.team.id == empty_id)
        await pilot.press("ctrl+a")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerModal) and app.screen.table.row_count > 0)
        picker = app.screen
        await settle(pilot)
        first = picker.table.current_key
        await pilot.press("space")
        assert picker.marked == [first]
        await pilot.press("slash")
        assert app.focused is picker.query_one("#picker-filter", Input)
        await type_text(pilot, "王")
        assert picker.query_one("#picker-filter", Input).value == "王"


async def test_complete_has_its_own_key_and_ctrl_o_means_export_only() -> None:
    complete = next(spec for spec in ACTIONS if spec.id == "activity.complete")
    assert "ctrl+o" not in complete.keys.split(",")
    # In the county app (the city app is another app, with its own keys: its Ctrl+O opens the resolved tab).
    assert all(spec.action.startswith(("export", "certificate")) for spec in ACTIONS
               if "ctrl+o" in spec.keys.split(",") and not spec.scope.startswith("city"))


async def test_setup_ctrl_s_focuses_the_missing_field(tmp_path: Path) -> None:
    store = make_store(tmp_path / "new.sqlite", county=None)
    try:
        app = county_app(store)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, SetupScreen))
            await settle(pilot)
            app.screen.query_one("#clerk", Input).focus()
            await pilot.press("ctrl+s")  # no county chosen
            await settle(pilot)
            assert app.focused is app.screen.query_one("#county", Select)
            app.screen.query_one("#county", Select).value = "410522"
            await pilot.press("ctrl+s")  # no clerk's name
            await settle(pilot)
            assert app.focused is app.screen.query_one("#clerk", Input)
    finally:
        store.close()


async def test_the_flag_is_explained_beside_the_team_tree(store: Store) -> None:
    app = county_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, TeamsScreen) and app.screen.teams)
        await settle(pilot)
        text = screen_text(app)
        assert "⚑" in text and "本月无活动" in text.replace("\n", "")


def test_no_chinese_in_the_english_catalogue_and_no_english_placeholders_in_chinese() -> None:
    """English UI strings hold no Chinese except names of places and forms quoted as such; Chinese date hints
    are Chinese."""
    import re

    from stvs_tui.i18n import CATALOGUE

    cjk = re.compile(r"[\u4e00-\u9fff]")
    for key in ("dash.san_zhang", "dash.col_san_zhang", "vol.tag_san_zhang", "help.dashboard"):
        assert not cjk.search(CATALOGUE[key][1]), key
    for key in ("form.date_hint", "form.datetime_hint"):
        assert "YYYY" not in CATALOGUE[key][0], key


async def test_the_pick_dialog_is_the_virtual_list_over_every_match(store: Store) -> None:
    """The pick dialog behaves like the other lists: the whole roster (Ctrl+End reaches the last volunteer, the
    count says how many), Space toggles a mark (and again takes it back), marks survive a search, `/` reaches
    the search box and Enter comes back to the list."""
    app = county_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        with store.session() as session:
            empty = Team(county_code=COUNTY, name="空队", tier="grassroots", host_kind="township")
            session.add(empty)
            session.commit()
            empty_id = empty.id
            names = dict(session.execute(sa.text("SELECT id, name FROM volunteer WHERE deleted = 0")).all())
        app.open_area(TeamsScreen(select_team=empty_id))
        await wait_until(pilot, lambda: isinstance(app.screen, TeamsScreen) and app.screen.detail is not None
                         and app.screen.detail.team.id == empty_id)
        await pilot.press("ctrl+a")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerModal) and app.screen.table.total is not None)
        picker = app.screen
        table = picker.table
        assert isinstance(table, VirtualTable) and table.total == len(names) > table.page_height
        first = table.current_key
        await pilot.press("space")
        assert picker.marked == [first] and str(table.get_row(first)[0]) == MARK
        await pilot.press("space")
        assert picker.marked == [] and str(table.get_row(first)[0]) == " "
        await pilot.press("space")
        await pilot.press("ctrl+end")
        await wait_until(pilot, lambda: table.cursor_row == len(names) - 1 and table.current_key is not None)
        last = table.current_key
        assert last != first and str(table.get_row(last)[1]) == names[last]
        assert f"{len(names)}" in str(picker.query_one("#picker-count", Label).render())
        await pilot.press("space")
        await pilot.press("slash")
        assert app.focused is picker.query_one("#picker-filter", Input)
        await type_text(pilot, names[last])
        await wait_until(pilot, lambda: table.total is not None and table.total >= 1
                         and table.current_key is not None and names[table.current_key] == names[last])
        await pilot.press("enter")
        assert app.focused is table
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, TeamsScreen) and app.screen.detail is not None
                         and len(app.screen.detail.members) == 2)
        assert {m.volunteer_id for m in app.screen.detail.members} == {first, last}
