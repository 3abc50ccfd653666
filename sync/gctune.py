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
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 5_000  # allocations between young collections (Python's default: 700)


def tune_for_server() -> None:
    """For a server process, once its app is built: start-up objects out of the collector's sight."""
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 20, 20)


@contextmanager
def bulk_allocation() -> Iterator[None]:
    """Fewer collections while a push runs in a client process; the previous settings come back after."""
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()
