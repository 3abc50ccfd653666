"""Choosing records from a long list: a filter line over the virtual list (``VirtualTable``: the whole query,
PageDown a screenful, Ctrl+Home/Ctrl+End the first/last row, as on the other lists), Space to mark, Ctrl+S to
take the marked rows (or Enter to take one when ``multiple`` is off). Marks survive filter changes. The list
has the focus when the dialog opens; `/` moves to the search box and Enter back to the list."""

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
from textual.widgets import Input, Label

from stvs_tui.actions import install_bindings
from stvs_tui.i18n import t
from stvs_tui.widgets.columns import ListColumn
from stvs_tui.widgets.virtual_table import Row, VirtualTable, position_text

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

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box picker-box"):
            yield Label(self.picker_title, markup=False, classes="modal-title")
            yield Input(placeholder=t("list.filter_placeholder"), id="picker-filter")
            yield VirtualTable(id="picker-list")
            yield Label("", id="picker-count", markup=False)

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#picker-list", VirtualTable)

    def on_mount(self) -> None:
        mark_width = max(cell_len(MARK), cell_len(self.taken_note))
        self.table.set_columns([ListColumn(" ", mark_width, mark_width, key="mark"), *self.list_columns])
        self.table.fetch_rows = self._fetch_rows
        self.watch(self.table, "cursor_row", lambda _row: self._show_count(), init=False)
        # The rows have the focus: Space marks one at once; `/` reaches the search box, Enter comes back.
        self.table.focus()
        self.reload()

    def _mark_cell(self, key: str) -> Text:
        if key in self.taken:
            return Text(self.taken_note or MARK, style="dim")
        return Text(MARK if key in self.marked else " ", style="bold green")

    def _marked(self, rows: Sequence[Row]) -> list[Row]:
        return [(key, [self._mark_cell(key), *cells]) for key, cells in rows]

    def reload(self) -> None:
        """The first rows for the filter as it is now; the matches are counted once they are drawn."""
        table = self.table
        generation = table.reset()
        text = self.query_one("#picker-filter", Input).value
        start, end = table.window()
        count = end - start

        def show(rows: Sequence[Row]) -> None:
            if generation != table.generation:
                return
            table.put_rows(generation, start, self._marked(rows), exhausted=len(rows) < count)
            self._show_count()
            if table.total is None:
                self.app.run_db(self, lambda session: self.fetch_count(session, text),  # type: ignore[attr-defined]
                                lambda total: self._counted(generation, total), group="count")

        self.app.run_db(self, lambda session: self.fetch_page(session, text, start, count), show,  # type: ignore[attr-defined]
                        group="page")

    def _counted(self, generation: int, total: int) -> None:
        self.table.set_total(generation, total)
        self._show_count()

    def _fetch_rows(self, generation: int, start: int, count: int) -> None:
        """Rows the list wants as its view moves (PageDown, Ctrl+End), fetched in a worker."""
        text = self.query_one("#picker-filter", Input).value
        total = self.table.total

        def show(rows: Sequence[Row]) -> None:
            self.table.put_rows(generation, start, self._marked(rows),
                                exhausted=len(rows) < count and total is None and bool(rows))
            self._show_count()

        self.app.run_db(self, lambda session: self.fetch_page(session, text, start, count), show,  # type: ignore[attr-defined]
                        group="rows")

    @on(Input.Changed, "#picker-filter")
    def _filter_changed(self) -> None:
        self.reload()

    @on(Input.Submitted, "#picker-filter")
    def _filter_submitted(self) -> None:
        self.table.focus()

    @on(VirtualTable.RowSelected, "#picker-list")
    def _row_selected(self, event: VirtualTable.RowSelected) -> None:
        if self.multiple:
            self.action_toggle()
        else:
            self.dismiss([event.key])

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
        table = self.table
        for index, (row_key, cells) in list(table.rows.items()):
            if row_key == key:
                table.rows[index] = (row_key, [self._mark_cell(key), *cells[1:]])
        table.refresh()
        self._show_count()

    def _show_count(self) -> None:
        text = position_text(self.table)
        marked = f"  {MARK} {len(self.marked)}" if self.multiple else ""
        self.query_one("#picker-count", Label).update(text + marked)

    def action_focus_filter(self) -> None:
        self.query_one("#picker-filter", Input).focus()

    def action_done(self) -> None:
        if not self.multiple and not self.marked and self.table.current_key:
            self.dismiss([self.table.current_key])
            return
        self.dismiss(list(self.marked))

    def action_cancel(self) -> None:
        self.dismiss(None)
