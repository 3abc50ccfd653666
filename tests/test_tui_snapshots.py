"""Snapshots of the county TUI's main screens, F1 help, and a form with a toast over it, in Chinese and English,
at 80×24 and 120×40 (the dashboard's charts, the footers' short words, wide characters drawn whole under a toast).

Deterministic: demo data from a fixed seed, a fixed "today" injected into the app, and no clock on screen.
Update with ``pytest tests/test_tui_snapshots.py --snapshot-update`` after checking the report.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from test_tui_fixtures import county_app, make_store, settle, type_text
from textual.pilot import Pilot
from textual.widgets import Input

from schema.store import Store

SIZES = [(80, 24), (120, 40)]
LANGS = ["zh", "en"]


@pytest.fixture
def snap_store(tmp_path: Path) -> Store:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=120)
    yield store
    store.close()


def keys(*pressed: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run(pilot: Pilot[None]) -> None:
        await settle(pilot)
        for key in pressed:
            await pilot.press(key)
            await settle(pilot)

    return run


async def form_with_toast(pilot: Pilot[None]) -> None:
    """The volunteer form, a name typed, Ctrl+S: the "fix the fields marked red" toast over the dialog."""
    pilot.app.NOTIFICATION_TIMEOUT = 3600  # the toast stays for the shot, however slow the machine
    await keys("f3", "ctrl+n")(pilot)
    await type_text(pilot, "欧阳娜娜")
    await pilot.press("ctrl+s")
    await settle(pilot)
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False  # the focused field's cursor shown, not blinking with the clock
    await settle(pilot)


SCREENS = {
    "dashboard": keys(),
    "volunteers": keys("f3"),
    "teams": keys("f4"),
    "activity": keys("f5", "enter"),
    "report": keys("f7", "pageup"),
    "help": keys("f1"),
    "form_toast": form_with_toast,
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("screen", list(SCREENS))
def test_main_screen_snapshot(snap_compare, snap_store: Store, screen: str, lang: str,  # type: ignore[no-untyped-def]
                              size: tuple[int, int]) -> None:
    assert snap_compare(county_app(snap_store, lang), terminal_size=size, run_before=SCREENS[screen])
