"""Shared helpers of the TUI tests: deterministic stores (fixed seed, fixed "today") and settling the app.

Named test_tui_* so it sits with the TUI tests; it holds no tests itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sync_fixtures import copy_store_file, store_template
from textual.app import App
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from schema.store import Store, open_store
from stvs_tui.county.app import CountyApp
from stvs_tui.demo import generate, store_demo

TODAY = date(2025, 3, 15)
SVG_CELL_WIDTH = 12.2  # Rich's screenshots: a cell is 0.61 of the 20 px font
COUNTY = "410522"


def make_store(path: Path, *, volunteers: int = 0, county: str | None = COUNTY, seed: int = 1) -> Store:
    """A county store with the region list; demo data of ``volunteers`` people when asked. A copy of a template
    made once per test process for each (volunteers, county, seed): generating and migrating every time is slow."""

    def fill(store: Store) -> None:
        if county:
            store.set_settings(county_code=county, clerk="王芳")
        if volunteers:
            store_demo(store, generate(county or COUNTY, "安阳县", volunteers, seed, TODAY))

    copy_store_file(store_template(("tui", volunteers, county, seed), fill), path)
    return open_store(path, daily_backup=False)


def county_app(store: Store, lang: str = "zh") -> CountyApp:
    return CountyApp(store, lang=lang, today=TODAY)


async def workers_ended(app: App[object]) -> None:
    """Until every worker of ``app`` has ended. A worker cancelled meanwhile has ended too: a newer load of the same
    group cancels an older one whenever it comes (``WorkerManager.wait_for_complete`` raises then, so a test that
    waited with it failed or passed with the machine's load). A worker that failed still fails the test."""
    ended = await asyncio.gather(*(worker.wait() for worker in list(app.workers)), return_exceptions=True)
    for outcome in ended:
        if isinstance(outcome, BaseException) and not isinstance(outcome, WorkerCancelled):
            raise outcome


async def settle(pilot: Pilot[None], rounds: int = 3) -> None:
    """Let workers finish and their results reach the widgets: at least ``rounds`` rounds, then more while a
    result has started another worker (a state to wait for, however slow the machine)."""
    await pilot.pause()
    for round_no in range(200):
        await workers_ended(pilot.app)
        await pilot.pause()  # results reach their widgets here, and may start workers of their own
        if round_no + 1 >= rounds and all(worker.is_finished for worker in pilot.app.workers):
            break


async def type_text(pilot: Pilot[None], text: str) -> None:
    """Type into the focused widget character by character, as the clerk (or the input method) does."""
    for char in text:
        await pilot.press(char)


def screen_text(app: CountyApp) -> str:
    """The screen as plain text lines (from the SVG screenshot), to look for what the clerk reads."""
    import html
    import re

    from rich.cells import cell_len

    svg = app.export_screenshot()
    rows: dict[float, list[tuple[float, str]]] = {}
    for match in re.finditer(r'<text[^>]*?x="([\d.]+)"[^>]*?y="([\d.]+)"[^>]*>(.*?)</text>', svg, re.S):
        body = html.unescape(re.sub(r"<[^>]+>", "", match[3])).replace("\xa0", " ")
        rows.setdefault(float(match[2]), []).append((float(match[1]), body))
    lines = []
    for y in sorted(rows):
        line = ""
        for x, body in sorted(rows[y]):
            # Runs of blanks are not drawn as text: each piece starts at its own column (x is in cells).
            line += " " * max(0, round(x / SVG_CELL_WIDTH) - cell_len(line)) + body
        lines.append(line)
    return "\n".join(lines)


async def open_volunteer_list(pilot: Pilot[None]) -> None:
    """F3 from where the app is, then wait for the volunteer list to be up and its rows shown."""
    from stvs_tui.county.screens.volunteers import VolunteersScreen

    await settle(pilot)
    await pilot.press("f3")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, VolunteersScreen))
    await settle(pilot)


async def open_volunteer_edit_form(pilot: Pilot[None], volunteer_id: str) -> None:
    """From the volunteer list, a volunteer's card, then its edit form (Ctrl+E), each up and filled."""
    from stvs_tui.county.screens.volunteers import VolunteerScreen
    from stvs_tui.widgets.form import FormModal

    pilot.app.screen.open_key(volunteer_id)  # type: ignore[attr-defined]
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, VolunteerScreen))
    await settle(pilot)
    await pilot.press("ctrl+e")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, FormModal))
    await settle(pilot)


async def wait_until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 300.0) -> None:
    """Poll until ``condition()`` holds (workers finish at their own pace on a loaded machine). The timeout
    only turns a state that never comes into a failure with a message; it is long, never a wait."""
    deadline = time.monotonic() + timeout
    # The condition, and then the screen it left on top composed and mounted: a test that waited for
    # ``isinstance(app.screen, X)`` goes on to query X's widgets, which exist only once X is mounted (on a
    # busy machine the screen is on the stack well before that).
    while not (condition() and pilot.app.screen.is_mounted):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {condition} "
                                 f"(screens: {pilot.app.screen_stack})")
        await pilot.pause(0.02)
    # A mounted screen focuses its first field with ``focus()``, which lands a message later: let the app's
    # queue run dry once, so the next key goes to that field (an Enter on a dialog not yet focused did nothing).
    await pilot.pause()
