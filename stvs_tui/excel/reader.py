"""Reading an .xlsx safely and fast: refuse what is not one, find the header row, stream the data rows.

The file is read with openpyxl in read-only mode, so memory stays flat however long the sheet is; a
sheet that declares (or turns out to have) more rows than an import takes is refused early.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import SHEET_MAIN_NS

from stvs_tui.excel.errors import TooManyRows, UnreadableWorkbook, UnrecognisedSheet

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An encrypted OOXML file is an OLE container holding these streams (names stored as UTF-16LE).
ENCRYPTION_MARKERS = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))
HEADER_SCAN_ROWS = 30
MAX_IMPORT_ROWS = 100_000
_INLINE_STRING = f"{{{SHEET_MAIN_NS}}}is"
_TEXT = f"{{{SHEET_MAIN_NS}}}t"


@dataclass(frozen=True)
class Cell:
    """A cell value with what the importer must know beyond it: its column and Excel's type code."""

    column: int
    value: Any
    data_type: str  # "s" text, "n" number, "d" date, "b" boolean, "f" formula, "e" error value


@dataclass
class SheetScan:
    """What streaming a sheet found besides its rows: merged ranges (known once the stream has ended)."""

    merged: list[str] = field(default_factory=list)


def check_signature(path: Path) -> None:
    """Tell the usual wrong files apart before openpyxl sees them, each with its own clear reason."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise UnreadableWorkbook(f"无法打开文件 {path}：{exc.strerror} (cannot open the file)") from None
    if head.startswith(OLE_MAGIC):
        if _is_encrypted_ooxml(path):
            raise UnreadableWorkbook(f"{path.name} 设有打开密码，请在Excel中取消密码后另存为.xlsx再导入 "
                                     "(the workbook is password-protected: remove the password and save again)")
        raise UnreadableWorkbook(f"{path.name} 是旧版Excel 97-2003 (.xls) 文件，请在Excel或WPS中另存为.xlsx再导入 "
                                 "(an old .xls workbook: save it as .xlsx first)")
    if not head.startswith(ZIP_MAGIC):
        raise UnreadableWorkbook(f"{path.name} 不是Excel工作簿(.xlsx) "
                                 "(not an Excel .xlsx workbook; CSV and other formats are not read)")


def _is_encrypted_ooxml(path: Path) -> bool:
    # The directory of an OLE container sits near the start of small files and in sector chains of large
    # ones; encrypted workbooks are rarely big, so scanning the first MiBs is enough and stays cheap.
    with path.open("rb") as handle:
        data = handle.read(8 * 1024 * 1024)
    return any(marker in data for marker in ENCRYPTION_MARKERS)


def open_workbook(path: Path) -> Workbook:
    path = Path(path)
    check_signature(path)
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise UnreadableWorkbook(f"{path.name} 已损坏或不是有效的.xlsx工作簿 (damaged, or not a valid .xlsx): {exc}") \
            from None


class _RowParser(WorkSheetParser):
    """openpyxl's streaming sheet parser with a quicker path for inline strings, which openpyxl itself
    writes for every text cell (our own exports and templates); other cells take openpyxl's own path."""

    def parse_cell(self, element: Any) -> dict[str, Any]:
        # Plain <c r=".." t="inlineStr"><is><t>text</t></is></c>; rich text and formulas take the long way.
        if element.get("t") == "inlineStr" and len(element) == 1:
            inline = element[0]
            coordinate = element.get("r")
            if inline.tag == _INLINE_STRING and len(inline) == 1 and inline[0].tag == _TEXT and coordinate:
                row, column = coordinate_to_tuple(coordinate)
                self.col_counter = column
                return {"row": row, "column": column, "value": inline[0].text or "", "data_type": "s",
                        "style_id": 0}
        return super().parse_cell(element)


def declared_rows(sheet: ReadOnlyWorksheet) -> int | None:
    """The row count the sheet's <dimension> claims (None when the writer left it out)."""
    return sheet.max_row


def stream_rows(workbook: Workbook, sheet: ReadOnlyWorksheet, scan: SheetScan
                ) -> Iterator[tuple[int, list[Cell]]]:
    """(row number, non-empty cells) for each row; ``scan.merged`` is filled when the stream ends."""
    with sheet._get_source() as source:
        parser = _RowParser(source, sheet._shared_strings, data_only=False, epoch=workbook.epoch,
                            date_formats=workbook._date_formats, timedelta_formats=workbook._timedelta_formats)
        for row_number, cells in parser.parse():
            yield row_number, [Cell(c["column"], c["value"], c["data_type"]) for c in cells
                               if c["value"] is not None and c["value"] != ""]
        if parser.merged_cells is not None:
            scan.merged.extend(str(m.ref) for m in parser.merged_cells.mergeCell)


def refuse_if_too_long(sheet_name: str, rows: int, limit: int, slack: int = 0) -> None:
    """Refuse ``rows`` beyond ``limit`` data rows (``slack``: title and header rows a sheet may add)."""
    if rows > limit + slack:
        raise TooManyRows(f"工作表“{sheet_name}”有{rows:,}行，超过单次导入上限{limit:,}行；请分成多个文件导入 "
                          f"(more than {limit:,} rows: split the file)")


def merged_problem_ranges(merged: list[str], header_row: int) -> list[tuple[int, int, str]]:
    """Merged ranges that touch the header or the data (a merged title above the header is fine)."""
    found = []
    for ref in merged:
        min_col, min_row, _max_col, max_row = range_boundaries(ref)
        if max_row >= header_row:
            found.append((min_row, min_col, ref))
    return sorted(found)


def visible_sheets(workbook: Workbook) -> list[ReadOnlyWorksheet]:
    return [ws for ws in workbook.worksheets if getattr(ws, "sheet_state", "visible") == "visible"]


def pick_sheet(workbook: Workbook, name: str | None) -> list[ReadOnlyWorksheet]:
    """The sheets to search for a roster: the named one, or every visible sheet in order."""
    if name is None:
        return visible_sheets(workbook)
    if name not in workbook.sheetnames:
        raise UnrecognisedSheet(f"没有名为“{name}”的工作表；现有：{'、'.join(workbook.sheetnames)} "
                                f"(no sheet named {name!r})")
    return [workbook[name]]


def column_letter(column: int) -> str:
    return get_column_letter(column)
