"""What every bench prints besides its figures: when, where and under which load it ran, as it goes.

(A module here must not be called ``sync.py``, ``schema.py`` or ``stvs_tui.py``: the bench folder comes first on
``sys.path`` when a bench runs, and such a file would shadow the package of that name.)
"""

from __future__ import annotations

import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def say(*parts: Any) -> None:
    """Print now (a bench's output is read while it runs, often through a pipe that would buffer it)."""
    print(*parts, flush=True)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` shows them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> str:
    """CPU model, cores and memory of this machine, in one line."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        total_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {total_kb / 1024 / 1024:.0f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    return f"{model}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}"


class Run:
    """The header and footer of one bench run: start time, machine and load; elapsed time and load at the end."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = time.perf_counter()
        say(f"{name}: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; load average {load_average()}")

    def step(self, text: str) -> None:
        """A line of progress, with the time since the start and the load now."""
        say(f"  [{time.perf_counter() - self.started:6.1f} s, load {load_average()}] {text}")

    def done(self) -> None:
        say(f"{self.name}: done in {time.perf_counter() - self.started:.1f} s; load average {load_average()}")
