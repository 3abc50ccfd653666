"""The volunteer list behaves like one list over the whole query (issue 12): PageDown moves a screenful,
Ctrl+End reaches the last row, Ctrl+G goes to a row, Ctrl+S sorts the cursor's column both ways (checked
against SQL), the filter keeps the sort, and the table holds only the rows around its screen.

Every wait is for a state (the rows on screen held, the workers done), never for a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_tui_fixtures import COUNTY, TODAY, county_app, make_store, settle, wait_until
from textual.pilot import Pilot

from schema.store import Store, open_store
from stvs_tui.actions import actions_for
from stvs_tui.county.screens.volunteers import VolunteersScreen
from stvs_tui.demo import generate, store_demo
from stvs_tui.i18n import t, use_language
from stvs_tui.widgets.goto import GotoRowModal
from stvs_tui.widgets.virtual_table import VirtualTable

VOLUNTEERS = 3000
SIZE = (120, 30)


@pytest.fixture(scope="module")
def big_store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of a few thousand volunteers, made once for the module (people only: no activities)."""
    path = tmp_path_factory.mktemp("virtual") / "stvs.sqlite"
    make_store(path).close()
    store = open_store(path, daily_backup=False)
    store_demo(store, generate(COUNTY, "安阳县", VOLUNTEERS, seed=5, today=TODAY, with_activities=False))
    store.close()
    return path


@pytest.fixture
def big_store(big_store_path: Path) -> Iterator[Store]:
    store = open_store(big_store_path, daily_backup=False)
    yield store
    store.close()


def sql_ids(store: Store, order: str, where: str = "", params: tuple[object, ...] = (), limit: int = -1,
            offset: int = 0) -> list[str]:
    """The volunteer ids in ``order`` straight from SQL: the oracle the list is checked against."""
    with store.engine.connect() as connection:
        result = connection.exec_driver_sql(
            f"SELECT id FROM volunteer WHERE deleted = 0 {where} ORDER BY {order} LIMIT ? OFFSET ?",
            (*params, limit, offset))
        return [row[0] for row in result]


def shown(table: VirtualTable) -> range:
    return range(table.top_row, min(table.row_count, table.top_row + table.page_height))


def screen_keys(table: VirtualTable) -> list[str | None]:
    return [table.key_at(row) for row in shown(table)]


async def steady(pilot: Pilot[None], table: VirtualTable) -> None:
    """Workers done, the count in, and every row on the screen held."""
    await settle(pilot)
    await wait_until(pilot, lambda: table.total is not None and all(row in table.rows for row in shown(table)))
    await settle(pilot)


async def open_list(pilot: Pilot[None]) -> tuple[VolunteersScreen, VirtualTable]:
    app = pilot.app
    await settle(pilot)
    await pilot.press("f3")
    await wait_until(pilot, lambda: isinstance(app.screen, VolunteersScreen) and app.screen.table.row_count > 0)
    screen = app.screen
    assert isinstance(screen, VolunteersScreen)
    await steady(pilot, screen.table)
    return screen, screen.table


def bounded(table: VirtualTable) -> bool:
    """Only the screen and about a screen on each side are held."""
    return table.held <= 3 * table.page_height + 2


async def test_page_down_moves_a_screenful_and_ctrl_end_reaches_the_last_row(big_store: Store) -> None:
    newest_first = sql_ids(big_store, "rowid DESC")
    app = county_app(big_store, "zh")
    async with app.run_test(size=SIZE) as pilot:
        _screen, table = await open_list(pilot)
        assert table.total == VOLUNTEERS and table.virtual_size.height == VOLUNTEERS + 1  # the scrollbar spans all
        height = table.page_height
        assert screen_keys(table) == newest_first[:height]
        await pilot.press("pagedown")
        await steady(pilot, table)
        assert table.cursor_row == height and table.top_row == height
        assert screen_keys(table) == newest_first[height:2 * height]
        await pilot.press("pagedown", "pagedown")
        await steady(pilot, table)
        assert table.cursor_row == 3 * height
        await pilot.press("pageup")
        await steady(pilot, table)
        assert table.cursor_row == 2 * height
        await pilot.press("ctrl+end")
        await steady(pilot, table)
        assert table.cursor_row == VOLUNTEERS - 1
        assert table.current_key == newest_first[-1]
        assert screen_keys(table) == newest_first[-height:]
        assert bounded(table)
        await pilot.press("ctrl+home")
        await steady(pilot, table)
        assert table.cursor_row == 0 and table.current_key == newest_first[0]
        assert bounded(table)


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_go_to_row(big_store: Store, lang: str) -> None:
    newest_first = sql_ids(big_store, "rowid DESC")
    app = county_app(big_store, lang)
    async with app.run_test(size=SIZE) as pilot:
        screen, table = await open_list(pilot)
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: isinstance(app.screen, GotoRowModal))
        assert t("list.goto_prompt", rows=VOLUNTEERS) in str(app.screen.query_one("#goto-question").render())
        for char in "1234":
            await pilot.press(char)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is screen)
        await steady(pilot, table)
        assert table.cursor_row == 1233 and table.current_key == newest_first[1233]
        assert screen_keys(table) == newest_first[1233:1233 + table.page_height]
        assert bounded(table)
        # Past the end: the last row. Esc leaves the list where it is.
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: isinstance(app.screen, GotoRowModal))
        for char in "99999":
            await pilot.press(char)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is screen)
        await steady(pilot, table)
        assert table.current_key == newest_first[-1]
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: isinstance(app.screen, GotoRowModal))
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)
        assert table.cursor_row == VOLUNTEERS - 1


def header(table: VirtualTable) -> str:
    return table.render_line(0).text


async def test_sort_by_a_column_both_ways_as_sql_orders_it(big_store: Store) -> None:
    by_mobile = sql_ids(big_store, "mobile, rowid")
    newest_first = sql_ids(big_store, "rowid DESC")
    app = county_app(big_store, "zh")
    async with app.run_test(size=SIZE) as pilot:
        screen, table = await open_list(pilot)
        height = table.page_height
        mobile = [column.key for column in table.list_columns].index("mobile")
        await pilot.press(*["right"] * mobile)
        await pilot.press("ctrl+s")
        await steady(pilot, table)
        assert table.sort.column == "mobile" and table.sort.direction == "asc"
        assert "▲" in header(table) and "▼" not in header(table)
        assert screen_keys(table) == by_mobile[:height]
        # The end of an ascending order is read from the end: the same rows as SQL's.
        await pilot.press("ctrl+end")
        await steady(pilot, table)
        assert screen_keys(table) == by_mobile[-height:]
        await pilot.press("ctrl+s")
        await steady(pilot, table)
        assert "▼" in header(table) and "▲" not in header(table)
        assert table.cursor_row == 0
        assert screen_keys(table) == list(reversed(by_mobile))[:height]
        await pilot.press("pagedown")
        await steady(pilot, table)
        assert screen_keys(table) == list(reversed(by_mobile))[height:2 * height]
        # A third time: the list's own order (newest first), no mark.
        await pilot.press("ctrl+s")
        await steady(pilot, table)
        assert table.sort.column is None and "▲" not in header(table) and "▼" not in header(table)
        assert screen_keys(table) == newest_first[:height]
        # The ID column sorts by what the list shows of the number, never by the hidden digits.
        await pilot.press("left")
        await pilot.press("ctrl+s")
        await steady(pilot, table)
        assert table.sort.column == "id_number"
        visible = "substr(id_number, 1, 6) || substr(id_number, -4)"
        assert screen_keys(table) == sql_ids(big_store, f"{visible}, rowid", limit=height)
        assert bounded(table)
        assert screen.generation == table.generation


async def test_filter_keeps_the_sort(big_store: Store) -> None:
    app = county_app(big_store, "zh")
    async with app.run_test(size=SIZE) as pilot:
        screen, table = await open_list(pilot)
        await pilot.press("ctrl+s", "ctrl+s")  # the name column (the cursor's first): descending
        await steady(pilot, table)
        assert table.sort.column == "name" and table.sort.direction == "desc"
        await pilot.press("slash")
        screen.query_one("#filter").value = "王"
        await steady(pilot, table)
        expected = sql_ids(big_store, "name DESC, rowid DESC", "AND instr(name, ?) > 0", ("王",))
        assert table.total == len(expected)
        assert screen_keys(table) == expected[:table.page_height]
        assert "▼" in header(table)
        screen.table.focus()
        await pilot.press("ctrl+end")
        await steady(pilot, table)
        assert table.current_key == expected[-1]


async def test_the_teams_column_says_it_cannot_be_sorted(big_store: Store) -> None:
    app = county_app(big_store, "en")
    async with app.run_test(size=SIZE) as pilot:
        _screen, table = await open_list(pilot)
        await pilot.press(*["right"] * len(table.list_columns))
        assert table.column_key_at(table.cursor_column) == "teams"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert table.sort.column is None
        assert any(n.message == t("list.not_sortable") for n in app._notifications)


def test_go_to_row_and_sort_are_in_the_palette_and_help_in_both_languages() -> None:
    ids = {spec.id: spec for spec in actions_for(["list"])}
    assert ids["list.goto_row"].keys == "ctrl+g" and ids["list.goto_row"].palette
    assert ids["list.sort"].keys == "ctrl+s" and ids["list.sort"].palette
    for lang in ("zh", "en"):
        use_language(lang)
        try:
            for key in ("action.goto_row", "action.sort", "help.volunteers"):
                assert t(key) and t(key) != key
            assert "Ctrl+G" in t("help.volunteers") and "Ctrl+S" in t("help.volunteers")
        finally:
            use_language("zh")
