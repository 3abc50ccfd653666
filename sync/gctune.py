"""Garbage-collector settings for bulk sync work.

A 5,000-change batch allocates some 50,000 dicts and strings that live until the batch is answered.
With Python's default thresholds (a young collection every 700 allocations) the cyclic collector ran its
passes over them, and its full passes over every module, route and table object, many times per batch:
on both sides about a third of the push time. Those objects are freed by reference counting anyway
(records are trees, not cycles), so collecting less often loses nothing; frozen start-up objects are
never scanned again.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 5_000  # allocations between young collections (Python's default: 700)


def tune_for_server() -> None:
    """For a server process, once its app is built: start-up objects out of the collector's sight."""
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 20, 20)


def freeze_settled_heap() -> None:
    """For a long-running app once its working set is loaded: collect once, then freeze what is alive, so
    full collections no longer walk it (the county TUI: they landed inside filter keystrokes)."""
    gc.collect()
    gc.freeze()


@contextmanager
def bulk_allocation() -> Iterator[None]:
    """Fewer collections while a push runs in a client process; the previous settings come back after.

    A heap the process had frozen already (``freeze_settled_heap``) stays frozen: ``gc.unfreeze`` cannot
    tell whose objects it releases, so it runs only when this push made the freeze.
    """
    previous = gc.get_threshold()
    frozen_before = gc.get_freeze_count() > 0
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        if not frozen_before:
            gc.unfreeze()


_pause_lock = threading.Lock()
_pauses = 0  # server threads inside paused_collection now
_enabled_before = True  # whether the collector ran before the first of them paused it
_paused_at = 0.0  # when the collector last ran, or the pause began
MAX_PAUSE_SECONDS = 10.0  # pushes that overlap without a break for longer still get a collection


@contextmanager
def paused_collection() -> Iterator[None]:
    """No cyclic collection while the server merges a push batch.

    A batch makes some 100,000 short-lived objects, all freed by reference counting; the collector's
    passes over them (two full ones per 100k records) were about 6 % of the server's push time. Batches
    on several threads may overlap: the collector resumes when the last of them ends, and only if it was
    running when the first began; should batches keep overlapping for more than ``MAX_PAUSE_SECONDS``, one
    collection runs when a batch ends, so cyclic garbage cannot pile up under steady load.
    """
    global _pauses, _enabled_before, _paused_at
    with _pause_lock:
        if _pauses == 0:
            _enabled_before = gc.isenabled()
            _paused_at = time.monotonic()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        collect = False
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0:
                if _enabled_before:
                    gc.enable()
            elif _enabled_before and time.monotonic() - _paused_at > MAX_PAUSE_SECONDS:
                collect, _paused_at = True, time.monotonic()
        if collect:
            gc.collect()
