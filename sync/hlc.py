"""Hybrid logical clock: wall milliseconds, a counter and the node id, sortable as text.

Each sync anchors the clock on the server's time (``observe``), so a laptop whose clock is years off still
stamps its changes after everything the server has seen. The clock is also bounded by the server's time
(``anchor``): a device clock more than ``MAX_CLOCK_DRIFT_MS`` off the server's is not used (stamps follow the
server's time instead, and the clerk is told), and a stamp left that far in the future by a clock that was
wrong and has been put right is brought back, so the device does not stamp in the future for ever.
The server clamps incoming stamps by the same bound (``clamp_stamp``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

# How far a device's clock, or a stamp it sends, may be from the server's time before it is not believed.
MAX_CLOCK_DRIFT_MS = 5 * 60 * 1000


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


@dataclass(frozen=True)
class ClockCheck:
    """What ``HybridClock.anchor`` found: the device clock minus the server's, and the stamp it brought back."""

    skew_ms: int
    drift_ms: int
    clamped_from_ms: int | None = None

    @property
    def off(self) -> bool:
        return abs(self.skew_ms) > self.drift_ms


def clamp_stamp(text: str, now_ms: int, drift_ms: int = MAX_CLOCK_DRIFT_MS) -> str:
    """A stamp as received, or the server's time in its place when it runs ahead of ``now_ms`` by more than
    ``drift_ms`` (compared as text: a stamp begins with its 13-digit wall time)."""
    if text[:13] <= f"{now_ms + drift_ms:013d}":
        return text
    node = text.split("-", 2)[2] if text.count("-") >= 2 else ""
    return str(Timestamp(now_ms, 0, node))


class HybridClock:
    """Never goes backwards; ``tick`` for a local event, ``observe`` for a time heard from elsewhere."""

    def __init__(self, node: str, last: Timestamp | None = None, now: Callable[[], int] = wall_ms) -> None:
        self.node = node
        self.last = last or Timestamp(0, 0, node)
        self._physical = now
        self.offset_ms = 0  # added to the device clock once it is found off the server's by more than the bound

    def _now(self) -> int:
        return self._physical() + self.offset_ms

    def anchor(self, server_ms: int, drift_ms: int = MAX_CLOCK_DRIFT_MS) -> ClockCheck:
        """Bound this clock by the server's time: past ``drift_ms`` the device clock is replaced by the server's
        time (plus the time passed since), and a last stamp beyond it is brought back to the server's time."""
        skew = self._physical() - server_ms
        self.offset_ms = -skew if abs(skew) > drift_ms else 0
        clamped_from = None
        if self.last.wall_ms > server_ms + drift_ms:
            clamped_from = self.last.wall_ms
            self.last = Timestamp(server_ms, 0, self.node)
        return ClockCheck(skew_ms=skew, drift_ms=drift_ms, clamped_from_ms=clamped_from)

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
