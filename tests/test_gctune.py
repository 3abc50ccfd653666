"""The collector settings of sync and of the county TUI work together: a push must not undo the TUI's
frozen heap (its full collections made filter keystrokes stall)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_tui_fixtures import make_store, screen_text, wait_until

from stvs_tui.county.app import CountyApp, county_app_for
from stvs_tui.paths import AppPaths
from sync.gctune import bulk_allocation, freeze_settled_heap


@pytest.fixture(autouse=True)
def restore_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_a_push_keeps_a_heap_the_app_had_frozen() -> None:
    freeze_settled_heap()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    with bulk_allocation():
        pass
    assert gc.get_freeze_count() >= frozen


def test_a_push_in_a_plain_process_leaves_nothing_frozen_and_restores_thresholds() -> None:
    gc.unfreeze()
    threshold = gc.get_threshold()
    with bulk_allocation():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == threshold


def test_the_collector_resumes_when_the_last_overlapping_push_ends() -> None:
    from sync.gctune import paused_collection

    assert gc.isenabled()
    first, second = paused_collection(), paused_collection()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    from sync.gctune import paused_collection

    gc.disable()
    try:
        with paused_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_pushes_that_keep_overlapping_still_get_a_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    import sync.gctune as gctune

    monkeypatch.setattr(gctune, "MAX_PAUSE_SECONDS", 0.0)
    collections: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.callbacks.append(seen)
    try:
        first, second = gctune.paused_collection(), gctune.paused_collection()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)  # the other push still runs: the pause has lasted "too long"
        assert collections == [2] and not gc.isenabled()
        second.__exit__(None, None, None)
        assert gc.isenabled()
    finally:
        gc.callbacks.remove(seen)



async def test_the_county_tui_as_stvs_tui_makes_it_freezes_its_heap_once_its_data_shows(tmp_path: Path) -> None:
    """``stvs-tui`` (county_app_for) freezes the heap once the first screen shows its data; an app made
    directly (tests, which run hundreds in one process) does not, as each would freeze the last one's garbage."""
    store = make_store(tmp_path / "data" / "stvs.sqlite", volunteers=20)
    try:
        gc.unfreeze()
        plain = CountyApp(store)
        async with plain.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: "志愿者：20 人" in screen_text(plain))
            await pilot.pause()
        assert gc.get_freeze_count() == 0
        app = county_app_for(AppPaths.resolve(tmp_path / "data"), "zh", store=store)
        assert not app.heap_settled
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: app.heap_settled and gc.get_freeze_count() > 0)
            assert "志愿者：20 人" in screen_text(app)
    finally:
        store.close()
