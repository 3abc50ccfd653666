"""Choosing records from a long list: a filter line over a paged SQL table, space to mark, Ctrl+S to take
the marked rows (or Enter to take one when ``multiple`` is off). Marks survive filter changes. The list has
the focus when the dialog opens; `/` moves to the search box and Enter back to the list."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from sqlmodel import Session
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label

from stvs_tui.actions import install_bindings
from stvs_tui.i18n import t
from stvs_tui.widgets.columns import ListColumn
from stvs_tui.widgets.paged_table import PagedTable, Row

PageFetcher = Callable[[Session, str, int, int], Sequence[Row]]
CountFetcher = Callable[[Session, str], int]

MARK = "✓"


class PickerModal(ModalScreen[list[str] | None]):
    SCOPE: ClassVar[str] = "picker"
    SCOPES: ClassVar[tuple[str, ...]] = ("picker",)

    def __init__(self, title: str, columns: list[ListColumn], fetch_page: PageFetcher, fetch_count: CountFetcher, *,
                 taken: set[str] | None = None, taken_note: str = "", multiple: bool = True) -> None:
        super().__init__(classes="modal")
        install_bindings(self, self.SCOPES)
        self.picker_title = title
        self.list_columns = columns
        self.fetch_page = fetch_page
        self.fetch_count = fetch_count
        self.taken = taken or set()
        self.taken_note = taken_note
        self.multiple = multiple
        self.marked: list[str] = []
        self.generation = 0
        self.count_text = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box picker-box"):
            yield Label(self.picker_title, markup=False, classes="modal-title")
            yield Input(placeholder=t("list.filter_placeholder"), id="picker-filter")
            yield PagedTable(id="picker-list")
            yield Label("", id="picker-count", markup=False)

    @property
    def table(self) -> PagedTable:
        return self.query_one("#picker-list", PagedTable)

    def on_mount(self) -> None:
        mark_width = max(cell_len(MARK), cell_len(self.taken_note))
        self.table.set_columns([ListColumn(" ", mark_width, mark_width, key="mark"), *self.list_columns])
        # The rows have the focus: Space marks one at once; `/` reaches the search box, Enter comes back.
        self.table.focus()
        self.reload()

    def _mark_cell(self, key: str) -> Text:
        if key in self.taken:
            return Text(self.taken_note or MARK, style="dim")
        return Text(MARK if key in self.marked else " ", style="bold green")

    def reload(self, offset: int = 0, cursor_at_end: bool = False) -> None:
        self.generation += 1
        generation = self.generation
        text = self.query_one("#picker-filter", Input).value
        limit = self.table.page_size
        app = self.app

        def show(rows: Sequence[Row]) -> None:
            if generation != self.generation:
                return
            self.table.show_page(offset, [(key, [self._mark_cell(key), *cells]) for key, cells in rows],
                                 cursor_at_end)
            self.run_worker_count(generation, text, offset, len(rows))

        app.run_db(self, lambda session: self.fetch_page(session, text, offset, limit), show,  # type: ignore[attr-defined]
                   group="page")

    def run_worker_count(self, generation: int, text: str, offset: int, shown: int) -> None:
        def counted(total: int) -> None:
            if generation == self.generation:
                self.table.total = total
                self.count_text = t("list.count", total=total, first=offset + 1 if shown else 0, last=offset + shown)
                self._show_count()

        self.app.run_db(self, lambda session: self.fetch_count(session, text), counted,  # type: ignore[attr-defined]
                        group="count")

    @on(Input.Changed, "#picker-filter")
    def _filter_changed(self) -> None:
        self.table.total = None
        self.reload()

    @on(Input.Submitted, "#picker-filter")
    def _filter_submitted(self) -> None:
        self.table.focus()

    @on(PagedTable.PageWanted)
    def _page_wanted(self, event: PagedTable.PageWanted) -> None:
        self.reload(event.offset, event.cursor_at_end)

    @on(DataTable.RowSelected, "#picker-list")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if self.multiple:
            self.action_toggle()
        else:
            self.dismiss([str(event.row_key.value)])

    def action_toggle(self) -> None:
        key = self.table.current_key
        if key is None or key in self.taken:
            return
        if key in self.marked:
            self.marked.remove(key)
        elif self.multiple:
            self.marked.append(key)
        else:
            self.marked = [key]
        self.table.update_cell(key, "mark", self._mark_cell(key))
        self._show_count()

    def _show_count(self) -> None:
        marked = f"  {MARK} {len(self.marked)}" if self.multiple else ""
        self.query_one("#picker-count", Label).update(self.count_text + marked)

    def action_focus_filter(self) -> None:
        self.query_one("#picker-filter", Input).focus()

    def action_done(self) -> None:
        if not self.multiple and not self.marked and self.table.current_key:
            self.dismiss([self.table.current_key])
            return
        self.dismiss(list(self.marked))

    def action_cancel(self) -> None:
        self.dismiss(None)
