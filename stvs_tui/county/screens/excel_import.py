"""Excel in the TUI: check a roster workbook and preview every problem before anything is written, import it
(all or only the valid rows, duplicates skipped or updated), and export the forms and lists to a folder.

The screen's keys are registered by ``stvs_tui.county.excel_keys`` (its words are in the catalogue), which
``stvs_tui.county.app`` imports before it installs the app's keys; it lists this module as the ``excel`` area,
imported when the area first opens.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Input, Label, Select

from stvs_tui.county.excel_keys import ACTION_SPECS  # noqa: F401  (registered there)
from stvs_tui.county.screens.base import StvsScreen
from stvs_tui.i18n import language, t
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.footer import KeyFooter
from stvs_tui.widgets.table import SteadyTable
from stvs_tui.widgets.text import plain

if TYPE_CHECKING:
    from stvs_tui.excel import ImportPlan

EXPORT_KINDS = ("teams", "monthly", "roster", "activities", "hours", "template")
def _excel() -> Any:
    """``stvs_tui.excel`` (and openpyxl): imported when a workbook is first read or written, not as the TUI starts."""
    import stvs_tui.excel

    return stvs_tui.excel


class ExcelScreen(StvsScreen):
    SCOPES: ClassVar[tuple[str, ...]] = ("excel",)
    TITLE_KEY = "xl.title"
    HELP_KEY = "help.excel"
    DEFAULT_CSS = """
    ExcelScreen .excel-bar { height: auto; }
    ExcelScreen .excel-bar Input { width: 1fr; }
    ExcelScreen .excel-bar Select { width: 40; }
    ExcelScreen #xl-problems { height: auto; max-height: 16; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.plan: ImportPlan | None = None

    def compose(self) -> ComposeResult:
        yield from self.title_bar()
        with VerticalScroll(id="excel"):
            yield Label(t("xl.import_title"), classes="section-title")
            with Horizontal(classes="excel-bar"):
                yield Input(placeholder=t("xl.file_placeholder"), id="xl-file")
                yield Select([(t("xl.dup_skip"), "skip"), (t("xl.dup_update"), "update")], value="skip",
                             allow_blank=False, id="xl-duplicates")
            yield Label("", id="xl-summary", markup=False)
            yield SteadyTable(id="xl-problems", cursor_type="row", classes="detail-table")
            yield Label(t("xl.export_title"), classes="section-title")
            with Horizontal(classes="excel-bar"):
                yield Select([(t(f"xl.kind_{k}"), k) for k in EXPORT_KINDS], value="teams", allow_blank=False,
                             id="xl-kind")
                yield Input(placeholder=t("xl.month_placeholder"), id="xl-month")
                yield Input(value=str(Path.home()), placeholder=t("xl.folder_placeholder"), id="xl-folder")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#xl-problems", DataTable).add_columns(
            t("xl.col_row"), t("xl.col_column"), t("xl.col_header"), t("xl.col_problem"))
        self.query_one("#xl-file", Input).focus()

    # Import: check, preview, then write
    @on(Input.Submitted, "#xl-file")
    def _file_submitted(self) -> None:
        self.action_check()

    def action_check(self) -> None:
        path = Path(self.query_one("#xl-file", Input).value.strip()).expanduser()
        if not str(path) or str(path) == ".":
            self.notify(t("xl.no_file"), severity="warning")
            return
        duplicates = str(self.query_one("#xl-duplicates", Select).value)
        store = self.county_app.store
        self.plan = None
        self.query_one("#xl-summary", Label).update(t("xl.checking"))
        self._in_thread(lambda: _excel().plan_import(path, store, on_duplicate=duplicates), self._show_plan)  # type: ignore[arg-type]

    @on(Select.Changed, "#xl-duplicates")
    def _duplicates_changed(self) -> None:
        if self.plan is not None:
            self.action_check()

    def _show_plan(self, plan: ImportPlan) -> None:
        self.plan = plan
        self.query_one("#xl-summary", Label).update(plan.summary(language()))
        table = self.query_one("#xl-problems", DataTable)
        table.clear()
        for note in plan.notes:  # hidden rows left out, a sign-off skipped: said before the problems
            table.add_row("", "", "", plain(note.describe(language())))
        for problem in plan.problems:
            table.add_row(plain(problem.row or ""), plain(problem.column or ""), plain(problem.header or ""),
                          plain(problem.message))

    def action_import_all(self) -> None:
        self._import(valid_only=False)

    def action_import_valid(self) -> None:
        self._import(valid_only=True)

    def _import(self, valid_only: bool) -> None:
        plan = self.plan
        if plan is None:
            self.notify(t("xl.no_file"), severity="warning")
            return
        if plan.problems and not valid_only:
            self.notify(t("xl.has_problems"), severity="warning")
            return
        question = t("xl.confirm_import", inserts=plan.count("insert"), updates=plan.count("update"),
                     skips=plan.count("skip"))
        store = self.county_app.store

        def answered(yes: bool | None) -> None:
            if yes:
                self._in_thread(lambda: _excel().apply_import(store, plan, valid_only=valid_only), self._imported)

        self.app.push_screen(ConfirmModal(question), answered)

    def _imported(self, result: Any) -> None:
        self.plan = None
        self.query_one("#xl-summary", Label).update(result.summary(language()))
        self.query_one("#xl-problems", DataTable).clear()
        self.notify(result.summary(language()), markup=False)

    # Export
    def action_export(self) -> None:
        kind = str(self.query_one("#xl-kind", Select).value)
        month = self.query_one("#xl-month", Input).value.strip() or None
        folder = Path(self.query_one("#xl-folder", Input).value.strip() or ".").expanduser()
        target = folder / f"{t(f'xl.kind_{kind}').split('（')[0].replace(' ', '-')}{'-' + month if month else ''}.xlsx"
        store, today = self.county_app.store, self.county_app.today
        writers = {
            "teams": lambda: _excel().export_teams(store, target, today=today),
            "monthly": lambda: _excel().export_monthly(store, target, period=month, today=today),
            "roster": lambda: _excel().export_roster(store, target, lang=language(), today=today),
            "activities": lambda: _excel().export_activities(store, target, period=month, today=today),
            "hours": lambda: _excel().export_hours(store, target, period=month, today=today),
            "template": lambda: _excel().export_template(target, lang=language()),
        }
        self._in_thread(writers[kind], lambda _result: self.notify(t("xl.exported", path=target), markup=False))

    def _in_thread(self, job: Any, done: Any) -> None:
        """File work off the UI thread; an Excel problem reaches the clerk as a message, not a crash."""
        def work() -> None:
            try:
                result = job()
            except (_excel().ExcelError, OSError) as exc:
                self.app.call_from_thread(self._failed, str(exc))
                return
            self.app.call_from_thread(done, result)

        self.run_worker(work, thread=True, group="excel", exclusive=True, exit_on_error=False)

    def _failed(self, message: str) -> None:
        self.query_one("#xl-summary", Label).update(message)
        self.notify(message, severity="error", markup=False)
