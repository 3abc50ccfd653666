"""The county app's database workers: a result superseded by a newer load of its group never reaches the screen,
even when it was already on its way to the UI thread as the newer load started (the race that sent a restored
team's cursor to the first team under load). The interleaving is forced with events, not waited for."""

from __future__ import annotations

import threading
from pathlib import Path

from test_tui_fixtures import county_app, make_store, settle, wait_until


async def test_a_result_superseded_on_its_way_to_the_ui_thread_is_dropped(tmp_path: Path) -> None:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=5)
    app = county_app(store)
    shown: list[str] = []
    release_a, a_queued = threading.Event(), threading.Event()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        original = app.call_from_thread

        def call_from_thread(callback, *args, **kwargs):  # type: ignore[no-untyped-def]
            if threading.current_thread().name != "MainThread" and args and args[-1] == "A":
                a_queued.set()  # A's result is on its way to the UI thread (queued just after this)
            return original(callback, *args, **kwargs)

        app.call_from_thread = call_from_thread  # type: ignore[method-assign]

        def load(name: str, gate: threading.Event | None = None) -> None:
            def job(_session: object) -> str:
                if gate is not None:
                    gate.wait(timeout=300)
                return name
            app.run_db(screen, job, shown.append, group="tree")

        def after_write(_result: str) -> None:
            # On the UI thread, as a save's callback: let A finish and send its result, then start B, which
            # supersedes A; A's result is then queued behind this callback and arrives after B started.
            release_a.set()
            assert a_queued.wait(timeout=300)
            load("B")

        load("A", release_a)
        app.run_db(screen, lambda _session: "W", after_write, group="write", exclusive=False)
        await wait_until(pilot, lambda: "B" in shown)
        await settle(pilot)
        assert shown == ["B"]
    store.close()
