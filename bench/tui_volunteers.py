"""Benchmark: the volunteers list of the county TUI at 1k and 100k volunteers, driven with Textual's pilot.

Prints, for each size: the time to first paint (from opening the list to its first rows painted); the jump
to the last row (Ctrl+End, until the last row is painted); a sort change (Ctrl+S on a column, until the first
rows of the new order are painted; ascending, descending, and Ctrl+End in that order); the latency of a filter
keystroke (from the new filter text to its first rows painted; median and worst over name, mobile and ID
fragments); and how many rows the table holds after each step. Each step in wall-clock time and in the CPU
time the process spent on it (all its threads): on a shared machine the wall clock mostly measures the
queue for a core, the CPU time what the list costs. Each against a plain Textual DataTable loaded with every
row in the same run (its first paint after loading all rows, its own cursor jump and in-memory sort, a filter
re-filling it with the matching rows) up to ``--plain-max`` volunteers (1000), and above that against the
bare SQL of the same windows on a plain sqlite3 connection (the floor: no UI, no thread, no paint).
Targets (issues 4 and 12) at 100k volunteers: first paint ≤ 0.5 s, jump to the last row ≤ 100 ms, sort
change ≤ 300 ms, filter ≤ 100 ms, only the rows around the screen held. Prints as it goes, with the load
average it ran under.

The stores are written once (by another process) and kept in bench/out/ (``--fresh`` writes them again);
each run measures a copy.

    python bench/tui_volunteers.py [--sizes 1000,100000] [--fresh]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import multiprocessing
import os
import shutil
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
from stvs_tui.widgets.virtual_table import VirtualTable

TODAY = date(2025, 3, 15)
SIZE = (120, 40)
OUT = Path(__file__).resolve().parent / "out"
SEED = 7


def say(text: str) -> None:
    print(text, flush=True)


def load() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


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


def build_store(folder: Path, volunteers: int, fresh: bool = False) -> tuple[Store, list[tuple[str, str, str]]]:
    """A copy, in ``folder``, of the kept store of ``volunteers`` people (written first when there is none, or
    with ``fresh``). It is written by another process, so the measured one starts like the app: its own heap
    only."""
    kept = OUT / f"tui-volunteers-{volunteers}-seed{SEED}"
    if fresh or not (kept / "people.json").exists():
        shutil.rmtree(kept, ignore_errors=True)
        kept.mkdir(parents=True)
        started = time.perf_counter()
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            people = pool.submit(fill_store, kept / "stvs.sqlite", volunteers).result()
        (kept / "people.json").write_text(json.dumps(people, ensure_ascii=False), encoding="utf-8")
        say(f"{volunteers} volunteers written to {kept} in {time.perf_counter() - started:.1f} s ({load()}); "
            "kept for the next runs")
    people = [tuple(p) for p in json.loads((kept / "people.json").read_text(encoding="utf-8"))]
    shutil.copyfile(kept / "stvs.sqlite", folder / "stvs.sqlite")
    return open_store(folder / "stvs.sqlite", daily_backup=False), people  # type: ignore[return-value]


def fragments(people: list[tuple[str, str, str]]) -> list[str]:
    """What a clerk types: a full name, the end of a mobile, the visible end of an ID number, a surname, the
    middle of a mobile, the visible start of an ID number (the hidden digits find nobody, by design)."""
    name, mobile, id_number = people[0]
    return [name, people[1][1][-5:], people[2][2][-4:], name[0], mobile[3:8], id_number[:6]]


def paint(app: App[None], expected: str) -> bool:
    """Render the whole screen as a terminal would receive it; True when ``expected`` is on it.

    The test driver is headless and never paints on its own, so the bench paints: the compositor renders
    every visible line and Rich writes the frame, which is the work a real terminal refresh does.
    """
    console = Console(width=SIZE[0], height=SIZE[1], file=io.StringIO(), force_terminal=True, record=True,
                      color_system="truecolor", legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return expected in console.export_text()


async def wait_for(app: App[None], ready: Callable[[], bool], expected: Callable[[], str],
                   give_up: float = 60.0) -> float:
    """Wait until ``ready()``, then until a painted frame shows ``expected()``; return when it was painted
    (NaN, said, when it is not there after ``give_up`` seconds: a bench that never ends reports nothing)."""
    deadline = time.perf_counter() + give_up
    while not ready():
        await asyncio.sleep(0.0005)
        if time.perf_counter() > deadline:
            say(f"    NOT READY after {give_up:.0f} s")
            return float("nan")
    while True:
        await asyncio.sleep(0.001)  # let the pending refresh and layout run
        if paint(app, expected()):
            return time.perf_counter()
        if time.perf_counter() > deadline:
            say(f"    {expected()!r} NOT PAINTED after {give_up:.0f} s")
            return float("nan")


def first_cell(table: DataTable[object] | VirtualTable) -> str:
    if isinstance(table, VirtualTable):
        if table.total == 0:
            return ""
        return str(table.get_row_at(0)[0]) if 0 in table.rows else "\0"
    return str(table.get_row_at(0)[0]) if table.row_count else ""


def cell(table: VirtualTable, row: int, column: int = 3) -> str:
    """A cell of a held row as painted (the mobile by default: nearly unique on a screen)."""
    return str(table.get_row_at(row)[column]) if row in table.rows else "\0"


async def measure_ours(store: Store, people: list[tuple[str, str, str]]) -> dict[str, object]:
    figures: dict[str, object] = {}
    app = CountyApp(store, today=TODAY, freeze_heap=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        started, cpu = time.perf_counter(), time.process_time()
        app.action_go("volunteers")
        painted = await wait_for(app, lambda: isinstance(app.screen, VolunteersScreen) and app.screen.last_shown_at > 0,
                                 lambda: first_cell(app.screen.table))
        figures["first paint"] = [painted - started]
        figures["first paint cpu"] = [time.process_time() - cpu]
        screen = app.screen
        assert isinstance(screen, VolunteersScreen)
        table = screen.table
        await app.workers.wait_for_complete()
        await pilot.pause()
        await wait_for(app, lambda: table.total is not None, lambda: "")
        say(f"    first paint {figures['first paint'][0] * 1000:.1f} ms (CPU {figures['first paint cpu'][0] * 1000:.1f} ms); "
            f"{table.total} rows, held {table.held}")
        figures["held"] = [table.held]

        async def step(name: str, act: Callable[[], None], ready: Callable[[], bool], row: Callable[[], int]) -> float:
            generation = table.generation
            fresh = name == "sort change"  # a new order: its rows, never the old order's, are awaited
            started, cpu = time.perf_counter(), time.process_time()
            act()
            painted = await wait_for(app, lambda: ready() and (not fresh or table.generation != generation)
                                     and row() in table.rows, lambda: cell(table, row()))
            elapsed, spent = painted - started, time.process_time() - cpu
            await app.workers.wait_for_complete()
            await pilot.pause()
            await wait_for(app, lambda: table.total is not None, lambda: "")
            figures.setdefault(name, []).append(elapsed)  # type: ignore[union-attr]
            figures.setdefault(f"{name} cpu", []).append(spent)  # type: ignore[union-attr]
            figures["held"].append(table.held)  # type: ignore[union-attr]
            say(f"    {name}: {elapsed * 1000:.1f} ms (CPU {spent * 1000:.1f} ms; held {table.held} rows, generation "
                f"{generation}->{table.generation})")
            return elapsed

        last = lambda: table.row_count - 1  # noqa: E731
        for _round in range(3):
            await step("jump to last row", table.action_last_row, lambda: table.cursor_row == table.row_count - 1, last)
            await step("jump to first row", table.action_first_row, lambda: table.cursor_row == 0, lambda: 0)
        mobile = [column.key for column in table.list_columns].index("mobile")
        name = [column.key for column in table.list_columns].index("name")
        for column in (name, mobile):
            table.cursor_column = column
            for direction in ("asc", "desc"):
                await step("sort change", screen.action_sort,
                           lambda d=direction: table.sort.direction == d and table.sort.column is not None, lambda: 0)
                await step("jump to last row", table.action_last_row,
                           lambda: table.cursor_row == table.row_count - 1, last)
            await step("sort change", screen.action_sort, lambda: table.sort.column is None, lambda: 0)
        # The clerk presses / first: the focus move (and the restyle it costs) happens before any keystroke.
        screen.action_focus_filter()
        await pilot.pause()
        filter_input = screen.query_one("#filter", Input)
        for text in fragments(people):
            shown = table.pages_shown
            started, cpu = time.perf_counter(), time.process_time()
            filter_input.value = text
            painted = await wait_for(app, lambda s=shown: table.pages_shown > s, lambda: first_cell(table))
            spent = time.process_time() - cpu
            figures.setdefault("filter", []).append(painted - started)  # type: ignore[union-attr]
            figures.setdefault("filter cpu", []).append(spent)  # type: ignore[union-attr]
            await app.workers.wait_for_complete()
            await wait_for(app, lambda: table.total is not None, lambda: "")  # the count, once typing pauses
            assert table.row_count >= 1, text
            figures["held"].append(table.held)  # type: ignore[union-attr]
            say(f"    filter {text!r}: {(painted - started) * 1000:.1f} ms (CPU {spent * 1000:.1f} ms; "
                f"{table.row_count} rows, held {table.held})")
    return figures


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
        self.keys = table.add_columns("name", "sex", "id", "mobile", "unit", "tags", "stvs")
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


async def measure_plain(store: Store, people: list[tuple[str, str, str]]) -> dict[str, object]:
    figures: dict[str, object] = {}
    started, cpu = time.perf_counter(), time.process_time()
    app = PlainTableApp(load_all_rows(store))
    async with app.run_test(size=SIZE):
        table = app.query_one(DataTable)
        figures["first paint"] = [await wait_for(app, lambda: table.row_count > 0, lambda: first_cell(table)) - started]
        figures["first paint cpu"] = [time.process_time() - cpu]
        say(f"    plain DataTable: first paint {figures['first paint'][0] * 1000:.1f} ms "  # type: ignore[index]
            f"(CPU {figures['first paint cpu'][0] * 1000:.1f} ms), holding {table.row_count} rows")  # type: ignore[index]

        def jump() -> None:
            table.move_cursor(row=table.row_count - 1, animate=False)
            table.scroll_end(animate=False, immediate=True)

        for name, act in (("jump to last row", jump), ("sort change", lambda: table.sort(app.keys[0])),
                          ("sort change", lambda: table.sort(app.keys[0], reverse=True))):
            started, cpu = time.perf_counter(), time.process_time()
            act()
            # Its cursor move or in-memory sort and the next full paint (the frame's content is not checked).
            elapsed = await wait_for(app, lambda: True, lambda: "") - started
            spent = time.process_time() - cpu
            figures.setdefault(name, []).append(elapsed)  # type: ignore[union-attr]
            figures.setdefault(f"{name} cpu", []).append(spent)  # type: ignore[union-attr]
            say(f"    plain DataTable: {name} {elapsed * 1000:.1f} ms (CPU {spent * 1000:.1f} ms)")
        latencies, spents = [], []
        for text in fragments(people)[:3]:
            started, cpu = time.perf_counter(), time.process_time()
            app.apply_filter(text)
            latencies.append(await wait_for(app, lambda: True, lambda: first_cell(table)) - started)
            spents.append(time.process_time() - cpu)
        figures["filter"], figures["filter cpu"] = latencies, spents
        say("    plain DataTable: filter " + ", ".join(f"{x * 1000:.1f}" for x in latencies) + " ms (CPU "
            + ", ".join(f"{x * 1000:.1f}" for x in spents) + " ms)")
    return figures


def measure_raw(path: Path, people: list[tuple[str, str, str]]) -> dict[str, object]:
    """The floor at sizes where a plain DataTable would take minutes to load: the same kind of SQL the list
    issues (a window of rows in the list's order), on a bare sqlite3 connection with no UI at all."""
    import sqlite3

    columns = "id, name, sex, id_number, mobile, work_unit, talent_tags, stvs_status"
    scan = "county_code || '' = '410522' AND deleted IS 0"
    indexed = "county_code = '410522' AND deleted IS 0"
    queries = {
        "first paint": [f"SELECT {columns} FROM volunteer WHERE {scan} ORDER BY rowid DESC LIMIT 66"],
        "jump to last row": [f"SELECT {columns} FROM volunteer WHERE {scan} ORDER BY rowid ASC LIMIT 100"],
        "sort change": [f"SELECT {columns} FROM volunteer WHERE {indexed} ORDER BY {c}, rowid {d} LIMIT 66"
                        for c in ("name", "mobile") for d in ("ASC", "DESC")],
        "filter": [f"SELECT {columns} FROM volunteer WHERE {scan} AND instr(name, '{people[0][0]}') > 0 "
                   "ORDER BY rowid DESC LIMIT 66"],
    }
    figures: dict[str, object] = {}
    connection = sqlite3.connect(path)
    try:
        for name, statements in queries.items():
            times, spents = [], []
            for statement in statements:
                started, cpu = time.perf_counter(), time.process_time()
                connection.execute(statement).fetchall()
                times.append(time.perf_counter() - started)
                spents.append(time.process_time() - cpu)
            figures[name], figures[f"{name} cpu"] = times, spents
            say(f"    raw SQL {name}: " + ", ".join(f"{x * 1000:.1f}" for x in times) + " ms (CPU "
                + ", ".join(f"{x * 1000:.1f}" for x in spents) + " ms)")
    finally:
        connection.close()
    return figures


TARGETS = {"first paint": 500, "jump to last row": 100, "sort change": 300, "filter": 100}
TARGET_SIZE = 100_000


def report(size: int, ours: dict[str, object], plain: dict[str, object], baseline: str) -> list[str]:
    """Print the size's summary; return its lines (the run ends by printing every size's again)."""
    lines = [f"{size:>7} volunteers ({load()}):"]
    for name, target in TARGETS.items():
        walls, cpus = ours[name], ours[f"{name} cpu"]
        base, base_cpu = plain[name], plain[f"{name} cpu"]
        median, worst = statistics.median(walls) * 1000, max(walls) * 1000  # type: ignore[type-var, arg-type]
        cpu, cpu_worst = statistics.median(cpus) * 1000, max(cpus) * 1000  # type: ignore[type-var, arg-type]
        base_median = statistics.median(base) * 1000  # type: ignore[type-var, arg-type]
        base_cpu_median = max(statistics.median(base_cpu) * 1000, 0.001)  # type: ignore[type-var, arg-type]
        if size == TARGET_SIZE:
            verdict = (f"target <= {target} ms: wall {'met' if worst <= target else 'NOT met'}, "
                       f"CPU {'met' if cpu_worst <= target else 'NOT met'}")
        else:
            verdict = f"(target <= {target} ms is for {TARGET_SIZE})"
        lines.append(f"    {name:<17} wall median {median:7.1f} ms, worst {worst:7.1f} ms; CPU median {cpu:6.1f} ms, "
                     f"worst {cpu_worst:6.1f} ms; {baseline} {base_median:8.1f} ms (CPU {base_cpu_median:7.1f} ms), "
                     f"ratio wall {median / base_median:.2f}, CPU {cpu / base_cpu_median:.2f}; {verdict}")
    held = ours["held"]
    lines.append(f"    rows held by the list: at most {max(held)} of {size} (a plain DataTable holds {size})")  # type: ignore[type-var, arg-type]
    for line in lines:
        say(line)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,100000", help="comma-separated numbers of volunteers")
    parser.add_argument("--plain-max", type=int, default=1000,
                        help="largest size measured against a plain DataTable holding every row (above it, "
                             "against the bare SQL: a DataTable of 100k rows takes minutes to load on a busy machine)")
    parser.add_argument("--fresh", action="store_true", help="write the stores again (else kept in bench/out/)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    began = time.perf_counter()
    say("targets at 100k: first paint <= 500 ms, jump to last row <= 100 ms, sort change <= 300 ms, "
        "filter <= 100 ms, only the rows around the screen held")
    say(f"start: {load()}, {os.cpu_count()} CPUs")
    summary: list[str] = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            store, people = build_store(Path(folder), size, fresh=args.fresh)
            say(f"{size} volunteers ({load()}, {time.perf_counter() - began:.0f} s into the run)")
            try:
                say("  ours:")
                ours = asyncio.run(measure_ours(store, people))
                say("  baseline:")
                if size <= args.plain_max:
                    plain, baseline = asyncio.run(measure_plain(store, people)), "plain DataTable"
                else:
                    plain, baseline = measure_raw(Path(folder) / "stvs.sqlite", people), "bare SQL"
            finally:
                store.close()
            summary += report(size, ours, plain, baseline)
    say("summary")
    for line in summary:
        say(line)
    say(f"done in {time.perf_counter() - began:.0f} s; {load()}")


if __name__ == "__main__":
    main()
