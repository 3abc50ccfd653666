"""Writing sheets that look like the paper forms: title, unit-and-date line, boxed header, signature block.

Every export goes through ``FormSheet`` on an openpyxl write-only workbook, so a 100k-row roster streams
to disk in constant memory. Write-only sheets need their column widths before the first row, so widths
are measured on the headers and a sample of the first rows (``column_widths``).
"""

from __future__ import annotations

import os
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from itertools import chain, islice
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from schema.paths import os_reason, output_problem
from stvs_tui.excel.errors import ExportFailed
from stvs_tui.formatting import display_text

PAPER_A4 = 9  # openpyxl's PAPERSIZE_A4; write-only sheets do not carry the constant
WIDTH_SAMPLE_ROWS = 300
MIN_WIDTH, MAX_WIDTH = 6, 60
NOT_APPLICABLE = "-"  # Chinese statistics convention: "-" where a figure does not apply, 0 for zero

_THIN = Side(style="thin", color="000000")
BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
TITLE_FONT = Font(name="宋体", size=16, bold=True)
HEADER_FONT = Font(name="宋体", size=11, bold=True)
BODY_FONT = Font(name="宋体", size=11)
HEADER_FILL = PatternFill("solid", fgColor="F2F2F2")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)


def display_width(value: Any) -> int:
    """Columns a value takes on screen: CJK and full-width characters count two, others one."""
    text = display_text(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)




def column_widths(headers: Sequence[str], sample: Iterable[Sequence[Any]]) -> list[float]:
    """Widths that fit the headers and the sampled values, within sane limits (long text wraps)."""
    widths = [display_width(h) for h in headers]
    for row in sample:
        for index, value in enumerate(row[: len(widths)]):
            widths[index] = max(widths[index], display_width(value))
    return [float(min(MAX_WIDTH, max(MIN_WIDTH, w + 2))) for w in widths]


def sample_rows(rows: Iterable[Sequence[Any]], size: int = WIDTH_SAMPLE_ROWS
                ) -> tuple[list[Sequence[Any]], Iterator[Sequence[Any]]]:
    """The first ``size`` rows (to measure) and an iterator over all rows (to write)."""
    iterator = iter(rows)
    head = list(islice(iterator, size))
    return head, chain(head, iterator)


class FormSheet:
    """One sheet of an export, written top to bottom; ``boxed`` gives every table cell a thin border."""

    def __init__(self, workbook: Workbook, title: str, widths: Sequence[float], *, frozen_rows: int = 0,
                 landscape: bool = True, boxed: bool = True) -> None:
        """``frozen_rows``: the rows down to the header's last, kept on screen and repeated on each printed
        page. A write-only sheet writes its view before the first row, so this is known up front."""
        self.ws: WriteOnlyWorksheet = workbook.create_sheet(title=title[:31])
        self.columns = len(widths)
        self.boxed = boxed
        self.row = 0
        for index, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = width
        if frozen_rows:
            self.ws.freeze_panes = f"A{frozen_rows + 1}"
            self.ws.print_title_rows = f"1:{frozen_rows}"
        self._print_setup(landscape)

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
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.page_margins.top = ws.page_margins.bottom = 0.6
        ws.oddFooter.center.text = "第 &P 页 共 &N 页"

    def _cell(self, value: Any, font: Font | None = None, alignment: Alignment | None = None,
              border: Border | None = None, fill: PatternFill | None = None) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.ws, value=value)
        if font is not None:
            cell.font = font
        if alignment is not None:
            cell.alignment = alignment
        if border is not None:
            cell.border = border
        if fill is not None:
            cell.fill = fill
        return cell

    def _append(self, cells: list[Any], height: float | None = None) -> int:
        self.ws.append(cells)
        self.row += 1
        if height is not None:
            self.ws.row_dimensions[self.row].height = height
        return self.row

    def merge(self, first_col: int, last_col: int, first_row: int | None = None, last_row: int | None = None) -> None:
        top = first_row or self.row
        bottom = last_row or top
        if last_col > first_col or bottom > top:
            self.ws.merged_cells.add(f"{get_column_letter(first_col)}{top}:{get_column_letter(last_col)}{bottom}")

    def line(self, text: str = "", *, font: Font = BODY_FONT, align: Alignment = LEFT,
             height: float | None = None) -> None:
        """A line of text across the whole width (merged), e.g. an annex number or a note."""
        self._append([self._cell(text, font, align)], height)
        self.merge(1, self.columns)

    def title(self, text: str) -> None:
        self.line(text, font=TITLE_FONT, align=CENTER, height=32)

    def split_line(self, left: str, right: str) -> None:
        """Two texts on one line: e.g. 填报单位（盖章） on the left, 填报日期 on the right."""
        half = max(1, self.columns // 2 + self.columns % 2)
        right_align = Alignment(horizontal="right", vertical="center")
        cells = [self._cell(left, BODY_FONT, LEFT)] + [None] * (half - 1) + [self._cell(right, BODY_FONT, right_align)]
        self._append(cells, 22)
        self.merge(1, half)
        self.merge(half + 1, self.columns)

    def header(self, labels: Sequence[str | None], height: float = 30, fonts: Sequence[Font] | None = None) -> int:
        """A boxed, shaded header row; ``None`` marks a cell covered by a merge."""
        cells = [self._cell(label, fonts[i] if fonts else HEADER_FONT, CENTER, BOX, HEADER_FILL)
                 for i, label in enumerate(labels)]
        return self._append(cells, height)

    def data_row(self, values: Sequence[Any], *, bold: bool = False) -> None:
        if not self.boxed:
            self._append(list(values))
            return
        font = HEADER_FONT if bold else BODY_FONT
        self._append([self._cell(v, font, CENTER if isinstance(v, int | float) else LEFT, BOX) for v in values])

    def data_rows(self, rows: Iterable[Sequence[Any]]) -> int:
        count = 0
        for values in rows:
            self.data_row(values)
            count += 1
        return count

    def text_box(self, label: str, text: str, height: float = 80) -> None:
        """A labelled free-text box across the table (e.g. 工作亮点), tall enough to write in by hand."""
        cells = [self._cell(label, HEADER_FONT, CENTER, BOX)]
        cells += [self._cell(text or None, BODY_FONT, Alignment(vertical="top", wrap_text=True), BOX)]
        cells += [self._cell(None, border=BOX) for _ in range(self.columns - 2)]
        self._append(cells, height)
        self.merge(2, self.columns)

    def signature_block(self, items: Sequence[str]) -> None:
        """The paper form's sign-off line: 负责人：____ 填报人：____ 联系电话：____ (blank for a pen)."""
        self._append([])
        per = max(1, self.columns // len(items))
        cells: list[Any] = []
        for item in items:
            cells.append(self._cell(item if "：" in item else f"{item}：", BODY_FONT, LEFT))
            cells.extend([None] * (per - 1))
        first_row = self._append(cells, 24)
        for index in range(len(items)):
            self.merge(index * per + 1, min(self.columns, (index + 1) * per), first_row)


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
    yield workbook
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
        Path(temp_name).unlink(missing_ok=True)
        raise
