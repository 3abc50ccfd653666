"""A DataTable whose column widths are settled when its rows are added, never later by chance.

Textual's DataTable widens auto-width columns only when it is next idle, and caches every cell it paints
without the width in the cache key: a frame painted before that idle moment (common on a busy machine)
keeps its columns cut to the header's width until the table's contents change again. Measuring each row
as it is added, before anything can paint, takes the timing out.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from stvs_tui.widgets.columns import ListColumn, cut_text, fit_widths


class SteadyTable(DataTable[Text]):
    """Cells are plain text (never markup) cut with "…"; auto-width columns grow as rows are added.

    With ``fit=True`` the columns are fitted to the table's width by the lists' one rule
    (``columns.fit_widths``): the widest columns give way first and a cut cell ends in "…", so a narrow
    terminal never hides the last columns past the right edge.
    """

    # A fitted table keeps its scrollbar's gutter whether or not the bar is shown: the room the columns are
    # fitted to must not change when enough rows arrive for the bar to appear (no Resize says so).
    DEFAULT_CSS = """
    SteadyTable.-fit { scrollbar-gutter: stable; }
    """

    def __init__(self, *args: Any, fit: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fit = fit
        self.set_class(fit, "-fit")
        self._natural: dict[Any, int] = {}

    def add_row(self, *cells: Any, height: int | None = 1, key: str | None = None,
                label: Text | str | None = None) -> RowKey:
        texts = [cut_text(cell) for cell in cells]
        row_key = super().add_row(*texts, height=height, key=key, label=label)
        for column, text in zip(self.ordered_columns, texts, strict=False):
            if column.auto_width:
                column.content_width = max(column.content_width, text.cell_len)
            self._natural[column.key] = max(self._natural.get(column.key, 0), text.cell_len)
        return row_key

    def clear(self, columns: bool = False) -> SteadyTable:
        self._natural.clear()
        super().clear(columns)
        return self

    def fit_columns(self) -> None:
        """With ``fit``: each column as wide as its widest value or header, shrunk to the room there is."""
        room = self.scrollable_content_region.width
        ordered = self.ordered_columns
        if not self.fit or room <= 0 or not ordered:
            return
        natural = [max(cell_len(column.label.plain), self._natural.get(column.key, 0)) for column in ordered]
        widths = fit_widths([ListColumn(column.label.plain, width, width) for column, width in zip(ordered, natural,
                                                                                                 strict=True)],
                            room, self.cell_padding)
        for column, width in zip(ordered, widths, strict=True):
            column.auto_width = False
            column.width = width
        self.virtual_size = Size(sum(widths) + 2 * self.cell_padding * len(widths), self.virtual_size.height)
        self._clear_caches()  # cells are cached without their width
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self.fit_columns()

    def update_cell(self, row_key: RowKey | str, column_key: Any, value: Any, *,
                    update_width: bool = False) -> None:
        super().update_cell(row_key, column_key, cut_text(value), update_width=update_width)
