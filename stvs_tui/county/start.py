"""Starting the county TUI as ``stvs-tui`` does, its first screen before SQLAlchemy and the models are imported.

A store that needs nothing done to it (``schema.storefile.plain_open``: at the current schema revision, with its
county, node keys and region list) is checked and read with sqlite3 alone; the dashboard's figures are read the same
way in a thread while Textual, the app and the dashboard are imported (SQLite's work runs without Python's lock),
and the store itself opens in a thread once the first screen shows (``stvs_tui.county.opening``). Any other store
(new, to migrate, damaged, unreadable) is opened first by ``open_store``, which makes it, migrates it or says in
one line what is wrong, as before.
"""

from __future__ import annotations

import gc
import threading
from concurrent.futures import Future
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from schema.store import Store
    from schema.storefile import PlainStore
    from stvs_tui.county.app import FirstFigures
    from stvs_tui.paths import AppPaths


def read_first_figures(store: Store | PlainStore, today: date) -> FirstFigures | None:
    """Start reading the dashboard's figures for ``today``'s period with sqlite3 in a thread (the slow ones as kept
    by the last reading when the store has not changed since, ``stvs_tui.dashboard_figures``); None for a store
    with no county yet (the first-run setup comes first). The words in them are in the language in use: set it
    first (``stvs_tui.i18n.use_language``)."""
    county = store.county_code
    if not county or store.path is None:
        return None
    from schema.figures import period_of

    path, period = store.path, period_of(today)
    future: Future[Any] = Future()

    def work() -> None:
        try:
            from schema.storefile import connect_plain
            from stvs_tui.dashboard_figures import keep_figures, plain_dashboard_data, plain_slow_figures

            db = connect_plain(path)
            try:
                slow, key = plain_slow_figures(db, county, period)  # kept ones when nothing changed since
                future.set_result(plain_dashboard_data(db, county, period, slow))
                if key is not None:  # read afresh: kept for the next start
                    keep_figures(db, key, slow)
            finally:
                db.close()
        except BaseException as exc:  # handed to the dashboard's worker, which reports it as any failed query
            future.set_exception(exc)

    threading.Thread(target=work, name="first-figures", daemon=True).start()
    return county, period, future


def keep_figures_for_next_start(path: Path | None, county: str, today: date) -> None:
    """At quit: when the store has changed since the dashboard's slow figures were kept (the clerk's edits, a sync),
    read and keep them, so that the next start shows them at once (``stvs_tui.dashboard_figures``). ~2 ms when
    nothing changed; a reading (~130 ms of CPU at 20k volunteers) otherwise. Never fails the quit."""
    if path is None or not county:
        return
    import sqlite3

    from schema.figures import period_of
    from schema.storefile import connect_plain
    from stvs_tui.dashboard_figures import keep_figures, plain_slow_figures

    try:
        db = connect_plain(path)
    except sqlite3.Error:
        return
    try:
        slow, key = plain_slow_figures(db, county, period_of(today))
        if key is not None:
            keep_figures(db, key, slow)
    except sqlite3.Error:  # a store the app could not use either: the next start says what is wrong
        pass
    finally:
        db.close()


def _language(store: Store | PlainStore, flag: str | None) -> None:
    """Use the language the app will show (the figures read in a thread hold words)."""
    from stvs_tui.i18n import LANGUAGES, use_language

    saved = store.setting("language")  # stvs_tui.county.app.startup_language, without importing the app yet
    use_language(flag or (saved if saved in LANGUAGES else "zh"))


def run_county_app(paths: AppPaths, lang: str | None) -> None:
    """Open the store at ``paths.store`` and run the county TUI on it."""
    from schema.storefile import plain_open

    plain = plain_open(paths.store)  # raises, in one line, what open_store would about the file itself
    if plain is None:
        _run_on_open_store(paths, lang)
        return
    from stvs_tui.county.opening import StoreOpening

    # No cyclic collection until the first screen shows its figures and the store is open: the imports and the
    # first frame make some 105,000 objects, nearly all alive to the end, and the collector's passes over them
    # took 8–14 % of the main thread's CPU time to the first screen (20k store, A/B runs in turn). Then
    # CountyApp.settle_heap collects once, freezes what is alive and lets the collector run again.
    gc.disable()
    _language(plain, lang)
    first = read_first_figures(plain, date.today())

    def open_it() -> Store:
        from schema.store import open_store

        store = open_store(plain.path)
        import stvs_tui.queries  # noqa: F401  (what the lists read with, here rather than on a keypress)
        import sync.status  # noqa: F401  (the dashboard's refresh)

        return store

    opening = StoreOpening(plain, open_it)
    try:
        from stvs_tui.county.app import county_app_for  # Textual, the app, the dashboard: beside the reading

        app = county_app_for(paths, lang, store=opening, first_figures=first)
        app.run()
    finally:
        opening.close()
    if app.store_error is not None:
        raise app.store_error
    keep_figures_for_next_start(plain.path, app.county_code, app.today)


def _run_on_open_store(paths: AppPaths, lang: str | None) -> None:
    from schema.store import open_store

    store = open_store(paths.store)  # first: a folder or file it cannot use is named in one line
    try:
        _language(store, lang)
        first = read_first_figures(store, date.today())
        from stvs_tui.county.app import county_app_for  # Textual and the screens, while the figures are read

        app = county_app_for(paths, lang, store=store, first_figures=first)
    except BaseException:
        store.close()
        raise
    try:
        app.run()
    finally:
        store.close()
    keep_figures_for_next_start(store.path, app.county_code, app.today)
