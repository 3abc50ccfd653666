"""Excel in and out: roster import with per-row problems, the roster template, lists and official forms.

The TUI and the CLI both call these; nothing here knows about either.
"""

from stvs_tui.excel.errors import (
    ExcelError,
    ExportFailed,
    ImportRefused,
    TooManyRows,
    UnreadableWorkbook,
    UnrecognisedSheet,
)
from stvs_tui.excel.importer import ImportPlan, ImportResult, PlannedRow, Problem, apply_import, plan_import

# The exports load openpyxl (and their own modules) when first asked for: an import reads with calamine
# and need not carry openpyxl's 10 MB beside a 100k-row sheet.
_EXPORTS = {
    "export_certificate": "forms", "export_monthly": "forms", "export_teams": "forms",
    "export_activities": "lists", "export_hours": "lists", "export_roster": "lists", "export_template": "template",
}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "ExcelError", "ExportFailed", "ImportPlan", "ImportRefused", "ImportResult", "PlannedRow", "Problem",
    "TooManyRows", "UnreadableWorkbook", "UnrecognisedSheet", "apply_import", "export_activities",
    "export_certificate", "export_hours", "export_monthly", "export_roster", "export_teams", "export_template",
    "plan_import",
]
