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
from stvs_tui.excel.forms import export_certificate, export_monthly, export_teams
from stvs_tui.excel.importer import ImportPlan, ImportResult, PlannedRow, Problem, apply_import, plan_import
from stvs_tui.excel.lists import export_activities, export_hours, export_roster
from stvs_tui.excel.template import export_template

__all__ = [
    "ExcelError", "ExportFailed", "ImportPlan", "ImportRefused", "ImportResult", "PlannedRow", "Problem",
    "TooManyRows", "UnreadableWorkbook", "UnrecognisedSheet", "apply_import", "export_activities",
    "export_certificate", "export_hours", "export_monthly", "export_roster", "export_teams", "export_template",
    "plan_import",
]
