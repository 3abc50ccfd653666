"""Small charts drawn as text (Textual's Sparkline stretches to its width and colours by value; these are one
cell per value, the same at every terminal size, and read the same in a snapshot)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text

BLOCKS = "▁▂▃▄▅▆▇█"
EMPTY = "·"  # a month with nothing, unlike the smallest bar


def spark(values: Sequence[float], style: str = "") -> Text:
    """One block per value, its height against the largest value; a zero is a dot."""
    top = max(values, default=0) or 1
    text = Text()
    for value in values:
        if value <= 0:
            text.append(EMPTY, style="dim")
        else:
            # Eighths of the largest, rounded up: the largest is a full block, any value above zero at least ▁.
            text.append(BLOCKS[max(0, min(len(BLOCKS), math.ceil(value / top * len(BLOCKS))) - 1)], style=style)
    return text


def split_bar(good: int, bad: int, width: int, good_style: str = "green", bad_style: str = "red") -> Text:
    """A bar of ``width`` cells: the share of ``good`` in full blocks, the rest shaded."""
    total = good + bad
    filled = round(width * good / total) if total else 0
    text = Text("█" * filled, style=good_style)
    text.append("░" * (width - filled), style=bad_style if total else "dim")
    return text
