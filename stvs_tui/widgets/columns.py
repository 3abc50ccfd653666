"""Column widths of the lists: declared per column and fitted to the table's width by one fixed rule.

A width is never measured from whichever rows happened to be drawn first (Textual's DataTable measures
auto-width columns when it is idle, and a frame painted before that is cached at the header's width), so
the same data at the same terminal size always looks the same. A value longer than its column ends in "…".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text

from schema.enums import LabeledEnum

# Below its minimum a column still keeps one character and the "…" that says it is cut.
FLOOR = 3
HEADER_ROOM = 4


@dataclass(frozen=True)
class ListColumn:
    """A list column: its header, the width it takes when there is room, the width it shrinks to first, and
    whether it may shrink below that (a mobile or an ID number cut short is worse than a sideways scroll)."""

    label: str
    width: int
    min_width: int
    key: str | None = None
    fixed: bool = False

    def floor(self) -> int:
        return self.min_width if self.fixed else min(self.min_width, FLOOR)


def text_column(label: str, width: int, min_width: int | None = None, key: str | None = None) -> ListColumn:
    """A column of free text: ``width`` cells when there is room (never less than its header)."""
    return ListColumn(label, max(width, cell_len(label)), min(min_width or width, width), key)


def fixed_column(label: str, width: int, key: str | None = None) -> ListColumn:
    """A column whose values all have one length (mobile, masked ID number): never shrunk."""
    return ListColumn(label, max(width, cell_len(label)), width, key, fixed=True)


def enum_column(label: str, labels: Iterable[str], min_width: int = 6, key: str | None = None) -> ListColumn:
    """A column of enumeration labels: as wide as the widest label of the language shown."""
    widest = max((cell_len(text) for text in labels), default=1)
    # Narrow labels (男, 女) keep room for a short header too.
    return ListColumn(label, max(widest, cell_len(label)), max(min(widest, min_width), HEADER_ROOM), key)


def enum_labels(enum: type[LabeledEnum], lang: str) -> list[str]:
    return [member.label(lang) for member in enum]


def fit_widths(columns: Sequence[ListColumn], available: int, padding: int) -> list[int]:
    """Each column's width so that the row fits in ``available`` cells where it can.

    Cells are taken one at a time from the column with the most room above its minimum (the rightmost of
    equals), so wide free-text columns give way first; when every column is at its minimum, the same again
    down to each column's floor. Only when fixed columns alone overflow does the table scroll sideways.
    """
    widths = [column.width for column in columns]
    excess = sum(widths) + 2 * padding * len(columns) - available
    for floor in ([column.min_width for column in columns], [column.floor() for column in columns]):
        while excess > 0:
            index = max(range(len(columns)), key=lambda i: (widths[i] - floor[i], i))
            if widths[index] <= floor[index]:
                break
            widths[index] -= 1
            excess -= 1
    return widths


def cut_text(value: Text | str | int) -> Text:
    """A cell as text that ends in "…" when its column is too narrow (user text is never read as markup)."""
    text = value.copy() if isinstance(value, Text) else Text(str(value))
    text.no_wrap = True
    text.overflow = "ellipsis"
    text.end = ""
    return text
