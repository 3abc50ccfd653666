"""The county app's database workers: a result superseded by a newer load of its group never reaches the screen,
even when it was already on its way to the UI thread as the newer load started (the race that sent a restored
team's cursor to the first team under load). The interleaving is forced with events, not waited for."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from test_tui_fixtures import county_app, make_store, settle, wait_until, workers_ended
from textual.worker import WorkerCancelled


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


async def test_settle_waits_past_a_worker_cancelled_by_a_newer_load_of_its_group(tmp_path: Path) -> None:
    """A newer load of a group cancels the older one whenever it comes: waiting for the workers must take a
    cancelled worker as ended (Textual's ``wait_for_complete`` raises WorkerCancelled: a test waiting with it
    failed only when the cancel fell inside its wait, i.e. on a loaded machine)."""
    store = make_store(tmp_path / "stvs.sqlite", volunteers=5)
    app = county_app(store)
    gate = threading.Event()
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            first = app.run_worker(lambda: gate.wait(timeout=300), thread=True, group="probe", exclusive=True)
            await wait_until(pilot, lambda: first.is_running)
            app.run_worker(lambda: None, thread=True, group="probe", exclusive=True)  # cancels the first
            gate.set()
            with pytest.raises(WorkerCancelled):
                await app.workers.wait_for_complete()  # what Textual's own wait does with it
            await workers_ended(app)  # ends: the cancelled worker has ended too
            assert first.is_cancelled and all(worker.is_finished for worker in app.workers)
    finally:
        store.close()
