"""Writing sheets that print like the paper forms: title, boxed header repeated on each page, wrapped cells
in rows tall enough for their text, page numbers, and a sign-off block with room for the unit's seal.

Every export goes through ``FormSheet`` on an openpyxl write-only workbook, so a 100k-row roster streams
to disk in constant memory. A write-only sheet writes each row as it is appended, so everything about a
row (its height) and about the sheet's top (column widths, frozen panes) is worked out before it is
written: column widths from the headers and a sample of rows (``column_widths``), row heights from each
row's text and the widths (``FormSheet.data_row``).

Measures are in points and chosen for the wider of the two renderers a clerk meets: LibreOffice draws
宋体 with Noto Sans CJK (taller lines) and Latin digits with DejaVu Sans (wider than SimSun's), Excel
with SimSun; a form laid out for the first fits the second.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from functools import cache
from itertools import chain, islice
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from schema.paths import os_reason, output_problem
from stvs_tui.excel.errors import ExportFailed
from stvs_tui.formatting import display_text

PAPER_A4 = 9  # openpyxl's PAPERSIZE_A4; write-only sheets do not carry the constant
A4_POINTS = (595.3, 841.9)  # portrait width, height
SIDE_MARGIN_IN, TOP_MARGIN_IN, FOOTER_IN = 0.4, 0.6, 0.3
WIDTH_SAMPLE_ROWS = 300
NOT_APPLICABLE = "-"  # Chinese statistics convention: "-" where a figure does not apply, 0 for zero

# Font sizes (pt). 五号 (10.5) on forms, 10 on long lists, 小四 (12) on the certificate: all print at
# their size, because the columns are fitted to the page instead of the page being shrunk to the columns.
TITLE_SIZE, FORM_SIZE, LIST_SIZE, CERTIFICATE_SIZE = 18.0, 10.5, 10.0, 12.0
# One column-width unit: 5.35–5.6 pt in Excel (7 px a unit and 5 px a column), 5.55 pt in LibreOffice (with
# Carlito for Calibri): text is measured against the narrower, the page against the wider.
TEXT_POINTS_PER_UNIT, PAGE_POINTS_PER_UNIT = 5.35, 5.6
CELL_PADDING = 6.0  # points of a cell's width its text cannot use
SLACK = 1.05  # Latin text with spaces measured 5% wider: a word that does not fit goes whole to the next line
NARROW_EM = 0.64  # a Latin letter or digit, in ems (DejaVu Sans; SimSun's are 0.5)
LINE_EM = 1.45  # a wrapped line's height, in ems (Noto Sans CJK; SimSun's lines are tighter)
ROW_PADDING = 4.0
MAX_ROW_HEIGHT = 409.0  # Excel's limit
WRAP_MIN_CHARS = 4  # a wrapping column keeps at least four Chinese characters a line
SEAL_MM = 42  # the common round seal of a unit (国标 GA 241: 42 mm)
SEAL_ROW = SEAL_MM / 25.4 * 72 + 8  # the sign-off row: the seal's height and a little air

_THIN = Side(style="thin", color="000000")
BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
HEADER_FILL = PatternFill("solid", fgColor="F2F2F2")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
RIGHT = Alignment(horizontal="right", vertical="center", wrap_text=True)
TOP_LEFT = Alignment(horizontal="left", vertical="top", wrap_text=True)
UNPRINTED = Alignment(horizontal="left", vertical="center")


@cache
def song(size: float, bold: bool = False) -> Font:
    """宋体 at ``size`` points: the face of printed official forms."""
    return Font(name="宋体", size=size, bold=bold)


TITLE_FONT = song(TITLE_SIZE, True)
HEADER_FONT = song(FORM_SIZE, True)
BODY_FONT = song(FORM_SIZE)


def display_width(value: Any) -> int:
    """Columns a value takes on screen: CJK and full-width characters count two, others one."""
    text = display_text(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def text_points(text: str, size: float) -> float:
    """The printed width of one line of ``text`` at ``size`` points: a Chinese character is one em, a Latin
    letter or digit ``NARROW_EM``. Counted from the UTF-8 length (three bytes a Chinese character), which is
    C speed: a 100k-row roster measures every cell."""
    count = len(text)
    if text.isascii():
        return count * NARROW_EM * size
    wide = min(count, (len(text.encode()) - count) // 2)
    return (wide + (count - wide) * NARROW_EM) * size


def text_room(width: float) -> float:
    """Points of text a line holds in a cell ``width`` units wide."""
    return max(1.0, width * TEXT_POINTS_PER_UNIT - CELL_PADDING)


def line_count(value: Any, room: float, size: float) -> int:
    """Lines ``value`` wraps to in a cell holding ``room`` points a line (explicit line breaks count too)."""
    if value is None:
        return 1
    text = value if isinstance(value, str) else display_text(value)
    if len(text) * size <= room and "\n" not in text:
        return 1  # fits even if every character is a Chinese one: the common case, measured for free
    return sum(_wrapped(line, room, size) for line in text.split("\n"))


def _wrapped(line: str, room: float, size: float) -> int:
    points = text_points(line, size) * (SLACK if " " in line else 1.0)
    # less a hair: a column sized for exactly this text, rounded to 0.01 of a unit, still holds it
    lines = max(1, math.ceil(points / room - 0.01))
    if lines > 1 and not line.isascii():
        # Chinese line breaking keeps 、，。） off the start of a line: a line ends a character early
        # where one would, at most once a line
        early = min(lines - 1, len(_NO_LINE_START.findall(line)))
        lines = max(1, math.ceil((points + early * size) / room - 0.01))
    return lines


def row_height(lines: int, size: float) -> float:
    return min(MAX_ROW_HEIGHT, lines * LINE_EM * size + ROW_PADDING)


def units(points: float) -> float:
    """Column-width units that hold ``points`` of text."""
    return (points + CELL_PADDING) / TEXT_POINTS_PER_UNIT


def page_units(landscape: bool) -> float:
    """Column-width units across an A4 page within the side margins (2% kept spare)."""
    width = A4_POINTS[1] if landscape else A4_POINTS[0]
    return (width - 2 * SIDE_MARGIN_IN * 72) / PAGE_POINTS_PER_UNIT * 0.98


def page_height(landscape: bool) -> float:
    """Points an A4 page holds between the top and bottom margins (5% kept spare for the renderer)."""
    return ((A4_POINTS[0] if landscape else A4_POINTS[1]) - 2 * TOP_MARGIN_IN * 72) * 0.95


_NO_LINE_START = re.compile("[、，。；：？！）》」』”’]")
_BEFORE_PARENTHESIS = re.compile(r"(?=[(（])")


def _lines_of(value: Any) -> list[str]:
    return display_text(value).split("\n")


def _fixed(value: Any) -> bool:
    """A value that must not wrap: a number, a date, an ID, a phone (ASCII without spaces)."""
    if value is None or isinstance(value, int | float | date):
        return True
    text = str(value)
    return text.isascii() and " " not in text


def column_widths(headers: Sequence[str | None], sample: Iterable[Sequence[Any]], *, landscape: bool = True,
                  size: float = FORM_SIZE, printed: int | None = None, fill: bool = True,
                  fit: bool = True) -> list[float]:
    """Widths that fit the first ``printed`` columns (default all) across an A4 page at ``size`` points
    (``fit=False``: each column as wide as its widest value, for a sheet filled in on screen).

    Each column needs its narrowest: numbers, dates and IDs their widest value on one line, text
    ``WRAP_MIN_CHARS`` characters a line, a header a third of its length. What the page has over that goes
    to the columns in proportion to what more they want (the widest value, the widest but one in ten for
    text, whose rare long values may wrap), so long text gets the room. A table narrower than the page is
    widened to fill it (``fill``), as a paper form is.
    """
    count = printed or len(headers)
    seen: list[list[float]] = [[] for _ in headers]
    fixed = [True] * len(headers)
    for row in sample:
        for index, value in enumerate(row[: len(headers)]):
            seen[index].append(max(text_points(line, size) for line in _lines_of(value)))
            if fixed[index] and not _fixed(value):
                fixed[index] = False
    natural, least = [], []
    for header, widths, is_fixed in zip(headers, seen, fixed, strict=True):
        title = text_points(header or "", size)
        widths.sort()
        wide = widths[-1] if widths else 0.0
        typical = wide if is_fixed or not widths else widths[int(len(widths) * 0.9)]
        natural.append(units(max(title, typical)))
        narrowest = wide if is_fixed else min(wide, WRAP_MIN_CHARS * size)
        least.append(units(max(narrowest, _header_least(header or "", size))))
    wraps = [not is_fixed for is_fixed in fixed[:count]]
    fitted = _fit(natural[:count], least[:count], page_units(landscape), wraps if fill else None) if fit \
        else natural[:count]
    return [math.ceil(w * 100) / 100 for w in fitted + natural[count:]]


def _header_least(header: str, size: float) -> float:
    """A header wraps, but not inside the words before its parenthesis (服务时长 / (小时)), nor to under two
    characters or more than four lines."""
    title = text_points(header, size)
    parts = _BEFORE_PARENTHESIS.split(header)
    words = max(text_points(part, size) for part in parts) if len(parts) > 1 else 0.0
    return min(title, max(2 * size, title / 4, words))


def _fit(natural: list[float], least: list[float], room: float, fill: list[bool] | None) -> list[float]:
    """Each column its least, and the room left shared in proportion to what more each wants; a table
    narrower than ``room`` is widened in its wrapping columns (``fill``: which they are), or in all."""
    total = sum(natural)
    if total <= room:
        if fill is None or not total:
            return natural
        growing = sum(w for w, wraps in zip(natural, fill, strict=True) if wraps) or total
        extra = (room - total) / growing
        return [w * (1 + extra) if wraps or growing == total else w for w, wraps in zip(natural, fill, strict=True)]
    spare = room - sum(least)
    if spare <= 0:
        return least  # too many columns even at their narrowest: the printer's fit-to-width shrinks it
    share = spare / (total - sum(least))
    return [m + (n - m) * share for n, m in zip(natural, least, strict=True)]


def sample_rows(rows: Iterable[Sequence[Any]], size: int = WIDTH_SAMPLE_ROWS
                ) -> tuple[list[Sequence[Any]], Iterator[Sequence[Any]]]:
    """The first ``size`` rows (to measure) and an iterator over all rows (to write)."""
    iterator = iter(rows)
    head = list(islice(iterator, size))
    return head, chain(head, iterator)


def as_text_if_formula(cell: WriteOnlyCell) -> WriteOnlyCell:
    """Keep text text: openpyxl makes a string beginning with ``=`` a formula and ``#N/A`` an error value.
    Data never becomes a formula in an export (``=cmd|…``, ``=HYPERLINK(…)`` from an imported cell would
    run or link in the clerk's Excel); the quote prefix keeps it text when the cell is edited, too."""
    if cell.data_type in ("f", "e"):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


class _BodyCell(Cell):
    """A reused body cell of ``data_rows`` whose style is registered once: the writer reads ``style_id`` for
    every cell it writes, and openpyxl's own property hashes the style each time."""

    __slots__ = ("style_id",)
    has_style = True


def _cells_to_row(cells: Sequence[Cell | None], row: int) -> Iterator[Cell]:
    """What openpyxl's write-only sheet makes of an appended row of cells (openpyxl 3.1's
    ``_values_to_row``), without first trying each cell as a value: that raises and catches an exception
    per cell. FormSheet appends nothing but cells."""
    for column, cell in enumerate(cells, start=1):
        if cell is not None:
            cell.column, cell.row = column, row
            yield cell


class FormSheet:
    """One sheet of an export, written top to bottom: every table cell boxed, every row as tall as its text."""

    def __init__(self, workbook: Workbook, title: str, widths: Sequence[float], *, frozen_rows: int = 0,
                 landscape: bool = True, size: float = FORM_SIZE, printed: int | None = None) -> None:
        """``frozen_rows``: the rows down to the header's last, kept on screen (a write-only sheet writes its
        view before the first row). ``printed``: how many columns, from the first, are printed."""
        self.ws: WriteOnlyWorksheet = workbook.create_sheet(title=title[:31])
        self.ws._values_to_row = _cells_to_row  # type: ignore[method-assign]
        self.widths = list(widths)
        self.columns = len(widths)
        self.printed = printed or self.columns
        self.size = size
        self.body_font, self.bold_font = song(size), song(size, True)
        self.row = 0
        self.height = 0.0  # points written so far (to fill a page)
        self._header_rows: list[int] = []
        self._row_cells: list[WriteOnlyCell] | None = None
        for index, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = width
        if frozen_rows:
            self.ws.freeze_panes = f"A{frozen_rows + 1}"
        self._print_setup(landscape)
        # A row of one line of body text is the sheet's default height, so most rows need no height of their own.
        self.one_line = round(row_height(1, size), 1)
        self.ws.sheet_format.defaultRowHeight = self.one_line
        self.ws.sheet_format.customHeight = True

    def declare_last_row(self, last_row: int) -> None:
        """Write the sheet's size into <dimension>, which write-only sheets leave out: readers (our importer
        too) then know the size without a pass over the whole sheet. Call before the first row."""
        ref = f"A1:{get_column_letter(self.columns)}{last_row}"
        self.ws.calculate_dimension = lambda: ref  # openpyxl's writer asks the sheet for this, if it has it

    def _print_setup(self, landscape: bool) -> None:
        ws = self.ws
        ws.page_setup.paperSize = PAPER_A4
        ws.page_setup.orientation = "landscape" if landscape else "portrait"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0  # as many pages tall as needed, one page wide
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.horizontalCentered = True
        ws.page_margins.left = ws.page_margins.right = SIDE_MARGIN_IN
        ws.page_margins.top = ws.page_margins.bottom = TOP_MARGIN_IN
        ws.page_margins.header = ws.page_margins.footer = FOOTER_IN
        ws.oddFooter.center.text = "第 &P 页 共 &N 页"
        ws.oddFooter.center.size = 10
        ws.oddFooter.center.font = "宋体"

    def finish(self) -> None:
        """Limit printing to the printed columns; call after the last row."""
        if self.printed < self.columns:
            self.ws.print_area = f"A1:{get_column_letter(self.printed)}{max(1, self.row)}"

    # ---- cells and rows ----------------------------------------------------------------------------------

    def _cell(self, value: Any, font: Font | None = None, alignment: Alignment | None = None,
              border: Border | None = None, fill: PatternFill | None = None) -> WriteOnlyCell:
        cell = as_text_if_formula(WriteOnlyCell(self.ws, value=value))
        if font is not None:
            cell.font = font
        if alignment is not None:
            cell.alignment = alignment
        if border is not None:
            cell.border = border
        if fill is not None:
            cell.fill = fill
        return cell

    def _span_width(self, first: int, last: int) -> float:
        return sum(self.widths[first - 1:last])

    def _fit_height(self, values: Sequence[Any], spans: Sequence[tuple[int, int]] = (),
                    size: float | None = None) -> float:
        """The height a row of ``values`` needs: its tallest cell, merged spans measured at their width."""
        size = size or self.size
        starts = {first: last for first, last in spans}
        lines = 1
        for index, value in enumerate(values, start=1):
            if value is None:
                continue
            room = text_room(self._span_width(index, starts.get(index, index)))
            lines = max(lines, line_count(value, room, size))
        return row_height(lines, size)

    def _append(self, cells: list[Any], height: float) -> int:
        # A write-only sheet writes the row on append and reads its height from row_dimensions then.
        self.row += 1
        height = round(height, 1)
        if height == self.one_line:  # the sheet's default row height: nothing to write
            self.ws.append(cells)
        else:
            self.ws.row_dimensions[self.row].height = height
            self.ws.append(cells)
            del self.ws.row_dimensions[self.row]  # written: a long list need not keep 100k of them
        self.height += height
        return self.row

    def merge(self, first_col: int, last_col: int, first_row: int | None = None, last_row: int | None = None) -> None:
        top = first_row or self.row
        bottom = last_row or top
        if last_col > first_col or bottom > top:
            self.ws.merged_cells.add(f"{get_column_letter(first_col)}{top}:{get_column_letter(last_col)}{bottom}")

    def line(self, text: str = "", *, font: Font | None = None, align: Alignment = LEFT,
             height: float | None = None) -> None:
        """A line of text across the printed width (merged), e.g. an annex number or a note."""
        font = font or self.body_font
        size = font.size or self.size
        fitted = self._fit_height([text], [(1, self.printed)], size)
        self._append([self._cell(text, font, align)], max(height or 0, fitted))
        self.merge(1, self.printed)

    def title(self, text: str, size: float = TITLE_SIZE) -> None:
        self.line(text, font=song(size, True), align=CENTER, height=size * 2.2)

    def split_line(self, left: str, right: str) -> None:
        """Two texts on one line: e.g. 填报单位 on the left, 报告期 on the right."""
        half = self._split(left, right, self.size)
        height = max(self._fit_height([left], [(1, half)]),
                     self._fit_height([None] * half + [right], [(half + 1, self.printed)]), 22)
        cells = [self._cell(left, self.body_font, LEFT)] + [None] * (half - 1)
        cells += [self._cell(right, self.body_font, RIGHT)]
        self._append(cells, height)
        self.merge(1, half)
        self.merge(half + 1, self.printed)

    def _split(self, left: str | None, right: str | None, size: float) -> int:
        """The last column of a line's left part: near the middle of the width, and where both texts fit on
        their lines (a unit's name under its seal is not broken), if anywhere."""
        need_left, need_right = (max((units(text_points(line, size)) for line in (text or "").split("\n")),
                                     default=0.0) for text in (left, right))
        total = self._span_width(1, self.printed)
        fitting = [k for k in range(1, self.printed)
                   if self._span_width(1, k) >= need_left and self._span_width(k + 1, self.printed) >= need_right]
        candidates = fitting or range(1, max(2, self.printed))
        return min(candidates, key=lambda k: abs(self._span_width(1, k) - total / 2))

    def header(self, labels: Sequence[str | None], height: float | None = None,
               fonts: Sequence[Font] | None = None, spans: Sequence[tuple[int, int]] = ()) -> int:
        """A boxed, shaded header row, repeated at the top of each printed page; ``None`` marks a cell covered
        by a merge, ``spans`` are its horizontal merges (first, last column)."""
        starts = {first: last for first, last in spans}
        labels = [self._break_before_parenthesis(label, self._span_width(i, starts.get(i, i)))
                  for i, label in enumerate(labels, start=1)]
        cells = [self._cell(label, fonts[i] if fonts else self.bold_font, CENTER, BOX, HEADER_FILL)
                 for i, label in enumerate(labels)]
        row = self._append(cells, max(height or 0, self._fit_height(labels, spans)))
        for first, last in spans:
            self.merge(first, last)
        self._header_rows.append(row)
        self.ws.print_title_rows = f"{self._header_rows[0]}:{row}"
        return row

    def _break_before_parenthesis(self, label: str | None, width: float) -> str | None:
        """服务时长(小时) in a column too narrow for it: 服务时长 / (小时), not 服务时长(小 / 时)."""
        if not label or line_count(label, text_room(width), self.size) == 1:
            return label
        return _BEFORE_PARENTHESIS.sub("\n", label, count=1) if _BEFORE_PARENTHESIS.search(label) else label

    def data_row(self, values: Sequence[Any], *, bold: bool = False, spans: Sequence[tuple[int, int]] = ()) -> None:
        """A boxed row; ``spans`` are horizontal merges (first, last column) measured at their merged width."""
        font = self.bold_font if bold else self.body_font
        cells = [self._cell(v, font, CENTER if _centred(v) else LEFT, BOX) for v in values]
        self._append(cells, self._fit_height(values, spans))
        for first, last in spans:
            self.merge(first, last)

    def data_rows(self, rows: Iterable[Sequence[Any]]) -> int:
        """Boxed rows in bulk, as ``data_row`` writes them but quicker: one cell per column is reused (the
        writer writes each row on append) with styles made once, and only text that may not fit one line
        is measured, so a long list costs little more than bare values. Columns right of the printed ones
        hold data for the screen and for import: plain cells on one line, none where there is no value."""
        printed = self.printed
        styles = [(self._styles(LEFT), self._styles(CENTER))] * printed
        styles += [(self._styles(UNPRINTED, None), self._styles(UNPRINTED, None))] * (self.columns - printed)
        cells = [_BodyCell(self.ws) for _ in range(self.columns)]
        rooms = [text_room(w) for w in self.widths]
        size, one_line = self.size, row_height(1, self.size)
        # texts up to these lengths fit one line for sure: any characters / Latin letters and digits only
        sure = [room / size for room in rooms[:printed]] + [math.inf] * (self.columns - printed)
        sure_ascii = [room / (size * NARROW_EM) for room in rooms]
        count = 0
        for values in rows:
            height = one_line
            row: list[_BodyCell | None] = []
            for index, value in enumerate(values):
                if value is None and index >= printed:
                    row.append(None)
                    continue
                if value.__class__ is str and (len(value) > sure[index] or "\n" in value) and not (
                        len(value) <= sure_ascii[index] and value.isascii() and "\n" not in value):
                    height = max(height, row_height(line_count(value, rooms[index], size), size))
                cell = cells[index]
                _put(cell, value, styles[index][_centred(value)])
                row.append(cell)
            self._append(row, height)
            count += 1
        return count

    def _styles(self, alignment: Alignment, border: Border | None = BOX) -> dict[str, tuple[StyleArray, int]]:
        """A body cell's style and its variants (quoted text, a date, a date and time), each with its index
        among the workbook's cell styles. The workbook keeps the very objects it is given, so each is made
        once here and never changed afterwards."""
        def styled(**attributes: Any) -> tuple[StyleArray, int]:
            cell = self._cell(None, self.body_font, alignment, border)
            for name, value in attributes.items():
                setattr(cell, name, value)
            style = StyleArray(cell._style)
            return style, self.ws.parent._cell_styles.add(style)

        return {"plain": styled(), "quoted": styled(quotePrefix=True), "date": styled(number_format="yyyy-mm-dd"),
                "datetime": styled(number_format="yyyy-mm-dd hh:mm")}

    def text_box(self, label: str, text: str, height: float = 80) -> None:
        """A labelled free-text box across the table (e.g. 工作亮点), tall enough to write in by hand."""
        cells = [self._cell(label, self.bold_font, CENTER, BOX)]
        cells += [self._cell(text or None, self.body_font, TOP_LEFT, BOX)]
        cells += [self._cell(None, border=BOX) for _ in range(self.printed - 2)]
        fitted = self._fit_height([label, text or None], [(2, self.printed)])
        self._append(cells, max(height, fitted))
        self.merge(2, self.printed)

    def spacer(self, height: float) -> None:
        self._append([], height)

    def sign_off(self, people: Sequence[str], stamp: Sequence[str]) -> None:
        """The sign-off block in one row (so a page break never splits it): on the left the people who sign
        (负责人：, 填报人：…, 联系电话：) with room for a pen, on the right the unit to be stamped and the
        date, centred in a row as tall as a 42 mm seal."""
        self.spacer(10)
        left = "\n\n".join(p if "：" in p else f"{p}：" for p in people) if people else None
        right = "\n\n".join(stamp)
        half = self._split(left, right, self.size)
        cells = [self._cell(left, self.body_font, LEFT)] + [None] * (half - 1)
        cells += [self._cell(right, self.body_font, CENTER)]
        needed = max(self._fit_height([left], [(1, half)]),
                     self._fit_height([None] * half + [right], [(half + 1, self.printed)]))
        self._append(cells, max(SEAL_ROW, needed))
        self.merge(1, half)
        self.merge(half + 1, self.printed)

    def fill_page(self, landscape: bool, then: float) -> None:
        """A blank row that makes what is written so far plus ``then`` points fill the first page."""
        room = page_height(landscape) - self.height - then
        if room > 0:
            self.spacer(min(room, MAX_ROW_HEIGHT))


def _centred(value: Any) -> bool:
    """Figures sit centred in their cells, and so does the "-" that stands for one."""
    return isinstance(value, int | float) or value == NOT_APPLICABLE


_DATED = {datetime: "datetime", date: "date"}


def _put(cell: _BodyCell, value: Any, styles: dict[str, tuple[StyleArray, int]]) -> None:
    """Give a reused cell its value and the style for it. The style goes first: openpyxl gives a date value a
    date format by changing the cell's style in place, which a shared style must not suffer."""
    cell._style, cell.style_id = styles[_DATED.get(value.__class__, "plain")]
    cell.value = value
    if cell.data_type in ("f", "e"):  # see as_text_if_formula
        cell.data_type = "s"
        cell._style, cell.style_id = styles["quoted"]


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"


@contextmanager
def saving_workbook(path: Path) -> Iterator[Workbook]:
    """A write-only workbook saved to ``path`` atomically, owner-readable only (exports hold personal data).

    A failure half-way leaves no file behind, and an existing file is replaced only by a complete one.
    """
    path = Path(path)
    problem = output_problem(path)  # before any row is written: a refusal leaves nothing half done
    if problem:
        raise ExportFailed(problem)
    workbook = Workbook(write_only=True)
    try:
        yield workbook
    except BaseException:
        _discard_sheet_streams(workbook)
        raise
    try:
        handle, temp_name = tempfile.mkstemp(prefix=".stvs-export-", suffix=".xlsx", dir=path.parent)
    except OSError as exc:
        raise ExportFailed(f"{path.parent}: 无法写入 (cannot write there): {os_reason(exc)}") from None
    os.close(handle)
    try:
        workbook.save(temp_name)
        os.chmod(temp_name, 0o600)
        os.replace(temp_name, path)
    except BaseException:
        _discard_sheet_streams(workbook)
        Path(temp_name).unlink(missing_ok=True)
        raise


def _discard_sheet_streams(workbook: Workbook) -> None:
    """After a failed save (a full disk), close each write-only sheet's stream and remove its temp file now:
    left to the garbage collector, each would print an "Exception ignored" traceback under the one-line error."""
    for sheet in workbook.worksheets:
        writer = getattr(sheet, "_writer", None)
        if writer is None:
            continue
        with contextlib.suppress(Exception):  # the same disk error again: the one reported is enough
            writer.xf.close()
        with contextlib.suppress(OSError, ValueError):
            writer.cleanup()
