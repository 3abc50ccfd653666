"""Starting the county TUI as ``stvs-tui`` does: the store is opened first, then the dashboard's figures are read
in a thread while Textual and the screens are imported, so that SQLite's work (which runs without Python's lock)
overlaps the imports instead of following them. The dashboard takes the figures read so for its first showing.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from schema.store import Store
    from stvs_tui.county.app import FirstFigures
    from stvs_tui.paths import AppPaths


def read_first_figures(store: Store, today: date) -> FirstFigures | None:
    """Start reading the dashboard's figures for ``today``'s period in a thread; None for a store with no county
    yet (the first-run setup comes first)."""
    county = store.county_code
    if not county:
        return None
    from schema.rules import period_of

    period = period_of(today)
    future: Future[Any] = Future()

    def work() -> None:
        try:
            from stvs_tui.queries import dashboard_data
            from sync.status import sync_status

            status = sync_status(store)
            with store.session() as session:
                future.set_result(dashboard_data(session, county, period, status))
        except BaseException as exc:  # handed to the dashboard's worker, which reports it as any failed query
            future.set_exception(exc)

    threading.Thread(target=work, name="first-figures", daemon=True).start()
    return county, period, future.result


def run_county_app(paths: AppPaths, lang: str | None) -> None:
    """Open the store at ``paths.store`` and run the county TUI on it."""
    from schema.store import open_store

    store = open_store(paths.store)  # first: a folder or file it cannot use is named in one line
    try:
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
