"""A DataTable that holds one page of a SQL query: moving past either end asks for the neighbouring page.

The table never holds a whole table's rows; its owner fetches pages (LIMIT/OFFSET) in a worker. Its columns
are declared (``ListColumn``) and fitted to the table's width by ``fit_widths`` whenever that width changes,
so the widths depend on the terminal's size alone, never on which page was drawn first.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.message import Message

from stvs_tui.widgets.columns import ListColumn, fit_widths
from stvs_tui.widgets.table import SteadyTable

# A page covers a tall terminal (about 60 rows) without building rows nobody sees.
PAGE_SIZE = 60

Row = tuple[str, Sequence[Text | str | int]]


class PagedTable(SteadyTable):
    # A stable gutter: the columns' room does not change when the scrollbar comes and goes.
    DEFAULT_CSS = """
    PagedTable { scrollbar-gutter: stable; }
    """

    class PageWanted(Message):
        """The cursor moved past the loaded page: the owner should load the page at ``offset``."""

        def __init__(self, table: PagedTable, offset: int, cursor_at_end: bool) -> None:
            super().__init__()
            self.table = table
            self.offset = offset
            self.cursor_at_end = cursor_at_end

    def __init__(self, *, page_size: int = PAGE_SIZE, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.page_size = page_size
        self.page_offset = 0
        self.total: int | None = None
        self.pages_shown = 0
        self.list_columns: list[ListColumn] = []

    def set_columns(self, columns: list[ListColumn]) -> None:
        self.list_columns = list(columns)
        for column in columns:
            label = Text(column.label, no_wrap=True, overflow="ellipsis", end="")
            self.add_column(label, width=column.width, key=column.key)
        self.fit_columns()

    def fit_columns(self) -> None:
        """Give each column its width for the room the table has now (declared widths before layout)."""
        room = self.scrollable_content_region.width
        if not self.list_columns or room <= 0:
            return
        widths = fit_widths(self.list_columns, room, self.cell_padding)
        for column, width in zip(self.ordered_columns, widths, strict=True):
            column.width = width
        self.virtual_size = Size(sum(widths) + 2 * self.cell_padding * len(widths), self.virtual_size.height)
        # Cells are cached without their width: drop what was painted at the old widths.
        self._clear_caches()
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self.fit_columns()

    def show_page(self, offset: int, rows: Sequence[Row], cursor_at_end: bool = False) -> None:
        self.clear()
        self.page_offset = offset
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if rows:
            self.move_cursor(row=len(rows) - 1 if cursor_at_end else 0, animate=False)
        self.pages_shown += 1

    @property
    def has_next(self) -> bool:
        if self.total is None:
            return self.row_count == self.page_size
        return self.page_offset + self.row_count < self.total

    @property
    def current_key(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def _at_end(self) -> bool:
        return self.cursor_row >= self.row_count - 1

    def action_cursor_down(self) -> None:
        if self._at_end() and self.has_next:
            self.post_message(self.PageWanted(self, self.page_offset + self.row_count, False))
        else:
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.cursor_row <= 0 and self.page_offset > 0:
            self.post_message(self.PageWanted(self, max(0, self.page_offset - self.page_size), True))
        else:
            super().action_cursor_up()

    def action_page_down(self) -> None:
        if self._at_end() and self.has_next:
            self.post_message(self.PageWanted(self, self.page_offset + self.row_count, False))
        else:
            super().action_page_down()

    def action_page_up(self) -> None:
        if self.cursor_row <= 0 and self.page_offset > 0:
            self.post_message(self.PageWanted(self, max(0, self.page_offset - self.page_size), True))
        else:
            super().action_page_up()
