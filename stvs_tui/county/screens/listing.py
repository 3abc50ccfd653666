"""A list screen over one SQL query: a filter line, a virtual table over every matching row, a count line.

The table (``VirtualTable``) holds only the rows around its viewport; the screen fetches them by LIMIT/OFFSET
in the list's order (a window past the middle is read from the end, in the reverse order, so the last row is
as near as the first). Each keystroke in the filter, and each sort change, starts a new generation: the first
window is fetched at once, and rows of an older generation never land.

Where a window is read from an index alone (``window_is_cheap``: no filter that needs a scan), it is read on
the UI thread as the key is handled, so a jump or a sort change paints once, with its rows; otherwise in a
thread worker, and a newer keystroke interrupts the statement of an older one (SQLite's interrupt) instead of
queueing scans behind each other. The total is counted after the first window has been drawn, in a worker,
once the clerk has stopped typing for ``COUNT_DELAY``; counts are kept per filter until the data may have
changed (a reload that is not a filter or sort change), so a sort change or a filter typed back needs none.
"""

from __future__ import annotations

import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

from sqlmodel import Session
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label

from stvs_tui.county.screens.base import StvsScreen
from stvs_tui.i18n import t
from stvs_tui.queries import UNSORTED, ListSort
from stvs_tui.widgets.columns import ListColumn
from stvs_tui.widgets.footer import KeyFooter
from stvs_tui.widgets.goto import GotoRowModal
from stvs_tui.widgets.virtual_table import DESCENDING, Row, Sort, VirtualTable, position_text

T = TypeVar("T")


def list_sort(sort: Sort, reverse: bool = False) -> ListSort:
    return ListSort(sort.column, sort.direction == DESCENDING, reverse)


class ListScreen(StvsScreen):
    SCOPES: ClassVar[tuple[str, ...]] = ("list",)
    FILTER_PLACEHOLDER: ClassVar[str] = "list.filter_placeholder"
    # Column keys the list cannot sort by (a column computed per row, such as a volunteer's teams).
    UNSORTABLE: ClassVar[frozenset[str]] = frozenset()

    # Seconds without a keystroke before a filter's matches are counted (the rows come at once).
    COUNT_DELAY: ClassVar[float] = 0.25

    def __init__(self) -> None:
        super().__init__()
        self.generation = 0
        self.last_shown_at = 0.0
        self.rows_were_shown = False
        # Totals by filter state, valid until the data may have changed (see ``reload``).
        self.counts: dict[Any, int] = {}
        # The SQLite connections of the statements under way, by kind ("page", "rows", "count"), so that a
        # newer generation can interrupt them; the lock keeps an interrupt off a connection already given back.
        self._statements: dict[str, Any] = {}
        self._statements_lock = threading.Lock()
        self._count_cancel = threading.Event()
        self._count_text = ""
        self._open_first_of: int | None = None  # Enter in the filter, for the first row of this generation

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

    def window_is_cheap(self, state: Any) -> bool:
        """Whether a window of rows for ``state`` is read from an index alone, in a few milliseconds whatever
        the size of the list (then it is read on the UI thread; otherwise in a worker)."""
        return False

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
        yield KeyFooter()

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#list", VirtualTable)

    def first_rows_shown(self) -> None:
        """Runs once, after the list's first rows are on the screen: the time to prepare what opens from it."""

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

    def reload(self, keep_cursor: bool = False, *, same_data: bool = False, typing: bool = False) -> None:
        """Fetch the window around the cursor (the first rows unless ``keep_cursor``) for the filter and sort
        as they are now; count the matches once it is drawn. ``same_data``: only the filter or the sort
        changed, so the counts already made still hold (any other reload forgets them); ``typing``: a
        keystroke in a filter, counted only when the keystrokes pause."""
        table = self.table
        state = self.filter_state()
        if not same_data:
            self.counts.clear()
        self._count_cancel.set()
        self._interrupt("page", "rows", "count")
        total = self._cached_count(state)
        generation = table.reset(total=total, keep_cursor=keep_cursor)
        self.generation = generation
        start, end = table.window()
        if total is not None:
            end = min(end, total)
        count = max(0, end - start)
        sort = table.sort

        def show(rows: Sequence[Row]) -> None:
            if generation != table.generation:
                return
            table.put_rows(generation, start, rows, exhausted=len(rows) < count and (start == 0 or bool(rows)))
            self.last_shown_at = time.perf_counter()
            self._show_count()
            self._open_first_if_asked(generation)
            if not self.rows_were_shown:
                self.rows_were_shown = True
                self.call_after_refresh(self.first_rows_shown)
            if table.total is None:
                # Counted after the rows have been drawn (a count scan beside the render slowed the paint),
                # and while typing only once the keystrokes pause: each keystroke's count would be thrown away.
                self.call_after_refresh(self._count, generation, state, self.COUNT_DELAY if typing else 0.0)
            elif self._cacheable(state):
                self.counts[state] = table.total

        self._read(state, lambda session: self._window(session, state, sort, start, count, total), show, "page")

    def _window(self, session: Session, state: Any, sort: Sort, start: int, count: int,
                total: int | None) -> Sequence[Row]:
        """``count`` rows from ``start`` in the list's order; past the middle of a counted list, read from the
        end in the reverse order (a short OFFSET instead of a long one)."""
        if count <= 0:
            return []
        if total is not None and start > total // 2:
            end = min(total, start + count)
            rows = self.fetch_page(session, state, total - end, end - start, list_sort(sort, reverse=True))
            return list(reversed(rows))
        return self.fetch_page(session, state, start, count, list_sort(sort))

    def _read(self, state: Any, job: Callable[[Session], T], done: Callable[[T], Any], kind: str) -> None:
        """Run ``job``: at once when the state's windows are cheap, else in a worker that a newer generation
        can interrupt."""
        if kind != "count" and self.window_is_cheap(state):
            with self.county_app.store.session() as session:
                result = job(session)
            done(result)
            return

        def interruptible(session: Session) -> T:
            connection = session.connection().connection.dbapi_connection
            with self._statements_lock:
                self._statements[kind] = connection
            try:
                return job(session)
            finally:
                with self._statements_lock:
                    if self._statements.get(kind) is connection:
                        del self._statements[kind]

        self.run_db(interruptible, done, group=kind)

    def _interrupt(self, *kinds: str) -> None:
        """Stop the workers of these kinds and the statements they have under way (superseded)."""
        for kind in kinds:
            self.workers.cancel_group(self, kind)
        with self._statements_lock:
            for kind in kinds:
                connection = self._statements.pop(kind, None)
                if connection is not None:
                    connection.interrupt()

    def _cacheable(self, state: Any) -> bool:
        try:
            hash(state)
        except TypeError:
            return False
        return True

    def _cached_count(self, state: Any) -> int | None:
        return self.counts.get(state) if self._cacheable(state) else None

    def _count(self, generation: int, state: Any, delay: float) -> None:
        if generation != self.table.generation:
            return
        self._count_cancel = cancel = threading.Event()

        def count(session: Session) -> int | None:
            # A newer keystroke (or sort, or reload) within ``delay`` cancels this count before it starts.
            if delay and cancel.wait(delay):
                return None
            return self.fetch_count(session, state)

        self._read(state, count, lambda total: self._counted(generation, state, total), "count")

    def _counted(self, generation: int, state: Any, total: int | None) -> None:
        if total is None:
            return
        if self._cacheable(state):
            self.counts[state] = total
        if generation == self.table.generation:
            self.table.set_total(generation, total)
            self._show_count()

    def _fetch_rows(self, generation: int, start: int, count: int) -> None:
        """Rows the table wants as its view moves (a newer want interrupts an older one)."""
        table = self.table
        state, sort, total = self.filter_state(), table.sort, table.total
        self._interrupt("rows")

        def show(rows: Sequence[Row]) -> None:
            table.put_rows(generation, start, rows, exhausted=len(rows) < count and total is None and bool(rows))
            self._show_count()

        self._read(state, lambda session: self._window(session, state, sort, start, count, total), show, "rows")

    @on(VirtualTable.SortChanged, "#list")
    def _sort_changed(self, event: VirtualTable.SortChanged) -> None:
        self.reload(same_data=True)

    def _show_count(self) -> None:
        label = self.query_one("#list-count", Label)
        text = position_text(self.table)
        if text != self._count_text:
            self._count_text = text
            # One line of fixed size (county.tcss): no layout of the screen for it.
            label.update(text, layout=False)

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self.reload(same_data=True, typing=True)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        """Enter in the filter opens the first match (the list keeps the focus when the clerk comes back)."""
        table = self.table
        table.focus()
        if table.awaiting_first:  # typed ahead: the rows of the filter as typed are still being read
            self._open_first_of = table.generation
        else:
            self._open_first()

    def _open_first_if_asked(self, generation: int) -> None:
        """Enter came in the filter before its rows: the first of them opens once they are shown (a newer
        filter or sort forgets it)."""
        if self._open_first_of == generation:
            self._open_first_of = None
            self._open_first()

    def _open_first(self) -> None:
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
