"""List column widths: declared, fitted to the terminal by one rule, and never left to timing.

The volunteer list used to open now and then with every column cut to its header's width and no "…"
(Textual measures auto-width columns when idle and caches what it painted before). These tests open the
list with the CPU kept busy beside it and read the cells the table actually paints.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_tui_fixtures import county_app, make_store, settle, wait_until

from schema.store import Store
from stvs_tui.county.screens.volunteers import VolunteersScreen
from stvs_tui.widgets.columns import ListColumn, fit_widths, text_column
from stvs_tui.widgets.table import SteadyTable
from stvs_tui.widgets.virtual_table import VirtualTable

BUSY_LOOP = "while True: pass"


@pytest.fixture
def busy_cpu() -> Iterator[None]:
    """Every core kept busy by another process, and a busy thread contending for this one's interpreter."""
    spinners = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(os.cpu_count() or 2)]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


@pytest.fixture
def list_store(tmp_path: Path) -> Iterator[Store]:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=120)
    yield store
    store.close()


def painted_cells(table: VirtualTable, line: int) -> list[str]:
    """The cells of one painted line of the table, as the clerk sees them (trailing padding stripped)."""
    strip = table.render_line(line)
    cells, x = [], 0
    for column_width in table.widths:
        width = column_width + 2 * table.cell_padding
        cells.append(strip.crop(x, x + width).text.strip())
        x += width
    return cells


def shows_whole_or_marked_cut(shown: str, full: str) -> bool:
    if shown == full.strip():
        return True
    return shown.endswith("…") and full.startswith(shown[:-1].rstrip())


async def open_volunteer_list(store: Store, size: tuple[int, int]) -> list[int]:
    """Open the volunteer list; check every painted cell is whole or ends in "…"; return the widths."""
    app = county_app(store, "zh")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, VolunteersScreen) and app.screen.table.row_count > 0)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, VolunteersScreen)
        table = screen.table
        declared = screen.columns()
        widths = list(table.widths)
        assert widths == fit_widths(declared, table.scrollable_content_region.width, table.cell_padding)
        headers = painted_cells(table, 0)
        assert all(shows_whole_or_marked_cut(shown, column.label)
                   for shown, column in zip(headers, declared, strict=True)), headers
        await wait_until(pilot, lambda: all(row in table.rows for row in range(min(table.row_count, table.page_height))))
        for row in range(min(table.row_count, table.page_height)):
            data = [str(cell) for cell in table.get_row_at(row)]
            shown = painted_cells(table, row + 1)
            assert all(shows_whole_or_marked_cut(s, d) for s, d in zip(shown, data, strict=True)), (shown, data)
        return widths


async def test_volunteer_list_widths_never_depend_on_timing(busy_cpu: None, list_store: Store) -> None:
    """With the CPU busy beside it the list paints the declared widths, every cell whole or ending in "…"."""
    await open_volunteer_list(list_store, (80, 24))


@pytest.mark.slow
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_volunteer_list_widths_same_every_time_under_load(busy_cpu: None, list_store: Store,
                                                                 size: tuple[int, int]) -> None:
    assert len({tuple(await open_volunteer_list(list_store, size)) for _attempt in range(5)}) == 1


async def test_volunteer_list_fits_80_columns_with_every_cut_marked(list_store: Store) -> None:
    app = county_app(list_store, "en")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, VolunteersScreen) and app.screen.table.row_count > 0)
        await settle(pilot)
        table = app.screen.query_one(VirtualTable)
        row_width = sum(width + 2 * table.cell_padding for width in table.widths)
        assert row_width <= table.scrollable_content_region.width
        assert any(cell.endswith("…") for cell in painted_cells(table, 1))


async def test_steady_table_measures_rows_as_they_are_added() -> None:
    """An auto-width column is as wide as its widest cell straight after add_row, before any idle moment."""
    from textual.app import App, ComposeResult

    class OneTable(App[None]):
        def compose(self) -> ComposeResult:
            yield SteadyTable()

    app = OneTable()
    async with app.run_test():
        table = app.query_one(SteadyTable)
        table.add_column("姓名")
        table.add_row("王秀英")
        table.add_row("阿依古丽·买买提")
        assert table.ordered_columns[0].content_width == len("阿依古丽·买买提") * 2 - 1
        table.add_row("[b]x[/b]")
        assert table.get_row_at(2)[0].plain == "[b]x[/b]"  # user text stays as typed


async def test_steady_table_sizes_itself_as_textuals_own_measuring_does() -> None:
    """SteadyTable skips Textual's measuring of every new row when idle (add_row has measured them): the widths
    and the table's size come out the same as a DataTable's measuring them, for plain, wide, styled, empty,
    multi-line and numeric cells, with columns of a fixed width, labelled rows and rows of automatic height."""
    from rich.text import Text
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    from stvs_tui.widgets.columns import cut_text

    rows = [("王秀英", 12, Text("bold", style="bold"), "", 3.5), ("阿依古丽·买买提", "x" * 30, "two\nlines", "韩刚", 0),
            ("[b]x[/b]", "", "ok", "a\u2028bc", -1)]

    class Tables(App[None]):
        def compose(self) -> ComposeResult:
            yield SteadyTable(id="steady")
            yield DataTable(id="textual")

    for labelled, height, fixed in ((False, 1, None), (True, 1, None), (False, None, None), (False, 1, 6)):
        app = Tables()
        async with app.run_test(size=(200, 40)) as pilot:
            tables = [app.query_one("#steady", SteadyTable), app.query_one("#textual", DataTable)]
            for table in tables:
                for key in ("a", "b", "c", "d", "e"):
                    table.add_column(key, key=key, width=fixed if key == "b" else None)
                for number, row in enumerate(rows):
                    cells = row if table is tables[0] else [cut_text(cell) for cell in row]  # as SteadyTable keeps
                    table.add_row(*cells, key=str(number), height=height, label=f"第{number}行" if labelled else None)
            await settle(pilot)
            steady, textual = tables
            assert [c.content_width for c in steady.ordered_columns] == \
                [c.content_width for c in textual.ordered_columns], (labelled, height, fixed)
            assert [c.get_render_width(steady) for c in steady.ordered_columns] == \
                [c.get_render_width(textual) for c in textual.ordered_columns]
            assert steady.virtual_size == textual.virtual_size



async def test_rows_added_at_once_make_the_table_that_adding_them_one_by_one_makes() -> None:
    """``add_keyed_rows`` (the dashboard's 780 teams in one step) leaves the table as ``add_row`` for each row in
    turn does: the same rows under the same keys, widths, size, cursor and highlighted row, and the same lines
    painted; a key already there is refused as add_row refuses it."""
    from rich.text import Text
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable
    from textual.widgets.data_table import DuplicateKey

    rows = [(f"k{number}", [f"队{number}" * (number % 5 + 1), Text(f"{number}/20", style="bold red" if number % 3 else ""),
                            "[b]x[/b]" if number == 7 else str(number), "two\nlines" if number == 4 else "甲\u2028乙\t丙" if number == 9 else ""])
            for number in range(60)]
    highlighted: dict[str, list[str]] = {"one": [], "all": []}

    class Tables(App[None]):
        def compose(self) -> ComposeResult:
            for name in ("one", "all"):
                yield SteadyTable(id=name, cursor_type="row", zebra_stripes=True, fit=True)

        def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
            highlighted[event.data_table.id or ""].append(str(event.row_key.value))

    app = Tables()
    async with app.run_test(size=(100, 40)) as pilot:
        one, every = app.query_one("#one", SteadyTable), app.query_one("#all", SteadyTable)
        for table in (one, every):
            for key in ("a", "b", "c", "d"):
                table.add_column(key.upper(), key=key)
        one.add_row("已有", key="k-first")
        every.add_row("已有", key="k-first")
        for key, cells in rows:
            one.add_row(*cells, key=key)
        assert len(every.add_keyed_rows(rows)) == len(rows)
        for table in (one, every):
            table.fit_columns()
        await settle(pilot)
        assert [one.get_row_at(index) for index in range(one.row_count)] == \
            [every.get_row_at(index) for index in range(every.row_count)]
        assert list(one.rows) == list(every.rows) and every.row_count == len(rows) + 1
        assert [(c.content_width, c.width) for c in one.ordered_columns] == \
            [(c.content_width, c.width) for c in every.ordered_columns]
        assert one.virtual_size == every.virtual_size and one.cursor_coordinate == every.cursor_coordinate
        assert highlighted["one"] == highlighted["all"] == ["k-first"]
        painted = [[table.render_line(y).text for y in range(table.size.height)] for table in (one, every)]
        assert painted[0] == painted[1] and any("队5" in line for line in painted[0])
        with pytest.raises(DuplicateKey):
            every.add_keyed_rows([("k3", ["again"])])
        empty = app.query_one("#all", SteadyTable).clear()
        empty.add_keyed_rows(rows[:2])
        await settle(pilot)
        assert highlighted["all"][-1] == "k0"  # the first row of an empty table is highlighted, as by add_row

columns_strategy = st.lists(
    st.builds(lambda width, min_width, fixed: ListColumn("h", width, min(width, min_width), fixed=fixed),
              st.integers(1, 40), st.integers(1, 40), st.booleans()),
    min_size=1, max_size=10)


@given(columns_strategy, st.integers(0, 200), st.integers(0, 2))
def test_fit_widths_keeps_between_floor_and_natural_and_fits_when_it_can(
        columns: list[ListColumn], available: int, padding: int) -> None:
    widths = fit_widths(columns, available, padding)
    for column, width in zip(columns, widths, strict=True):
        assert column.floor() <= width <= column.width
        if column.fixed:
            assert width == column.width or width >= column.min_width
    natural = sum(c.width for c in columns) + 2 * padding * len(columns)
    floors = sum(c.floor() for c in columns) + 2 * padding * len(columns)
    if natural <= available:
        assert widths == [c.width for c in columns]
    elif floors <= available:
        assert sum(widths) + 2 * padding * len(columns) == available
    else:
        assert widths == [c.floor() for c in columns]
    assert fit_widths(columns, available, padding) == widths


def test_fit_widths_gives_way_in_wide_text_columns_first() -> None:
    columns = [text_column("姓名", 10, 8), text_column("工作单位", 24, 6), text_column("队伍", 12, 6)]
    assert fit_widths(columns, 42, 1) == [10, 14, 12]
    assert fit_widths(columns, 30, 1) == [10, 7, 7]  # the name gives way last
    assert fit_widths(columns, 20, 1) == [5, 5, 4]  # below the minimums, down to one character and "…"
