"""The county store opened in a thread after the TUI's first screen has shown (``stvs_tui.county.start``).

The first screen needs only what ``schema.storefile.plain_open`` read with sqlite3 (the county, the clerk, the
language) and the dashboard's figures read the same way; the store itself (SQLAlchemy, the models, the daily
backup) opens here, beside the clerk's first look at the screen. Whatever needs it before then waits for it:
``result`` blocks until it is open (keys typed meanwhile stay queued, in order).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schema.store import Store
    from schema.storefile import PlainStore


class StoreOpening:
    """A store to open once, in a thread, when first asked to (``start``) or first needed (``result``)."""

    def __init__(self, plain: PlainStore, open_store: Callable[[], Store]) -> None:
        self.plain = plain
        self._open = open_store
        self._future: Future[Store] = Future()
        self._lock = threading.Lock()
        self._started = False
        self.waited = threading.Event()  # set once someone waited for a store that was not open yet

    def start(self, done: Callable[[Future[Store]], None] | None = None) -> None:
        """Open the store in a thread (once); ``done(future)`` runs in that thread when it is open or failed."""
        if done is not None:
            self._future.add_done_callback(done)
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._work, name="store-opening", daemon=True).start()

    def _work(self) -> None:
        try:
            store = self._open()
        except BaseException as exc:  # the app says it in one line and stops (see CountyApp.store_failed)
            self._future.set_exception(exc)
            return
        self._future.set_result(store)

    @property
    def ready(self) -> bool:
        return self._future.done()

    def result(self) -> Store:
        """The open store, waiting for it (and starting it) when it is not open yet; raises what opening raised."""
        if not self._future.done():
            self.start()
            self.waited.set()
        return self._future.result()

    def close(self) -> None:
        """Close the store once opened (waiting for an opening under way); nothing when it never started."""
        with self._lock:
            started = self._started
        if started and self._future.exception() is None:
            self._future.result().close()
