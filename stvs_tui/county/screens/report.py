"""The monthly report to the city: the month's figures computed from the records, a nil report
(本月无活动) when nothing was held, highlights, and submission (after which the month is locked)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, DataTable, Label, TextArea

from schema.enums import ReportStatus, ServiceKind, VenueKind
from schema.models import MonthlyReport, field_label
from schema.rules import MonthlyFigures, period_of
from stvs_tui import queries
from stvs_tui.county.screens.base import StvsScreen
from stvs_tui.county.screens.exports import export_monthly_form
from stvs_tui.i18n import labelled, language, t
from stvs_tui.queries import ReportState
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.footer import KeyFooter
from stvs_tui.widgets.table import SteadyTable


def shift_period(period: str, months: int) -> str:
    year, month = map(int, period.split("-"))
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def figure_rows(figures: MonthlyFigures) -> list[tuple[str, str]]:
    """The report's lines in the paper form's order; zero is written 0 (Chinese statistics convention)."""
    lang = language()
    rows = [(field_label(MonthlyReport, name, lang), f"{getattr(figures, name):g}") for name in
            ("activities", "person_times", "volunteers", "hours", "beneficiaries", "new_volunteers", "new_teams")]
    rows += [(f"{t('rep.section_kind')} · {kind.label(lang)}", str(figures.by_kind.get(kind.value, 0)))
             for kind in ServiceKind]
    rows += [(f"{t('rep.section_venue')} · {venue.label(lang)}", str(figures.by_venue.get(venue.value, 0)))
             for venue in VenueKind]
    return rows


class MonthlyReportScreen(StvsScreen):
    SCOPES: ClassVar[tuple[str, ...]] = ("report",)
    TITLE_KEY = "rep.title"
    HELP_KEY = "help.report"

    def __init__(self, period: str = "") -> None:
        super().__init__()
        self.period = period
        self.state: ReportState | None = None

    def compose(self) -> ComposeResult:
        yield from self.title_bar()
        yield Label("", id="report-period", markup=False, classes="section-title")
        with Horizontal(id="report-body"):
            table: SteadyTable = SteadyTable(id="report-figures", cursor_type="row", zebra_stripes=True)
            yield table
            with Vertical(id="report-side"):
                yield Checkbox(t("rep.nil"), id="report-nil")
                yield Label(t("rep.highlights"), classes="field-label")
                yield TextArea("", id="report-highlights", soft_wrap=True)
                yield Label("", id="report-sign", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.period = self.period or period_of(self.county_app.today)
        self.query_one("#report-figures", DataTable).add_columns(t("rep.col_value"), t("rep.col_item"))
        self.query_one("#report-figures", DataTable).focus()
        self.load()

    def load(self) -> None:
        county = self.county_app.county_code
        period = self.period
        today = self.county_app.today
        self.run_db(lambda session: queries.report_state(session, county, period, today), self.show)

    def action_export(self) -> None:
        export_monthly_form(self, self.period)

    @property
    def submitted(self) -> bool:
        report = self.state.report if self.state else None
        return report is not None and report.status in (ReportStatus.SUBMITTED.value, ReportStatus.ACCEPTED.value)

    @property
    def locked(self) -> bool:
        return self.submitted or bool(self.state and self.state.period_locked)

    def _refuse_locked(self) -> bool:
        """Tell the clerk why the month cannot change; True when it cannot."""
        if self.submitted:
            self.notify(t("rep.locked"), severity="warning")
            return True
        if self.locked:
            self.notify(t("rep.period_locked"), severity="warning")
            return True
        return False

    def show(self, state: ReportState) -> None:
        self.state = state
        report = state.report
        status = queries.report_status_text(report, state.last_sync) if report else t("rep.not_saved")
        self.query_one("#report-period", Label).update(t("rep.period", period=self.period, status=status))
        table = self.query_one("#report-figures", DataTable)
        table.clear()
        # Values first: at 80 columns the long item names may be cut, the numbers never.
        for item, value in figure_rows(state.figures):
            table.add_row(Text(value, justify="right"), item)
        nil = self.query_one("#report-nil", Checkbox)
        nil.value = bool(report and report.is_nil)
        nil.disabled = self.locked
        highlights = self.query_one("#report-highlights", TextArea)
        highlights.text = report.highlights if report else ""
        highlights.read_only = self.locked
        lang = language()
        sign = [labelled(field_label(MonthlyReport, 'county_code', lang), self.county_app.county_name),
                labelled(field_label(MonthlyReport, 'submitted_by', lang),
                         (report and report.submitted_by) or self.county_app.clerk)]
        if report and report.submitted_at:
            sign.append(labelled(field_label(MonthlyReport, 'submitted_at', lang), f"{report.submitted_at:%Y-%m-%d}"))
        self.query_one("#report-sign", Label).update(Text("\n".join(sign)))

    def has_unsaved_input(self) -> bool:
        if self.state is None or self.locked:
            return False
        report = self.state.report
        saved = (bool(report and report.is_nil), report.highlights if report else "")
        typed = (self.query_one("#report-nil", Checkbox).value, self.query_one("#report-highlights", TextArea).text)
        return typed != saved

    def action_prev_month(self) -> None:
        self.period = shift_period(self.period, -1)
        self.load()

    def action_next_month(self) -> None:
        self.period = shift_period(self.period, 1)
        self.load()

    def action_nil_report(self) -> None:
        nil = self.query_one("#report-nil", Checkbox)
        if not nil.disabled:
            nil.toggle()

    def _write(self, submit: bool) -> None:
        if self.state is None:
            return
        if self._refuse_locked():
            return
        nil = self.query_one("#report-nil", Checkbox).value
        if nil and not self.state.figures.is_empty:
            self.notify(t("rep.nil_not_allowed"), severity="error")
            return
        app = self.county_app
        county, period, clerk = app.county_code, self.period, app.clerk
        highlights = self.query_one("#report-highlights", TextArea).text
        now = datetime.combine(app.today, datetime.now().time()) if submit else None

        def job(session: object) -> object:
            return queries.save_report(session, county, period, nil=nil, highlights=highlights,  # type: ignore[arg-type]
                                       submit_by=clerk if submit else None, now=now, today=app.today)

        def done(_report: object) -> None:
            self.notify(t("rep.submitted", period=period) if submit else t("rep.saved", period=period))
            self.load()

        self.write_db(job, done)

    def action_save(self) -> None:
        self._write(submit=False)

    def action_submit(self) -> None:
        if self._refuse_locked():
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._write(submit=True)

        self.app.push_screen(ConfirmModal(t("confirm.submit_report", period=self.period)), answered)

