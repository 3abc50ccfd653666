"""A DataTable that holds one page of a SQL query: moving past either end asks for the neighbouring page.

The table never holds a whole table's rows; its owner fetches pages (LIMIT/OFFSET) in a worker.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

# A page covers a tall terminal (about 60 rows) without building rows nobody sees.
PAGE_SIZE = 60

Row = tuple[str, Sequence[Text | str | int]]


class PagedTable(DataTable[Text | str | int]):
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
