"""Excel in the TUI: check a roster workbook and preview every problem before anything is written, import it
(all or only the valid rows, duplicates skipped or updated), and export the forms and lists to a folder.

Importing this module registers the screen's keys in the action registry and its words in the catalogue;
``stvs_tui.app`` imports it before it installs the app's keys and lists it as the ``excel`` area.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Input, Label, Select

from stvs_tui.actions import ActionSpec, register
from stvs_tui.excel import (
    ExcelError,
    ImportPlan,
    apply_import,
    export_activities,
    export_hours,
    export_monthly,
    export_roster,
    export_teams,
    export_template,
    plan_import,
)
from stvs_tui.i18n import CATALOGUE, language, t
from stvs_tui.screens.base import StvsScreen
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.text import plain

WORDS: dict[str, tuple[str, str]] = {
    "action.excel": ("导入导出", "Import & export"),
    "action.check_import": ("检查文件", "Check file"),
    "action.import_all": ("导入", "Import"),
    "action.import_valid": ("只导入有效行", "Import valid rows"),
    "action.export_file": ("导出", "Export"),
    "xl.title": ("Excel导入导出", "Excel import & export"),
    "xl.import_title": ("导入志愿者名册", "Import a volunteer roster"),
    "xl.file_placeholder": ("名册文件路径（.xlsx），回车检查", "Roster file (.xlsx), Enter checks it"),
    "xl.dup_skip": ("已登记的跳过", "Skip volunteers already registered"),
    "xl.dup_update": ("已登记的更新", "Update volunteers already registered"),
    "xl.checking": ("正在检查…", "Checking…"),
    "xl.no_file": ("请先输入名册文件路径并回车检查", "Enter a roster file and press Enter to check it first"),
    "xl.col_row": ("行", "Row"),
    "xl.col_column": ("列", "Column"),
    "xl.col_header": ("列名", "Header"),
    "xl.col_problem": ("问题", "Problem"),
    "xl.has_problems": ("文件有问题，不能全部导入；改正后重新检查，或只导入有效行",
                        "The file has problems: fix them and check again, or import the valid rows only"),
    "xl.confirm_import": ("确定导入：新增{inserts}，更新{updates}，跳过{skips}？",
                          "Import: {inserts} new, {updates} updated, {skips} skipped?"),
    "xl.export_title": ("导出报表和名单", "Export forms and lists"),
    "xl.folder_placeholder": ("导出到文件夹", "Folder to write to"),
    "xl.month_placeholder": ("期间 YYYY-MM 或 YYYY（可空）", "Period YYYY-MM or YYYY (optional)"),
    "xl.kind_teams": ("附件2 队伍基本情况表", "Annex 2: teams"),
    "xl.kind_monthly": ("月报表", "Monthly report"),
    "xl.kind_roster": ("志愿者名册（证件号脱敏）", "Volunteer roster (IDs masked)"),
    "xl.kind_activities": ("活动台账", "Activity ledger"),
    "xl.kind_hours": ("服务时长公示名单", "Hours publicity list"),
    "xl.kind_template": ("空白名册模板", "Blank roster template"),
    "xl.exported": ("已导出：{path}", "Exported: {path}"),
    "help.excel": ("输入名册文件路径并回车：列出每个问题（行、列、原因），确认无误后再导入；有问题时默认不导入，"
                   "也可只导入有效行。已登记的志愿者（证件号码相同，或姓名和手机号相同）按所选跳过或更新。"
                   "下方选择报表种类、期间和文件夹后导出。",
                   "Enter a roster file and press Enter: every problem is listed (row, column, reason) before "
                   "anything is written. With problems nothing is imported unless you import the valid rows only. "
                   "Volunteers already registered (same ID number, or same name and mobile) are skipped or updated "
                   "as chosen. Below, pick a form, a period and a folder to export."),
}
EXPORT_KINDS = ("teams", "monthly", "roster", "activities", "hours", "template")
ACTION_SPECS = (
    ActionSpec("app.excel", "f10", "go('excel')", "action.excel", "app", show=False),
    ActionSpec("excel.back", "escape", "back", "action.back", "excel"),
    ActionSpec("excel.check", "ctrl+r", "check", "action.check_import", "excel", priority=True),
    ActionSpec("excel.import", "ctrl+s", "import_all", "action.import_all", "excel", priority=True),
    ActionSpec("excel.import_valid", "ctrl+v", "import_valid", "action.import_valid", "excel", priority=True),
    ActionSpec("excel.export", "ctrl+o", "export", "action.export_file", "excel", priority=True),
)


def _register() -> None:
    clashes = WORDS.keys() & CATALOGUE.keys()
    if clashes:
        raise RuntimeError(f"catalogue keys defined twice: {sorted(clashes)}")
    CATALOGUE.update(WORDS)
    for spec in ACTION_SPECS:
        register(spec)


_register()


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
            yield DataTable(id="xl-problems", cursor_type="row", classes="detail-table")
            yield Label(t("xl.export_title"), classes="section-title")
            with Horizontal(classes="excel-bar"):
                yield Select([(t(f"xl.kind_{k}"), k) for k in EXPORT_KINDS], value="teams", allow_blank=False,
                             id="xl-kind")
                yield Input(placeholder=t("xl.month_placeholder"), id="xl-month")
                yield Input(value=str(Path.home()), placeholder=t("xl.folder_placeholder"), id="xl-folder")
        yield Footer()

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
        self._in_thread(lambda: plan_import(path, store, on_duplicate=duplicates), self._show_plan)  # type: ignore[arg-type]

    @on(Select.Changed, "#xl-duplicates")
    def _duplicates_changed(self) -> None:
        if self.plan is not None:
            self.action_check()

    def _show_plan(self, plan: ImportPlan) -> None:
        self.plan = plan
        self.query_one("#xl-summary", Label).update(plan.summary(language()))
        table = self.query_one("#xl-problems", DataTable)
        table.clear()
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
                self._in_thread(lambda: apply_import(store, plan, valid_only=valid_only), self._imported)

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
            "teams": lambda: export_teams(store, target, today=today),
            "monthly": lambda: export_monthly(store, target, period=month, today=today),
            "roster": lambda: export_roster(store, target, lang=language(), today=today),
            "activities": lambda: export_activities(store, target, period=month, today=today),
            "hours": lambda: export_hours(store, target, period=month, today=today),
            "template": lambda: export_template(target, lang=language()),
        }
        self._in_thread(writers[kind], lambda _result: self.notify(t("xl.exported", path=target), markup=False))

    def _in_thread(self, job: Any, done: Any) -> None:
        """File work off the UI thread; an Excel problem reaches the clerk as a message, not a crash."""
        def work() -> None:
            try:
                result = job()
            except (ExcelError, OSError) as exc:
                self.app.call_from_thread(self._failed, str(exc))
                return
            self.app.call_from_thread(done, result)

        self.run_worker(work, thread=True, group="excel", exclusive=True, exit_on_error=False)

    def _failed(self, message: str) -> None:
        self.query_one("#xl-summary", Label).update(message)
        self.notify(message, severity="error", markup=False)
