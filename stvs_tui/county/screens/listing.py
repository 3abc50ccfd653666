"""A list screen over one SQL query: a filter line, a paged table, and a count line.

Each keystroke in the filter reloads the first page in an exclusive worker (a newer keystroke cancels the
older query's result); the total is counted after the page is shown, so the page never waits for it.
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
from textual.widgets import DataTable, Footer, Input, Label

from stvs_tui.county.screens.base import StvsScreen
from stvs_tui.i18n import t
from stvs_tui.widgets.columns import ListColumn
from stvs_tui.widgets.paged_table import PagedTable, Row


class ListScreen(StvsScreen):
    SCOPES: ClassVar[tuple[str, ...]] = ("list",)
    FILTER_PLACEHOLDER: ClassVar[str] = "list.filter_placeholder"

    def __init__(self) -> None:
        super().__init__()
        self.generation = 0
        self.last_shown_at = 0.0

    # What a concrete list provides (run in workers: fetch_page and fetch_count)
    @abstractmethod
    def columns(self) -> list[ListColumn]:
        """The list's columns with their declared widths (see ``stvs_tui.widgets.columns``)."""

    @abstractmethod
    def filter_state(self) -> Any:
        """The filter as plain values, read on the UI thread and handed to the workers."""

    @abstractmethod
    def fetch_page(self, session: Session, state: Any, offset: int, limit: int) -> Sequence[Row]: ...

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
        yield PagedTable(id="list")
        yield Label("", id="list-count", markup=False)
        yield Footer()

    @property
    def table(self) -> PagedTable:
        return self.query_one("#list", PagedTable)

    def on_mount(self) -> None:
        table = self.table
        table.set_columns(self.columns())
        table.focus()
        self.reload()

    def on_screen_resume(self) -> None:
        if self.generation:
            self.reload(self.table.page_offset, keep_cursor=True)

    def reload(self, offset: int = 0, cursor_at_end: bool = False, keep_cursor: bool = False) -> None:
        table = self.table
        limit = table.page_size
        self.generation += 1
        generation = self.generation
        row = table.cursor_row
        state = self.filter_state()

        def show(rows: Sequence[Row]) -> None:
            if generation != self.generation:
                return
            table.show_page(offset, rows, cursor_at_end)
            if keep_cursor and rows:
                table.move_cursor(row=min(row, len(rows) - 1), animate=False)
            self.last_shown_at = time.perf_counter()
            if offset == 0 and len(rows) < limit:
                # The whole result fits on the first page: that is the count, no second scan needed.
                self._counted(generation, offset, len(rows), len(rows))
                return
            self._show_count(offset, len(rows), table.total if offset else None)
            # Counted after the page has been drawn: a count scan running beside the render slowed the paint.
            self.call_after_refresh(self._count, generation, state, offset, len(rows))

        self.run_db(lambda session: self.fetch_page(session, state, offset, limit), show, group="page")

    def _count(self, generation: int, state: Any, offset: int, shown: int) -> None:
        if generation == self.generation:
            self.run_db(lambda session: self.fetch_count(session, state),
                        lambda total: self._counted(generation, offset, shown, total), group="count")

    def _counted(self, generation: int, offset: int, shown: int, total: int) -> None:
        if generation == self.generation:
            self.table.total = total
            self._show_count(offset, shown, total)

    def _show_count(self, offset: int, shown: int, total: int | None) -> None:
        label = self.query_one("#list-count", Label)
        if shown == 0 and total is not None and total == 0:
            label.update(t("list.empty"))
        elif total is None:
            label.update(t("list.count_unknown", first=offset + 1 if shown else 0, last=offset + shown))
        else:
            label.update(t("list.count", total=total, first=offset + 1 if shown else 0, last=offset + shown))

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self.table.total = None
        self.reload()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        """Enter in the filter opens the first match (the list keeps the focus when the clerk comes back)."""
        self.table.focus()
        if self.table.row_count:
            self.table.move_cursor(row=0, animate=False)
            self.action_open()

    @on(PagedTable.PageWanted)
    def _page_wanted(self, event: PagedTable.PageWanted) -> None:
        self.reload(event.offset, event.cursor_at_end)

    @on(DataTable.RowSelected, "#list")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.open_key(str(event.row_key.value))

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
        self.reload(self.table.page_offset, keep_cursor=True)

    def focus_list(self) -> Widget:
        self.table.focus()
        return self.table
