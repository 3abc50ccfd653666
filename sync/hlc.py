"""Hybrid logical clock: wall milliseconds, a counter and the node id, sortable as text.

Each sync anchors the clock on the server's time (``observe``), so a laptop whose clock is years off still
stamps its changes after everything the server has seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, order=True)
class Timestamp:
    wall_ms: int
    counter: int
    node: str

    def __str__(self) -> str:
        return f"{self.wall_ms:013d}-{self.counter:05d}-{self.node}"

    @classmethod
    def parse(cls, text: str) -> Timestamp:
        wall, counter, node = text.split("-", 2)
        return cls(int(wall), int(counter), node)


class HybridClock:
    """Never goes backwards; ``tick`` for a local event, ``observe`` for a time heard from elsewhere."""

    def __init__(self, node: str, last: Timestamp | None = None, now: Callable[[], int] = wall_ms) -> None:
        self.node = node
        self.last = last or Timestamp(0, 0, node)
        self._now = now

    def tick(self) -> Timestamp:
        physical = self._now()
        if physical > self.last.wall_ms:
            self.last = Timestamp(physical, 0, self.node)
        else:
            self.last = Timestamp(self.last.wall_ms, self.last.counter + 1, self.node)
        return self.last

    def tick_texts(self, count: int) -> list[str]:
        """``str(self.tick())`` ``count`` times, reading the physical clock once: the stamps of one push
        batch, made together (a ``Timestamp`` and its text per change cost more than the rest of a tick)."""
        if count <= 0:
            return []
        first = self.tick()
        wall, counter, node = first.wall_ms, first.counter, self.node
        head, tail = f"{wall:013d}-", f"-{node}"  # the text of a Timestamp, its constant parts made once
        stamps = [str(first)] + [f"{head}{number:05d}{tail}" for number in range(counter + 1, counter + count)]
        self.last = Timestamp(wall, counter + count - 1, node)
        return stamps

    def observe(self, remote_ms: int, remote_counter: int = 0) -> Timestamp:
        """Move past a remote time (the server's): max of local, remote and the physical clock."""
        physical = self._now()
        wall = max(self.last.wall_ms, remote_ms, physical)
        if wall == self.last.wall_ms == remote_ms:
            counter = max(self.last.counter, remote_counter) + 1
        elif wall == self.last.wall_ms:
            counter = self.last.counter + 1
        elif wall == remote_ms:
            counter = remote_counter + 1
        else:
            counter = 0
        self.last = Timestamp(wall, counter, self.node)
        return self.last
