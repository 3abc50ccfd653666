"""A DataTable whose column widths are settled when its rows are added, never later by chance.

Textual's DataTable widens auto-width columns only when it is next idle, and caches every cell it paints
without the width in the cache key: a frame painted before that idle moment (common on a busy machine)
keeps its columns cut to the header's width until the table's contents change again. Measuring each row
as it is added, before anything can paint, takes the timing out.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from stvs_tui.widgets.columns import cut_text


class SteadyTable(DataTable[Text]):
    """Cells are plain text (never markup) cut with "…"; auto-width columns grow as rows are added."""

    def add_row(self, *cells: Any, height: int | None = 1, key: str | None = None,
                label: Text | str | None = None) -> RowKey:
        texts = [cut_text(cell) for cell in cells]
        row_key = super().add_row(*texts, height=height, key=key, label=label)
        for column, text in zip(self.ordered_columns, texts, strict=False):
            if column.auto_width:
                column.content_width = max(column.content_width, text.cell_len)
        return row_key

    def update_cell(self, row_key: RowKey | str, column_key: Any, value: Any, *,
                    update_width: bool = False) -> None:
        super().update_cell(row_key, column_key, cut_text(value), update_width=update_width)
