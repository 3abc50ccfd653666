"""The dashboard: the county's figures at a glance; each figure opens the list behind it."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Label, OptionList, Static
from textual.widgets.option_list import Option

from schema.enums import TeamTier
from schema.figures import period_of
from stvs_tui.county.screens.base import StvsScreen
from stvs_tui.dashboard_figures import (
    SAN_ZHANG,
    DashboardData,
    SlowFigures,
    keep_figures,
    read_fingerprint,
    shown_time,
)
from stvs_tui.formatting import display_text
from stvs_tui.i18n import enum_label, t
from stvs_tui.state import report_state
from stvs_tui.widgets.charts import spark, split_bar
from stvs_tui.widgets.footer import KeyFooter
from stvs_tui.widgets.table import SteadyTable

if TYPE_CHECKING:  # the first screen shows before SQLAlchemy is imported: its first figures are read with sqlite3
    from sqlmodel import Session

    from schema.figures import TeamCompliance


class DashboardScreen(StvsScreen):
    SCOPES: ClassVar[tuple[str, ...]] = ("dashboard",)
    TITLE_KEY = "dash.title"
    HELP_KEY = "help.dashboard"

    def __init__(self) -> None:
        super().__init__()
        self.data: DashboardData | None = None
        self._shown_once = False

    def compose(self) -> ComposeResult:
        yield from self.title_bar()
        yield Label("", id="dash-header", markup=False)
        with Vertical(id="dash-body"):
            yield Label("", id="dash-trend-title", classes="section-title", markup=False)
            yield Static("", id="dash-charts", markup=False)
            yield Label(t("dash.figures"), classes="section-title")
            yield OptionList(id="figures")
            yield Label(t("dash.teams_title"), classes="section-title")
            table: SteadyTable = SteadyTable(id="team-table", cursor_type="row", zebra_stripes=True, fit=True)
            yield table
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#team-table", DataTable)
        for key in ("col_team", "col_tier", "col_members", "col_san_zhang", "col_experts", "col_rural",
                    "col_activities", "col_flags"):
            table.add_column(t(f"dash.{key}"), key=key)
        self.query_one("#figures", OptionList).focus()
        self.action_refresh()

    def on_screen_resume(self) -> None:
        # Back from another area: read again. Not on the first resume, which follows the mount's own reading
        # (its figures may be on the screen already).
        if self._shown_once:
            self.action_refresh()
        self._shown_once = True

    def action_refresh(self) -> None:
        app = self.county_app
        period = period_of(app.today)
        county = app.county_code
        first = app.take_first_figures(county, period)  # read as the app started, beside its imports
        if first is not None:
            if first.done() and first.exception() is None:
                self.show(first.result())  # read already: the first frame shows them (no empty frame before)
                app.first_figures_drawn()
            else:
                app.run_job(self, first.result, self.show)
            return

        def figures(session: Session) -> DashboardData:
            from stvs_tui.queries import dashboard_data
            from sync.status import sync_status

            # Read afresh and kept for the next start (stvs_tui.dashboard_figures) under the fingerprint read in the
            # same transaction, the one snapshot the figures are read in. (The waiting count, read by sync_status on
            # a connection of its own, is the same or newer: a newer one comes with a newer fingerprint.)
            key = read_fingerprint(session.connection().connection.driver_connection, county, period)
            data = dashboard_data(session, county, period, sync_status(app.store))
            with app.store.engine.begin() as connection:
                keep_figures(connection.connection.driver_connection, key, SlowFigures.of(data))
            return data

        self.run_db(figures, self.show)

    def show(self, data: DashboardData) -> None:
        self.data = data
        app = self.county_app
        self.query_one("#dash-header", Label).update(
            t("dash.header", county=app.county_name, clerk=app.clerk or t("dash.no_clerk"), period=data.period))
        figures = self.query_one("#figures", OptionList)
        highlighted = figures.highlighted
        figures.clear_options()
        figures.add_options(self._figure_options(data))
        if highlighted is not None:
            figures.highlighted = min(highlighted, figures.option_count - 1)
        self._fill_teams(data)
        if data.trend.months:
            self.query_one("#dash-trend-title", Label).update(
                t("dash.trend_title", first=data.trend.months[0], last=data.trend.months[-1]))
        self.query_one("#dash-charts", Static).update(self._charts(data))
        self.call_after_refresh(report_state, f"county.dashboard teams={len(data.teams)}")

    def _figure_options(self, data: DashboardData) -> list[Option]:
        options = [
            Option(t("dash.teams_by_tier", tier=enum_label(TeamTier, tier), count=count, short=short, minimum=minimum),
                   id=f"tier:{tier}")
            for tier, count, short, minimum in data.tier_summary()
        ]
        talents = data.talents
        # Report and sync first: at 80×24 they must be on the first screen, not below the scroll.
        pending = t("dash.sync_pending", count=data.pending_changes)
        pending += t("dash.sync_offer") if data.pending_changes else ""
        last = shown_time(data.last_sync) if data.last_sync else t("dash.sync_never")
        sync_line = Option(f"{pending}  {t('dash.sync_last', when=last)}", id="sync:pending")
        options = [Option(t("dash.report", period=data.period, status=data.report_status), id="report"), sync_line,
                   *options]
        options += [
            Option(t("dash.short_teams", count=sum(1 for team in data.teams if not team.meets_minimum)), id="short"),
            Option(t("dash.volunteers", count=talents.volunteers), id="volunteers"),
            Option(t("dash.san_zhang", count=talents.san_zhang), id=f"tag:{SAN_ZHANG}"),
            Option(t("dash.experts", count=talents.experts), id="tag:expert"),
            Option(t("dash.rural", count=talents.rural_talents), id="tag:rural_talent"),
            Option(t("dash.activities", count=data.activities_this_month), id="activities"),
            Option(t("dash.idle_teams", count=data.idle_teams), id="idle"),
            Option(t("dash.conflicts", count=data.conflicts), id="sync:conflicts"),
        ]
        return options

    @staticmethod
    def _charts(data: DashboardData) -> Text:
        """The last 12 months' activities and confirmed hours (two cells a month, oldest first), and this month's
        teams with and without an activity."""
        trend = data.trend
        if not trend.months:
            return Text()

        def bars(values: list[float], style: str) -> Text:
            single = spark(values, style)
            return Text("").join(single[index:index + 1] for index in range(len(single)) for _twice in (1, 2))

        labels = [t("dash.chart_activities"), t("dash.chart_hours"), t("dash.chart_teams")]
        width = max(cell_len(label) for label in labels)

        def line(label: str, chart: Text, summary: str) -> Text:
            return Text.assemble((label + " " * (width - cell_len(label) + 1), "bold"), chart, f"  {summary}")

        good = sum(1 for team in data.teams if team.meets_monthly_activity)
        bad = len(data.teams) - good
        total_hours = sum(trend.hours)
        return Text("\n").join([
            line(labels[0], bars([float(n) for n in trend.activities], "cyan"),
                 t("dash.chart_activities_sum", total=sum(trend.activities), month=trend.activities[-1])),
            line(labels[1], bars(trend.hours, "yellow"),
                 t("dash.chart_hours_sum", total=f"{total_hours:g}", month=f"{trend.hours[-1]:g}")),
            line(labels[2], split_bar(good, bad, 2 * len(trend.months)),
                 t("dash.chart_teams_sum", good=good, bad=bad)),
        ])

    def _fill_teams(self, data: DashboardData) -> None:
        table = self.query_one("#team-table", SteadyTable)
        row = table.cursor_row
        table.clear()
        tiers = {tier.value: enum_label(TeamTier, tier.value) for tier in TeamTier}
        short, idle = t("dash.flag_short"), t("dash.flag_idle")

        def cells(team: TeamCompliance) -> list[Text | str]:
            flags = ([short] if not team.meets_minimum else []) + ([idle] if not team.meets_monthly_activity else [])
            members = Text(f"{team.members}/{team.minimum}", style="" if team.meets_minimum else "bold red")
            return [display_text(team.name), tiers.get(team.tier) or enum_label(TeamTier, team.tier), members,
                    str(team.san_zhang), str(team.experts), str(team.rural_talents), str(team.activities_in_month),
                    Text("、".join(flags), style="red")]

        table.add_keyed_rows((team.team_id, cells(team)) for team in data.teams)
        table.fit_columns()
        if data.teams:
            table.move_cursor(row=min(row, len(data.teams) - 1), animate=False)

    @on(OptionList.OptionSelected, "#figures")
    def _figure_chosen(self, event: OptionList.OptionSelected) -> None:
        self.open_figure(event.option.id or "")

    @on(DataTable.RowSelected, "#team-table")
    def _team_chosen(self, event: DataTable.RowSelected) -> None:
        self.county_app.store  # noqa: B018  (as in open_figure)
        from stvs_tui.county.screens.teams import TeamsScreen

        self.county_app.open_area(TeamsScreen(select_team=str(event.row_key.value)))

    def action_open(self) -> None:
        if self.focused is self.query_one("#team-table"):
            table = self.query_one("#team-table", DataTable)
            if table.row_count:
                table.action_select_cursor()
            return
        figures = self.query_one("#figures", OptionList)
        if figures.highlighted is not None:
            self.open_figure(figures.get_option_at_index(figures.highlighted).id or "")

    def open_figure(self, figure: str) -> None:
        """Open the list behind a figure of the dashboard."""
        self.county_app.store  # noqa: B018  (the lists import SQLAlchemy: after the store has, never beside it)
        from stvs_tui.county.screens.activities import ActivitiesScreen
        from stvs_tui.county.screens.teams import TeamsScreen
        from stvs_tui.county.screens.volunteers import VolunteersScreen

        app = self.county_app
        kind, _, value = figure.partition(":")
        if kind == "tier":
            app.open_area(TeamsScreen())
        elif kind == "short":
            app.open_area(TeamsScreen(mode="short"))
        elif kind == "idle":
            app.open_area(TeamsScreen(mode="idle"))
        elif kind == "volunteers":
            app.open_area(VolunteersScreen())
        elif kind == "tag":
            app.open_area(VolunteersScreen(tag=value))
        elif kind == "activities":
            app.open_area(ActivitiesScreen(period=period_of(app.today)))
        elif kind == "report":
            app.action_go("report")
        elif kind == "sync":
            app.action_go("sync")
