"""A list screen over one SQL query: a filter line, a virtual table over every matching row, a count line.

The table (``VirtualTable``) holds only the rows around its viewport; the screen fetches them in thread
workers by LIMIT/OFFSET in the list's order (a window past the middle is read from the end, in the reverse
order, so the last row is as near as the first). Each keystroke in the filter, and each sort change, starts a
new generation: the first window is fetched at once, the total is counted after it has been drawn, and rows
of an older generation never land.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from sqlmodel import Session
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Footer, Input, Label

from stvs_tui.county.screens.base import StvsScreen
from stvs_tui.i18n import t
from stvs_tui.queries import UNSORTED, ListSort
from stvs_tui.widgets.columns import ListColumn
from stvs_tui.widgets.goto import GotoRowModal
from stvs_tui.widgets.virtual_table import DESCENDING, Row, Sort, VirtualTable


def list_sort(sort: Sort, reverse: bool = False) -> ListSort:
    return ListSort(sort.column, sort.direction == DESCENDING, reverse)


class ListScreen(StvsScreen):
    SCOPES: ClassVar[tuple[str, ...]] = ("list",)
    FILTER_PLACEHOLDER: ClassVar[str] = "list.filter_placeholder"
    # Column keys the list cannot sort by (a column computed per row, such as a volunteer's teams).
    UNSORTABLE: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        super().__init__()
        self.generation = 0
        self.last_shown_at = 0.0

    # What a concrete list provides (run in workers: fetch_page and fetch_count)
    @abstractmethod
    def columns(self) -> list[ListColumn]:
        """The list's columns with their declared widths and keys (see ``stvs_tui.widgets.columns``)."""

    @abstractmethod
    def filter_state(self) -> Any:
        """The filter as plain values, read on the UI thread and handed to the workers."""

    @abstractmethod
    def fetch_page(self, session: Session, state: Any, offset: int, limit: int,
                   sort: ListSort = UNSORTED) -> Sequence[Row]: ...

    @abstractmethod
    def fetch_count(self, session: Session, state: Any) -> int: ...

    @abstractmethod
    def open_key(self, key: str) -> None: ...

    def extra_filters(self) -> ComposeResult:
        yield from ()

    def scope_text(self) -> str:
        return ""

    # The screen
    def compose(self) -> ComposeResult:
        yield from self.title_bar()
        with Horizontal(id="filter-bar"):
            yield Input(placeholder=t(self.FILTER_PLACEHOLDER), id="filter")
            yield from self.extra_filters()
        scope = self.scope_text()
        if scope:
            yield Label(t("list.scope", scope=scope), markup=False, id="list-scope")
        yield VirtualTable(id="list")
        yield Label("", id="list-count", markup=False)
        yield Footer()

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#list", VirtualTable)

    def on_mount(self) -> None:
        table = self.table
        columns = self.columns()
        table.set_columns(columns, {c.key for c in columns if c.key and c.key not in self.UNSORTABLE})
        table.focus()
        table.fetch_rows = self._fetch_rows
        self.watch(table, "cursor_row", lambda _row: self._show_count(), init=False)
        self.reload()

    def on_screen_resume(self) -> None:
        if self.generation:
            self.reload(keep_cursor=True)

    def reload(self, keep_cursor: bool = False) -> None:
        """Fetch the window around the cursor (the first rows unless ``keep_cursor``) for the filter and sort
        as they are now; count the matches once it is drawn."""
        table = self.table
        generation = table.reset(keep_cursor=keep_cursor)
        self.generation = generation
        state = self.filter_state()
        start, end = table.window()
        count = end - start
        sort = table.sort

        def show(rows: Sequence[Row]) -> None:
            if generation != table.generation:
                return
            table.put_rows(generation, start, rows, exhausted=len(rows) < count and (start == 0 or bool(rows)))
            self.last_shown_at = time.perf_counter()
            self._show_count()
            if table.total is None:
                # Counted after the rows have been drawn: a count scan beside the render slowed the paint.
                self.call_after_refresh(self._count, generation, state)

        self.run_db(lambda session: self.fetch_page(session, state, start, count, list_sort(sort)), show,
                    group="page")

    def _count(self, generation: int, state: Any) -> None:
        if generation == self.table.generation:
            self.run_db(lambda session: self.fetch_count(session, state),
                        lambda total: self._counted(generation, total), group="count")

    def _counted(self, generation: int, total: int) -> None:
        if generation == self.table.generation:
            self.table.set_total(generation, total)
            self._show_count()

    def _fetch_rows(self, generation: int, start: int, count: int) -> None:
        """Rows the table wants as its view moves, fetched in a worker (a newer want cancels an older one)."""
        table = self.table
        state, sort, total = self.filter_state(), table.sort, table.total

        def fetch(session: Session) -> Sequence[Row]:
            if total is not None and start > total // 2:
                # Near the end: read from the end in the reverse order (a short OFFSET instead of a long one).
                end = min(total, start + count)
                rows = self.fetch_page(session, state, total - end, end - start, list_sort(sort, reverse=True))
                return list(reversed(rows))
            return self.fetch_page(session, state, start, count, list_sort(sort))

        def show(rows: Sequence[Row]) -> None:
            table.put_rows(generation, start, rows, exhausted=len(rows) < count and total is None and bool(rows))
            self._show_count()

        self.run_db(fetch, show, group="rows")

    @on(VirtualTable.SortChanged, "#list")
    def _sort_changed(self, event: VirtualTable.SortChanged) -> None:
        self.reload()

    def _show_count(self) -> None:
        table = self.table
        label = self.query_one("#list-count", Label)
        row = table.cursor_row + 1 if table.row_count else 0
        if table.total == 0:
            label.update(t("list.empty"))
        elif table.total is None:
            label.update(t("list.position_unknown", row=row))
        else:
            label.update(t("list.position", total=table.total, row=row))

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self.reload()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        """Enter in the filter opens the first match (the list keeps the focus when the clerk comes back)."""
        self.table.focus()
        if self.table.row_count:
            self.table.move_cursor(0)
            self.action_open()

    @on(VirtualTable.RowSelected, "#list")
    def _row_selected(self, event: VirtualTable.RowSelected) -> None:
        self.open_key(event.key)

    @property
    def filter_text(self) -> str:
        return self.query_one("#filter", Input).value

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_open(self) -> None:
        key = self.table.current_key
        if key is not None:
            self.open_key(key)

    def action_refresh(self) -> None:
        self.reload(keep_cursor=True)

    def action_sort(self) -> None:
        """Cycle the sort of the cursor's column (←/→ choose it): ascending, descending, the list's own order."""
        self.table.focus()
        if self.table.cycle_sort() is None:
            self.notify(t("list.not_sortable"))

    def action_goto_row(self) -> None:
        table = self.table

        def chosen(row: int | None) -> None:
            table.focus()
            if row is not None:
                table.go_to_row(row - 1)

        self.app.push_screen(GotoRowModal(table.row_count), chosen)

    def focus_list(self) -> Widget:
        self.table.focus()
        return self.table
