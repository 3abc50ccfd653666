"""The errors of Excel import and export, one tree under the core's ``StvsError``."""

from __future__ import annotations

from schema.errors import StvsError


class ExcelError(StvsError):
    """A workbook cannot be read or written as asked; the message says why, in a sentence a clerk can act on."""


class UnreadableWorkbook(ExcelError):
    """Not an .xlsx file at all: another format, an old .xls, a password-protected or damaged file."""


class UnrecognisedSheet(ExcelError):
    """An .xlsx whose sheets have no recognisable header row, or lack a required column."""


class TooManyRows(ExcelError):
    """A sheet with more data rows than one import takes (refused before it fills the memory)."""


class ImportRefused(ExcelError):
    """An import plan with problems, applied without ``valid_only``: nothing was written."""


class ExportFailed(ExcelError):
    """An export that cannot be made (unknown volunteer, bad period, unwritable file)."""
