"""A table over a whole SQL query that holds only the rows around the viewport (Textual's Line API).

The table knows how many rows the query has (``total``) and sizes its scrollbar to all of them; it holds the
rows of the screen it shows plus about a screen on each side. When the viewport moves onto rows it does not
hold it posts ``RowsWanted``; its owner fetches them (LIMIT/OFFSET over an index, in a worker) and hands them
back with ``put_rows``, tagged with the generation they were asked for, so rows of an older filter or sort
never land. Rows not yet fetched paint as empty lines.

Columns are declared (``ListColumn``) and fitted to the table's width by ``fit_widths``: widths depend on the
terminal's size alone, never on which rows were fetched first or when; a cut cell ends in "…". The header
shows the sort (▲ ascending, ▼ descending) on its column and marks the cursor's column, the one the sort key
acts on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from stvs_tui.i18n import t
from stvs_tui.widgets.columns import ListColumn, cut_text, fit_widths

Row = tuple[str, Sequence[Text | str | int]]

ASCENDING, DESCENDING = "asc", "desc"
SORT_MARKS = {ASCENDING: "▲", DESCENDING: "▼"}


@dataclass(frozen=True)
class Sort:
    """The list's order: a column key and a direction; ``Sort()`` is the list's own default order."""

    column: str | None = None
    direction: str = ASCENDING

    def next_for(self, column: str) -> Sort:
        """The next step of the cycle on ``column``: ascending, descending, back to the default order."""
        if self.column != column:
            return Sort(column, ASCENDING)
        return Sort(column, DESCENDING) if self.direction == ASCENDING else Sort()


class VirtualTable(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {
        "datatable--header", "datatable--header-cursor", "datatable--cursor", "datatable--even-row",
        "datatable--odd-row",
    }
    DEFAULT_CSS = """
    VirtualTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
        scrollbar-gutter: stable;
        &:focus {
            background-tint: $foreground 5%;
            & > .datatable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .datatable--header { background-tint: $foreground 5%; }
        }
        &:dark > .datatable--even-row { background: $surface-darken-1 40%; }
        & > .datatable--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .datatable--header { background: ansi_bright_blue; color: ansi_default; }
        & > .datatable--header-cursor { text-style: bold underline; }
        & > .datatable--even-row { background: $surface-lighten-1 50%; }
        & > .datatable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    BINDINGS = [
        Binding("up", "cursor_up", show=False),
        Binding("down", "cursor_down", show=False),
        Binding("left", "cursor_left", show=False),
        Binding("right", "cursor_right", show=False),
        Binding("pageup", "page_up", show=False),
        Binding("pagedown", "page_down", show=False),
        Binding("home,ctrl+home", "first_row", show=False),
        Binding("end,ctrl+end", "last_row", show=False),
        Binding("enter", "select_cursor", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True, init=False)

    class RowsWanted(Message):
        """The viewport moved onto rows the table does not hold: fetch ``count`` rows from ``start``."""

        def __init__(self, table: VirtualTable, start: int, count: int, generation: int) -> None:
            super().__init__()
            self.table = table
            self.start = start
            self.count = count
            self.generation = generation

        @property
        def control(self) -> VirtualTable:
            return self.table

    class RowSelected(Message):
        def __init__(self, table: VirtualTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable:
            return self.table

    class SortChanged(Message):
        def __init__(self, table: VirtualTable, sort: Sort) -> None:
            super().__init__()
            self.table = table
            self.sort = sort

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.cell_padding = 1
        self.list_columns: list[ListColumn] = []
        self.widths: list[int] = []
        self.sortable: set[str] = set()
        self.sort = Sort()
        self.cursor_column = 0
        self.total: int | None = None  # rows of the query; None until counted
        self.known = 0  # rows known to exist while the total is not counted yet
        self.generation = 0
        self.rows: dict[int, Row] = {}
        self.pages_shown = 0  # how many fetched windows have been put (tests and the bench wait on it)
        self.asked: tuple[int, int, int] | None = None  # (generation, start, end) of the fetch under way
        self.pending_row: int | None = None  # a row asked for before the count came (-1: the last)
        self.awaiting_first = True  # the owner fetches the first window of each generation (``reset``)
        # The owner's fetch, called at once (a message would wait a turn of the event loop first); when unset
        # the table posts ``RowsWanted``.
        self.fetch_rows: Callable[[int, int, int], None] | None = None
        # Painted lines by what decides their look (row, generation, cursor, focus, scroll, width), and the
        # cell styles: a line is drawn once, not again on every refresh of the table.
        self._line_cache: dict[tuple[object, ...], Strip] = {}
        self._cell_styles: dict[tuple[Style, Style | None, int], Style] = {}
        # The widget's own style by focus (``rich_style`` walks every ancestor's styles each time it is asked),
        # forgotten with the component styles Textual keeps, when the styles change.
        self._base_styles: dict[bool, Style] = {}

    # ---------------------------------------------------------------- columns and size

    def set_columns(self, columns: list[ListColumn], sortable: set[str] | None = None) -> None:
        self.list_columns = list(columns)
        self.sortable = set(sortable or ())
        self.fit_columns()

    def fit_columns(self) -> None:
        """Each column's width for the room the table has now (the declared widths before layout)."""
        room = self.scrollable_content_region.width
        if room <= 0:
            self.widths = [column.width for column in self.list_columns]
        else:
            self.widths = fit_widths(self.list_columns, room, self.cell_padding)
        self._line_cache.clear()
        self._update_virtual_size()
        self.refresh()

    def _update_virtual_size(self) -> None:
        width = sum(self.widths) + 2 * self.cell_padding * len(self.widths)
        self.virtual_size = Size(width, self.row_count + 1)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._line_cache.clear()
        self._cell_styles.clear()
        self._base_styles.clear()

    def _base_style(self) -> Style:
        focused = self.has_focus
        style = self._base_styles.get(focused)
        if style is None:
            style = self._base_styles[focused] = self.rich_style
        return style

    def on_resize(self, event: events.Resize) -> None:
        self.fit_columns()
        self._want_rows()

    @property
    def row_count(self) -> int:
        """Rows of the list: the counted total, or as many as are known to exist before the count."""
        return self.total if self.total is not None else self.known

    @property
    def page_height(self) -> int:
        """Data rows on one screen (the header takes the first line)."""
        return max(1, self.scrollable_content_region.height - 1)

    @property
    def top_row(self) -> int:
        return round(self.scroll_y)

    @property
    def held(self) -> int:
        """How many rows the table holds in memory."""
        return len(self.rows)

    def column_key_at(self, index: int) -> str | None:
        return self.list_columns[index].key if 0 <= index < len(self.list_columns) else None

    # ---------------------------------------------------------------- data

    def reset(self, total: int | None = None, keep_cursor: bool = False) -> int:
        """Forget the rows (a new filter or sort); return the new generation the owner fetches for."""
        self.generation += 1
        self.rows.clear()
        self.asked = None
        self.total = total
        self.known = 0
        self.pending_row = None
        self.awaiting_first = True
        if not keep_cursor:
            self.cursor_row = 0
            self.scroll_to(y=0, animate=False, immediate=True)
        if total is not None:
            self._update_virtual_size()
        # (Uncounted, the scrollbar keeps its size until the first window lands: one layout, not two.)
        self.refresh()
        return self.generation

    def window(self) -> tuple[int, int]:
        """The rows to hold: the screen shown and one screen on each side."""
        height = self.page_height
        top = self.top_row
        return max(0, top - height), top + 2 * height

    def put_rows(self, generation: int, start: int, rows: Sequence[Row], exhausted: bool = False) -> None:
        """Rows fetched from ``start``; ``exhausted`` when the query has no rows after them."""
        if generation != self.generation:
            return
        if self.asked and self.asked[1] == start:
            self.asked = None
        self.awaiting_first = False
        for offset, row in enumerate(rows):
            self.rows[start + offset] = row
        if self.total is None:
            self.known = max(self.known, start + len(rows))
            if exhausted:
                self.total = start + len(rows)
        low, high = self.window()
        for index in [i for i in self.rows if i < low or i >= high]:
            del self.rows[index]
        self.pages_shown += 1
        self._update_virtual_size()
        self._clamp_cursor()
        self.refresh()
        self._want_rows()

    def set_total(self, generation: int, total: int) -> None:
        if generation != self.generation:
            return
        self.total = total
        self._update_virtual_size()
        self._clamp_cursor()
        self.refresh()
        if self.pending_row is not None:
            row, self.pending_row = self.pending_row, None
            self.go_to_row(total - 1 if row < 0 else row)
        self._want_rows()

    def _want_rows(self) -> None:
        """Ask for the rows of the window around the viewport when some on (or near) the screen are missing."""
        if not self.is_mounted or not self.list_columns:
            return
        height = self.page_height
        top = self.top_row
        limit = self.row_count if self.total is not None else top + height
        if self.awaiting_first:
            return  # the first window of a generation is the owner's to fetch
        near = range(max(0, top - height // 2), min(limit, top + height + height // 2))
        if all(i in self.rows for i in near):
            return
        low, high = self.window()
        if self.total is not None:
            high = min(high, self.total)
        while low < high and low in self.rows:
            low += 1
        while high > low and high - 1 in self.rows:
            high -= 1
        if low >= high:
            return
        if self.asked == (self.generation, low, high):
            return
        self.asked = (self.generation, low, high)
        if self.fetch_rows is not None:
            self.fetch_rows(self.generation, low, high - low)
        else:
            self.post_message(self.RowsWanted(self, low, high - low, self.generation))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._want_rows()

    def get_row_at(self, index: int) -> Sequence[Text | str | int]:
        """The cells of a held row (``KeyError`` when it is not held)."""
        return self.rows[index][1]

    def held_keys(self) -> list[str]:
        """The keys of the held rows, in list order."""
        return [self.rows[index][0] for index in sorted(self.rows)]

    def get_row(self, key: str) -> Sequence[Text | str | int]:
        """The cells of the held row with ``key`` (``KeyError`` when it is not held)."""
        for row_key, cells in self.rows.values():
            if row_key == key:
                return cells
        raise KeyError(key)

    def key_at(self, index: int) -> str | None:
        row = self.rows.get(index)
        return row[0] if row else None

    @property
    def current_key(self) -> str | None:
        return self.key_at(self.cursor_row) if self.row_count else None

    # ---------------------------------------------------------------- cursor

    def _clamp_cursor(self) -> None:
        last = max(0, self.row_count - 1)
        if self.cursor_row > last:
            self.cursor_row = last

    def move_cursor(self, row: int, animate: bool = False) -> None:
        """Put the cursor on ``row`` (0-based, clamped to the list) and scroll it into view."""
        self.cursor_row = max(0, min(row, max(0, self.row_count - 1)))
        self._scroll_to_cursor()

    def watch_cursor_row(self, old: int, new: int) -> None:
        # Only the two lines whose look changed (a move that scrolls repaints the table anyway).
        top, width = self.top_row, self.size.width
        for row in {old, new}:
            y = row - top + 1
            if 1 <= y <= self.page_height:
                self.refresh(Region(0, y, width, 1))

    def _scroll_to_cursor(self) -> None:
        height = self.page_height
        top = self.top_row
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + height:
            self.scroll_to(y=self.cursor_row - height + 1, animate=False, immediate=True)
        self._want_rows()

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_page_down(self) -> None:
        """A screenful down: the cursor and the view move together."""
        height = self.page_height
        target = min(self.cursor_row + height, max(0, self.row_count - 1))
        self.scroll_to(y=min(self.top_row + height, self.max_scroll_y), animate=False, immediate=True)
        self.move_cursor(target)

    def action_page_up(self) -> None:
        height = self.page_height
        self.scroll_to(y=max(0, self.top_row - height), animate=False, immediate=True)
        self.move_cursor(self.cursor_row - height)

    def action_first_row(self) -> None:
        self.move_cursor(0)

    def action_last_row(self) -> None:
        if self.total is None:
            self.pending_row = -1  # done when the count comes
        self.go_to_row(self.row_count - 1)

    def go_to_row(self, row: int) -> None:
        """Put row ``row`` (0-based) at the top of the view where it can be, the cursor on it (before the
        count has come, as far as the rows known, and there once it comes)."""
        if self.total is None and row >= self.known:
            self.pending_row = row if self.pending_row is None or self.pending_row >= 0 else -1
        row = max(0, min(row, max(0, self.row_count - 1)))
        self.scroll_to(y=min(row, self.max_scroll_y), animate=False, immediate=True)
        self.move_cursor(row)

    def action_cursor_left(self) -> None:
        self._move_column(self.cursor_column - 1)

    def action_cursor_right(self) -> None:
        self._move_column(self.cursor_column + 1)

    def _move_column(self, column: int) -> None:
        if not self.list_columns:
            return
        self.cursor_column = max(0, min(column, len(self.list_columns) - 1))
        start = sum(self.widths[:self.cursor_column]) + 2 * self.cell_padding * self.cursor_column
        end = start + self.widths[self.cursor_column] + 2 * self.cell_padding
        room = self.scrollable_content_region.width
        if start < self.scroll_x:
            self.scroll_to(x=start, animate=False, immediate=True)
        elif end > self.scroll_x + room:
            self.scroll_to(x=end - room, animate=False, immediate=True)
        self.refresh()

    def action_select_cursor(self) -> None:
        key = self.current_key
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def cycle_sort(self, column: int | None = None) -> Sort | None:
        """Step the sort of ``column`` (default: the cursor's); None when that column cannot be sorted."""
        index = self.cursor_column if column is None else column
        key = self.column_key_at(index)
        if key is None or key not in self.sortable:
            return None
        self.cursor_column = index
        self.sort = self.sort.next_for(key)
        self.refresh()
        self.post_message(self.SortChanged(self, self.sort))
        return self.sort

    def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        x = offset.x + round(self.scroll_x)
        column, edge = 0, 0
        for index, width in enumerate(self.widths):
            edge += width + 2 * self.cell_padding
            if x < edge:
                column = index
                break
        if offset.y == 0:
            self._move_column(column)
            self.cycle_sort(column)
            return
        row = self.top_row + offset.y - 1
        if row >= self.row_count:
            return
        self._move_column(column)
        if row == self.cursor_row:
            self.action_select_cursor()
        else:
            self.move_cursor(row)

    def _on_focus(self, event: events.Focus) -> None:
        self.refresh()

    def _on_blur(self, event: events.Blur) -> None:
        self.refresh()

    # ---------------------------------------------------------------- painting

    def _cell_style(self, style: Style, index: int, column_styles: dict[int, Style] | None) -> Style:
        """The style of a cell: the row's, its column's mark, and the column in the meta (cached: a Style's
        meta is pickled each time it is made)."""
        extra = column_styles.get(index) if column_styles else None
        key = (style, extra, index)
        cell_style = self._cell_styles.get(key)
        if cell_style is None:
            if len(self._cell_styles) > 512:
                self._cell_styles.clear()
            cell_style = style + extra if extra is not None else style
            # Each cell a style of its own (its column in the meta): a cell is one run of text, as DataTable's.
            cell_style += Style.from_meta({"column": index})
            self._cell_styles[key] = cell_style
        return cell_style

    def _cells(self, values: Sequence[Text | str | int], style: Style,
               column_styles: dict[int, Style] | None = None) -> list[Segment]:
        segments: list[Segment] = []
        pad = " " * self.cell_padding
        console = None
        for index, width in enumerate(self.widths):
            value = values[index] if index < len(values) else ""
            cell_style = self._cell_style(style, index, column_styles)
            plain = _plain_cell(value)
            if plain is not None:
                # Plain text (nearly every cell): fitted to its width without building a Text.
                segments.append(Segment(pad, cell_style))
                segments.append(Segment(fit_cell(plain, width), cell_style))
                segments.append(Segment(pad, cell_style))
                continue
            text = cut_text(value)
            text.truncate(width, overflow="ellipsis", pad=True)
            console = console or self.app.console
            segments.append(Segment(pad, cell_style))
            segments.extend(Segment.apply_style(text.render(console), cell_style))
            segments.append(Segment(pad, cell_style))
        return segments

    def header_labels(self) -> list[Text]:
        """The header cells; the sorted column's ends in its mark, which a narrow column never cuts away."""
        labels = []
        for column, width in zip(self.list_columns, self.widths, strict=False):
            label = cut_text(column.label)
            if column.key and column.key == self.sort.column:
                label.truncate(max(0, width - 2), overflow="ellipsis")
                label.append(f" {SORT_MARKS[self.sort.direction]}")
            labels.append(label)
        return labels

    def render_line(self, y: int) -> Strip:
        # The key first, from cheap values: a line already drawn is returned without asking for the widget's
        # style or content region (each costs more than the lookup; every refresh asks for every line).
        scroll_x = round(self.scroll_x)
        row: Row | None = None
        if y == 0:
            focused = self.has_focus and bool(self.list_columns)
            key: tuple[object, ...] = ("header", self.sort, self.cursor_column if focused else -1)
        else:
            index = self.top_row + y - 1
            if index >= self.row_count:
                key = ("blank",)
            else:
                row = self.rows.get(index)
                # A row not fetched yet is an empty line, the same in every generation (a new filter or sort
                # draws the screen empty first: those lines are drawn once, not once per keystroke).
                key = (index, self.generation, index == self.cursor_row) if row is not None else \
                    ("empty", index % 2, index == self.cursor_row)
        key += (self.has_focus, scroll_x, self.size)
        strip = self._line_cache.get(key)
        if strip is not None:
            return strip
        width = self.scrollable_content_region.width
        base = self._base_style()
        if key[0] == "blank":
            strip = Strip.blank(width, base)
        elif y == 0:
            style = base + self.get_component_rich_style("datatable--header")
            marked = {self.cursor_column: self.get_component_rich_style("datatable--header-cursor")} \
                if focused else None
            segments = self._cells(self.header_labels(), style, marked)
        else:
            if index == self.cursor_row:
                style = base + self.get_component_rich_style("datatable--cursor")
            else:
                style = base + self.get_component_rich_style("datatable--odd-row" if index % 2 else "datatable--even-row")
            segments = self._cells(row[1] if row else [], style)
        if strip is None:
            strip = Strip(segments).extend_cell_length(scroll_x + width, style).crop(scroll_x, scroll_x + width)
        if len(self._line_cache) > 8 * max(self.page_height, 10):
            self._line_cache.clear()
        self._line_cache[key] = strip
        return strip


def _plain_cell(value: Text | str | int) -> str | None:
    """A cell's text when it is plain (no style, no spans, nothing a terminal would read as a control)."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, Text):
        if value.spans or value.style:
            return None
        text = value.plain
    else:
        text = str(value)
    return text if text.isprintable() else None


def fit_cell(text: str, width: int) -> str:
    """``text`` in exactly ``width`` cells: padded, or cut ending in "…" (what ``Text.truncate`` does)."""
    length = cell_len(text)
    if length <= width:
        return text + " " * (width - length)
    return set_cell_size(text, width - 1) + "…"


def position_text(table: VirtualTable) -> str:
    """Where the cursor is in the list, for the count line under it: 'empty', 'row N of M', or 'row N'
    while the count is still being made."""
    row = table.cursor_row + 1 if table.row_count else 0
    if table.total == 0:
        return t("list.empty")
    if table.total is None:
        return t("list.position_unknown", row=row)
    return t("list.position", total=table.total, row=row)
