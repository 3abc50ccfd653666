"""Snapshots of the county TUI's main screens, in Chinese and English, at 80×24 and 120×40.

Deterministic: demo data from a fixed seed, a fixed "today" injected into the app, and no clock on screen.
Update with ``pytest tests/test_tui_snapshots.py --snapshot-update`` after checking the report.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from test_tui_fixtures import county_app, make_store, settle
from textual.pilot import Pilot

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


SCREENS = {
    "dashboard": keys(),
    "volunteers": keys("f3"),
    "teams": keys("f4"),
    "activity": keys("f5", "enter"),
    "report": keys("f7", "pageup"),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("screen", list(SCREENS))
def test_main_screen_snapshot(snap_compare, snap_store: Store, screen: str, lang: str,  # type: ignore[no-untyped-def]
                              size: tuple[int, int]) -> None:
    assert snap_compare(county_app(snap_store, lang), terminal_size=size, run_before=SCREENS[screen])
