"""Benchmark: the volunteers list of the county TUI at 1k and 100k volunteers.

Prints, for each size, the time to first paint (from opening the list to its first page painted) and the
latency of a filter keystroke (from the new filter text to its first page painted; median and worst over
name, mobile and ID fragments), and the ratio to a plain Textual DataTable loaded with every row in the same
run (first paint after loading all rows; a filter re-fills it with the matching rows). Targets (issue 4):
first paint ≤ 0.5 s and filter ≤ 100 ms at 100k volunteers.

    python bench/tui_volunteers.py [--sizes 1000,100000]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

from rich.console import Console
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input

from schema.regions import install_regions, read_regions
from schema.store import Store, open_store
from schema.validators import mask_id_number
from stvs_tui.county.app import CountyApp
from stvs_tui.county.screens.volunteers import VolunteersScreen
from stvs_tui.demo import generate, store_demo

TODAY = date(2025, 3, 15)
SIZE = (120, 40)


def fill_store(path: Path, volunteers: int) -> list[tuple[str, str, str]]:
    """Write a store of ``volunteers`` demo people; return (name, mobile, ID) of three of them to look for."""
    store = open_store(path, daily_backup=False)
    with store.session() as session:
        install_regions(session, read_regions())
    store.set_settings(county_code="410522", clerk="王芳")
    data = generate("410522", "安阳县", volunteers, seed=7, today=TODAY, with_activities=False)
    store_demo(store, data)
    store.close()
    people = data.volunteers[volunteers // 3], data.volunteers[volunteers // 2], data.volunteers[-volunteers // 5]
    return [(p["name"], p["mobile"], p["id_number"]) for p in people]


def build_store(folder: Path, volunteers: int) -> tuple[Store, list[tuple[str, str, str]]]:
    """The store is written by another process, so the measured one starts like the app: its own heap only."""
    path = folder / "stvs.sqlite"
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        people = pool.submit(fill_store, path, volunteers).result()
    return open_store(path, daily_backup=False), people


def fragments(people: list[tuple[str, str, str]]) -> list[str]:
    """What a clerk types: a full name, the end of a mobile, a piece of an ID number, a surname."""
    name, mobile, id_number = people[0]
    return [name, people[1][1][-5:], people[2][2][-8:-2], name[0], mobile[3:8], id_number[6:10]]


def paint(app: App[None], expected: str) -> bool:
    """Render the whole screen as a terminal would receive it; True when ``expected`` is on it.

    The test driver is headless and never paints on its own, so the bench paints: the compositor renders
    every visible line and Rich writes the frame, which is the work a real terminal refresh does.
    """
    console = Console(width=SIZE[0], height=SIZE[1], file=io.StringIO(), force_terminal=True, record=True,
                      color_system="truecolor", legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return expected in console.export_text()


async def wait_for(app: App[None], ready: Callable[[], bool], expected: Callable[[], str]) -> float:
    """Wait until ``ready()``, then until a painted frame shows ``expected()``; return when it was painted."""
    while not ready():
        await asyncio.sleep(0.0005)
    while True:
        await asyncio.sleep(0.001)  # let the pending refresh and layout run
        if paint(app, expected()):
            return time.perf_counter()


def first_cell(table: DataTable[object]) -> str:
    return str(table.get_row_at(0)[0]) if table.row_count else ""


async def measure_ours(store: Store, people: list[tuple[str, str, str]]) -> tuple[float, list[float]]:
    app = CountyApp(store, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        started = time.perf_counter()
        app.action_go("volunteers")
        painted = await wait_for(app, lambda: isinstance(app.screen, VolunteersScreen) and app.screen.last_shown_at > 0,
                                 lambda: first_cell(app.screen.table))
        first_paint = painted - started
        screen = app.screen
        assert isinstance(screen, VolunteersScreen)
        await app.workers.wait_for_complete()
        # The clerk presses / first: the focus move (and the restyle it costs) happens before any keystroke.
        screen.action_focus_filter()
        await pilot.pause()
        filter_input = screen.query_one("#filter", Input)
        latencies = []
        for text in fragments(people):
            shown = screen.table.pages_shown
            started = time.perf_counter()
            filter_input.value = text
            painted = await wait_for(app, lambda s=shown: screen.table.pages_shown > s,
                                     lambda: first_cell(screen.table))
            latencies.append(painted - started)
            await app.workers.wait_for_complete()
            assert screen.table.row_count >= 1, text
    return first_paint, latencies


class PlainTableApp(App[None]):
    """The baseline: every volunteer loaded into one DataTable; a filter re-fills it with the matches."""

    def __init__(self, rows: list[tuple[str, ...]]) -> None:
        super().__init__()
        self.all_rows = rows

    def compose(self) -> ComposeResult:
        yield Input(id="filter")
        yield DataTable(id="table")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("name", "sex", "id", "mobile", "unit", "tags", "stvs")
        table.add_rows(self.all_rows)

    def apply_filter(self, text: str) -> None:
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows([row for row in self.all_rows if text in row[0] or text in row[3] or text in row[2]])


def load_all_rows(store: Store) -> list[tuple[str, ...]]:
    with store.engine.connect() as connection:
        result = connection.exec_driver_sql(
            "SELECT name, sex, id_number, mobile, work_unit, talent_tags, stvs_status FROM volunteer "
            "WHERE deleted = 0 ORDER BY rowid DESC")
        return [(r[0], r[1], mask_id_number(r[2]), r[3], r[4], r[5], r[6]) for r in result]


async def measure_plain(store: Store, people: list[tuple[str, str, str]]) -> tuple[float, list[float]]:
    started = time.perf_counter()
    app = PlainTableApp(load_all_rows(store))
    async with app.run_test(size=SIZE):
        table = app.query_one(DataTable)
        first_paint = await wait_for(app, lambda: table.row_count > 0, lambda: first_cell(table)) - started
        latencies = []
        for text in fragments(people)[:3]:
            started = time.perf_counter()
            app.apply_filter(text)
            latencies.append(await wait_for(app, lambda: True, lambda: first_cell(table)) - started)
    return first_paint, latencies


def report(size: int, ours: tuple[float, list[float]], plain: tuple[float, list[float]]) -> None:
    paint, filters = ours
    plain_paint, plain_filters = plain
    median, worst = statistics.median(filters), max(filters)
    plain_median = statistics.median(plain_filters)
    print(f"{size:>7} volunteers | first paint {paint * 1000:8.1f} ms (plain DataTable {plain_paint * 1000:9.1f} ms, "
          f"ratio {paint / plain_paint:.3f}) | filter median {median * 1000:6.1f} ms, worst {worst * 1000:6.1f} ms "
          f"(plain {plain_median * 1000:8.1f} ms, ratio {median / plain_median:.3f})")
    print("          each filter (ms): " + ", ".join(f"{latency * 1000:.1f}" for latency in filters))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,100000", help="comma-separated numbers of volunteers")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    print("targets at 100k: first paint <= 500 ms, filter <= 100 ms")
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            store, people = build_store(Path(folder), size)
            try:
                ours = asyncio.run(measure_ours(store, people))
                plain = asyncio.run(measure_plain(store, people))
            finally:
                store.close()
            report(size, ours, plain)


if __name__ == "__main__":
    main()
