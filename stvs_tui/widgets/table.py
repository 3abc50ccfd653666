"""A DataTable whose column widths are settled when its rows are added, never later by chance.

Textual's DataTable widens auto-width columns only when it is next idle, and caches every cell it paints
without the width in the cache key: a frame painted before that idle moment (common on a busy machine)
keeps its columns cut to the header's width until the table's contents change again. Measuring each row
as it is added, before anything can paint, takes the timing out. Measured so, the rows need not be measured
again when the table is next idle (Textual would: see ``_update_dimensions``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import zip_longest
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, DuplicateKey, Row, RowKey

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
        self._measure(texts)
        return row_key

    def add_keyed_rows(self, rows: Iterable[tuple[str | None, Sequence[Any]]]) -> list[RowKey]:
        """Add rows of one line each, ``(key, cells)``, at the bottom: the table comes out as it would from
        ``add_row(*cells, key=key)`` for each, in order (Textual is pinned to 8.2), but the cursor, the idle check and
        the columns' widths are settled once for all of them rather than once a row (the dashboard's 780 teams:
        Textual's own steps per row were about half of filling the table)."""
        columns = self.ordered_columns
        column_keys = [column.key for column in columns]
        widths = [0] * len(columns)
        first_row = self.row_count
        added: list[RowKey] = []
        for key, cells in rows:
            row_key = RowKey(key)
            if row_key in self._row_locations:
                raise DuplicateKey(f"The row key {row_key!r} already exists.")
            if len(cells) > len(columns):
                raise ValueError("More values provided than there are columns.")
            texts = []
            for index, cell in enumerate(cells):
                if type(cell) is str and cell.isprintable():  # cut_text and _cell_width for plain one-line text
                    texts.append(Text(cell, no_wrap=True, overflow="ellipsis", end=""))
                    width = cell_len(cell)
                else:
                    texts.append(text := cut_text(cell))
                    width = self._cell_width(text)
                if width > widths[index]:
                    widths[index] = width
            self._row_locations[row_key] = len(self.rows)
            self._data[row_key] = dict(zip_longest(column_keys, texts))
            self.rows[row_key] = Row(row_key, 1, None, False)
            self._new_rows.add(row_key)
            added.append(row_key)
        if not added:
            return added
        for column, width in zip(columns, widths, strict=True):
            self._widen(column, width)
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if first_row == 0 and self.columns and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self._update_count += len(added)
        self.check_idle()
        return added

    def _measure(self, texts: Iterable[Text], columns: Iterable[Any] | None = None) -> None:
        """Widen the columns for ``texts`` (a row's cells, or those of ``columns``) as Textual measures a cell:
        its widest line."""
        for column, text in zip(self.ordered_columns if columns is None else columns, texts, strict=False):
            self._widen(column, self._cell_width(text))

    @staticmethod
    def _cell_width(text: Text) -> int:
        return max((cell_len(line) for line in text.plain.splitlines()), default=0)

    def _widen(self, column: Any, width: int) -> None:
        column.content_width = max(column.content_width, width)
        self._natural[column.key] = max(self._natural.get(column.key, 0), width)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Textual measures every cell of the rows added since the table was last idle, each through Rich's
        console (which asks the terminal for its size three times a cell: ~0.1 s of CPU for the dashboard's 780
        teams, its first screen). ``add_row`` has measured them already, the same way: only the table's size is
        left to set. Rows with a label or an automatic height go Textual's way (Textual is pinned to 8.2)."""
        rows = [self.rows.get(key) for key in new_rows if key in self._row_locations]
        if any(row is None or row.label is not None or row.auto_height for row in rows):
            super()._update_dimensions(new_rows)
            return
        data_cells_width = sum(column.get_render_width(self) for column in self.columns.values())
        header_height = self.header_height if self.show_header else 0
        self.virtual_size = Size(data_cells_width + self._row_label_column_width,
                                 self._total_row_height + header_height)

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
        virtual_size = Size(sum(widths) + 2 * self.cell_padding * len(widths), self.virtual_size.height)
        if virtual_size == self.virtual_size and all(not column.auto_width and column.width == width
                                                     for column, width in zip(ordered, widths, strict=True)):
            return  # fitted already (as the layout sized it, see _size_updated): nothing to draw again
        for column, width in zip(ordered, widths, strict=True):
            column.auto_width = False
            column.width = width
        self.virtual_size = virtual_size
        self._clear_caches()  # cells are cached without their width
        self.refresh()

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        """Textual sets a widget's new size in the layout pass and draws the screen at once, before the Resize
        event comes: fitted here, the columns are drawn once, at their widths (the dashboard's first frame drew
        the team table at its natural widths, then again fitted, ~15 % of the time to its first screen). The
        Resize that follows finds them fitted. (Textual is pinned to 8.2.)"""
        changed = super()._size_updated(size, virtual_size, container_size, layout)
        if changed and self.fit:
            self.fit_columns()
        return changed

    def on_resize(self, event: events.Resize) -> None:
        self.fit_columns()

    def update_cell(self, row_key: RowKey | str, column_key: Any, value: Any, *,
                    update_width: bool = False) -> None:
        text = cut_text(value)
        super().update_cell(row_key, column_key, text, update_width=update_width)
        key = row_key if isinstance(row_key, RowKey) else RowKey(row_key)
        if key in self._new_rows:  # not measured by Textual when next idle (see _update_dimensions): here
            self._measure([text], [self.columns[column_key if isinstance(column_key, ColumnKey)
                                                else ColumnKey(column_key)]])
