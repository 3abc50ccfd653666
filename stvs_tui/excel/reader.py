"""Reading an .xlsx safely and fast: refuse what is not one (or is a bomb), then read a sheet's rows.

Rows are read with python-calamine (Rust), after ``package`` has checked the zip and scanned the sheet's
XML for what calamine does not report (hidden rows and columns, merged ranges, formula and error cells).
calamine builds a dense grid of the used area, so a sheet whose cells lie far apart (one stray value at
row 1,048,576) would cost gigabytes: such a sheet is streamed through openpyxl's parser instead.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count, repeat
from pathlib import Path
from typing import Any

import python_calamine

from stvs_tui.excel.errors import TooManyRows, UnreadableWorkbook, UnrecognisedSheet
from stvs_tui.excel.package import (
    Package,
    SheetEntry,
    SheetFacts,
    check_alongside,
    check_well_formed,
    damaged,
    open_package,
    scan_sheet,
)

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An encrypted OOXML file is an OLE container holding these streams (names stored as UTF-16LE).
ENCRYPTION_MARKERS = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))
HEADER_SCAN_ROWS = 30
MAX_IMPORT_ROWS = 100_000
DENSE_CELLS = 4_000_000  # calamine's grid for 100k rows of 26 columns is 2.6M cells (32 bytes each)

# (row number, the row's values, the column of values[0] less one): column c is values[c - 1 - offset].
Row = tuple[int, list[Any], int]


def check_signature(path: Path) -> None:
    """Tell the usual wrong files apart before any reader sees them, each with its own clear reason."""
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


@dataclass
class SheetRead:
    """One sheet being read: its scan and its rows (a generator: close it when stopping early)."""

    entry: SheetEntry
    facts: SheetFacts
    rows: Iterator[Row]


class Book:
    """An opened workbook: the checked package, and calamine opened on first use."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        check_signature(self.path)
        self.archive, self.package = open_package(self.path)

    @property
    def program(self) -> str:
        return self.package.program

    def close(self) -> None:
        self.archive.close()

    def pick(self, name: str | None) -> list[SheetEntry]:
        """The sheets to search for a roster: the named one, or every visible sheet in order."""
        sheets = self.package.sheets
        if name is None:
            return [s for s in sheets if s.visible]
        chosen = [s for s in sheets if s.name == name]
        if not chosen:
            raise UnrecognisedSheet(f"没有名为“{name}”的工作表；现有：{'、'.join(s.name for s in sheets)} "
                                    f"(no sheet named {name!r})")
        return chosen

    def read(self, entry: SheetEntry, max_rows: int) -> SheetRead:
        facts = scan_sheet(self.path, self.archive, entry, max_rows=max_rows, slack=HEADER_SCAN_ROWS)
        # Rows the scan's check could not vouch for (``SheetCheck``) are checked whole now: alongside
        # calamine, or before openpyxl.
        unchecked = [entry.part] if facts.unchecked else []
        if facts.last_row * max(facts.max_column, 26) <= DENSE_CELLS:
            return SheetRead(entry, facts, self._calamine_rows(entry, unchecked))
        for part in unchecked:
            check_well_formed(self.path, self.archive, part)
        return SheetRead(entry, facts, _openpyxl_rows(self.path, entry))

    def _calamine_rows(self, entry: SheetEntry, unchecked: list[str]) -> Iterator[Row]:
        # The workbook is closed once the sheet is read: the sheet owns its values, and the workbook's
        # shared-string table would otherwise stay in memory beside them (another sheet opens it anew).
        with check_alongside(self.path, self.archive, unchecked):
            try:
                workbook = python_calamine.CalamineWorkbook.from_path(str(self.path))
                try:
                    sheet = workbook.get_sheet_by_name(entry.name)
                finally:
                    workbook.close()
            except (python_calamine.CalamineError, OSError, ValueError) as exc:
                if not unchecked:  # expat's account of broken XML names the fault; calamine's may not
                    check_well_formed(self.path, self.archive, entry.part)
                raise damaged(self.path, _one_line(exc)) from None
        return _calamine_iter(sheet)


def _calamine_iter(sheet: Any) -> Iterator[Row]:
    offset = sheet.start[1] if sheet.height else 0
    yield from zip(count(1), sheet.iter_rows(), repeat(offset))  # C iterators: no Python step per row


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _openpyxl_rows(path: Path, entry: SheetEntry) -> Iterator[Row]:
    """A sparse sheet, streamed row by row through openpyxl's parser in constant memory."""
    from openpyxl import load_workbook
    from openpyxl.worksheet._reader import WorkSheetParser

    try:
        workbook = load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise damaged(path, _one_line(exc)) from None
    try:
        sheet = workbook[entry.name]
        with sheet._get_source() as source:
            parser = WorkSheetParser(source, sheet._shared_strings, data_only=False, epoch=workbook.epoch,
                                     date_formats=workbook._date_formats,
                                     timedelta_formats=workbook._timedelta_formats)
            for row_number, cells in parser.parse():
                values: list[Any] = [""] * (max((c["column"] for c in cells), default=0))
                for cell in cells:
                    if cell["value"] is not None:
                        values[cell["column"] - 1] = cell["value"]
                yield row_number, values, 0
    except (ValueError, KeyError, TypeError, SyntaxError) as exc:  # SyntaxError: ElementTree's ParseError
        raise damaged(path, _one_line(exc)) from None
    finally:
        workbook.close()


def refuse_if_too_long(sheet_name: str, rows: int, limit: int, slack: int = 0) -> None:
    """Refuse ``rows`` beyond ``limit`` data rows (``slack``: title and header rows a sheet may add)."""
    if rows > limit + slack:
        raise TooManyRows(f"工作表“{sheet_name}”有{rows:,}行，超过单次导入上限{limit:,}行；请分成多个文件导入 "
                          f"(more than {limit:,} rows: split the file)")


def column_letter(column: int) -> str:
    """1 → A, 27 → AA (openpyxl's get_column_letter, without loading openpyxl for an import)."""
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


__all__ = ["HEADER_SCAN_ROWS", "MAX_IMPORT_ROWS", "Book", "Package", "Row", "SheetRead", "check_signature",
           "column_letter", "refuse_if_too_long"]
