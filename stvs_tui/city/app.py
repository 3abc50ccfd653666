"""The city admin TUI (``stvs-tui city``): uploads, the conflict queue, city reports, against the server.

Every server call runs in a thread worker and only posts its result back, so the UI never blocks. Keys
come from the one action registry (scopes ``city`` and ``city.item``); strings from the one catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from textual import work
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Input, Label, TabbedContent, TabPane

from schema.reporting import CellState, CityReports, shift_period
from stvs_tui.actions import ActionSpec, install_bindings, register
from stvs_tui.city.api import CityAdminClient
from stvs_tui.city.export import cell_mark, export_city_reports
from stvs_tui.city.item import ConflictScreen, ReasonModal
from stvs_tui.i18n import t, use_language
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.text import plain

T = TypeVar("T")
PAGE = 200

for _spec in (
    ActionSpec("city.refresh", "ctrl+r", "refresh", "action.refresh", "city"),
    ActionSpec("city.open", "enter", "open_item", "action.open", "city", show=False),
    ActionSpec("city.select", "space", "toggle_select", "city.select", "city"),
    ActionSpec("city.bulk_county", "ctrl+k", "bulk('county')", "city.bulk_county", "city", priority=True),
    ActionSpec("city.bulk_city", "ctrl+j", "bulk('city')", "city.bulk_city", "city", priority=True),
    ActionSpec("city.export", "ctrl+e", "export", "city.export", "city", priority=True),
    ActionSpec("city.lock", "ctrl+l", "lock", "city.lock", "city", priority=True),
    ActionSpec("city.quit", "ctrl+q", "quit", "action.quit", "city", priority=True),
):
    register(_spec)


class CityApp(App[None]):
    """Tabs: uploads (with the per-record report), the conflict queue, city reports."""

    TITLE = "stvs-tui city"
    CSS = """
    #filters Input { width: 1fr; }
    DataTable { height: 1fr; }
    #upload-report { height: 12; }
    #status { height: 1; color: $warning; }
    """

    def __init__(self, client: CityAdminClient, lang: str = "zh", today: date | None = None) -> None:
        use_language(lang)
        super().__init__()
        self.client = client
        self.today = today or date.today()
        self.picked: set[str] = set()
        self.queue_items: dict[str, Any] = {}
        self.reports: CityReports | None = None
        install_bindings(self, ["city"])

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="queue"):
            with TabPane(t("city.tab_uploads"), id="uploads"):
                yield DataTable(id="upload-table", cursor_type="row")
                yield DataTable(id="upload-report", cursor_type="row")
            with TabPane(t("city.tab_queue"), id="queue"):
                with Horizontal(id="filters"):
                    yield Input(placeholder=t("city.filter_county"), id="f-county")
                    yield Input(placeholder=t("city.filter_table"), id="f-table")
                    yield Input(placeholder=t("city.filter_kind"), id="f-kind")
                yield DataTable(id="queue-table", cursor_type="row")
            with TabPane(t("city.tab_reports"), id="reports"):
                with Horizontal(id="months"):
                    yield Input(shift_period(self._this_month(), -5), id="r-first")
                    yield Input(shift_period(self._this_month(), -1), id="r-last")
                yield DataTable(id="report-table", cursor_type="row")
        yield Label("", id="status", markup=False)
        yield Footer()

    def _this_month(self) -> str:
        return f"{self.today.year:04d}-{self.today.month:02d}"

    def on_mount(self) -> None:
        self.query_one("#upload-table", DataTable).add_columns(*(t(k) for k in (
            "city.col_time", "city.col_county", "city.col_device", "city.col_changes", "city.col_applied",
            "city.col_merged", "city.col_conflicts", "city.col_rejected")))
        self.query_one("#upload-report", DataTable).add_columns(
            t("city.col_table"), t("city.col_record"), t("city.col_status"), t("city.col_reason"))
        self.query_one("#queue-table", DataTable).add_columns(
            "✓", t("city.col_county"), t("city.col_table"), t("city.col_kind"), t("city.col_fields"),
            t("city.col_time"))
        self.action_refresh()

    # ---- background calls -------------------------------------------------------------------------------

    def show_status(self, text: str) -> None:
        self.query_one("#status", Label).update(text)

    @work(thread=True, exclusive=True, group="server")
    def call_server(self, job: Callable[[], T], done: Callable[[T], Any]) -> None:
        """Run ``job`` (a server call) off the UI thread; hand its result to ``done`` on the UI thread."""
        try:
            result = job()
        except Exception as exc:  # noqa: BLE001  (any failure is shown, never crashes the app)
            self.call_from_thread(self.status, t("app.error", error=" ".join(str(exc).split())))
            return
        self.call_from_thread(done, result)

    def action_refresh(self) -> None:
        self.show_status(t("app.loading"))
        self.call_server(self._load_all, self._show_all)

    def _queue_filters(self) -> dict[str, str | None]:
        return {name: self.query_one(f"#f-{name}", Input).value.strip() or None for name in ("county", "table", "kind")}

    def _months(self) -> tuple[str, str]:
        return self.query_one("#r-first", Input).value.strip(), self.query_one("#r-last", Input).value.strip()

    def _load_all(self) -> tuple[Any, Any, CityReports]:
        self.client.detect()
        queue = self.client.queue(**self._queue_filters(), limit=PAGE)
        uploads = self.client.uploads(limit=PAGE)
        return queue, uploads, self.client.reports(*self._months(), today=self.today)

    def _show_all(self, loaded: tuple[Any, Any, CityReports]) -> None:
        queue, uploads, reports = loaded
        self._show_queue(queue)
        self._show_uploads(uploads)
        self._show_reports(reports)
        self.show_status(t("city.loaded", conflicts=queue.total, uploads=uploads.total))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_refresh()

    # ---- queue ------------------------------------------------------------------------------------------

    def _show_queue(self, page: Any) -> None:
        table = self.query_one("#queue-table", DataTable)
        table.clear()
        self.queue_items = {item.id: item for item in page.items}
        self.picked &= set(self.queue_items)
        for item in page.items:
            table.add_row("✓" if item.id in self.picked else "", item.county_code, item.table, t(f"kind.{item.kind}"),
                          plain(", ".join(item.fields)), item.created_at[:16].replace("T", " "), key=item.id)

    def _current_item(self) -> Any:
        table = self.query_one("#queue-table", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.queue_items.get(str(key))

    def _active_tab(self) -> str:
        return self.query_one(TabbedContent).active

    def action_toggle_select(self) -> None:
        item = self._current_item() if self._active_tab() == "queue" else None
        if item is None:
            return
        self.picked ^= {item.id}
        table = self.query_one("#queue-table", DataTable)
        table.update_cell(item.id, table.ordered_columns[0].key, "✓" if item.id in self.picked else "")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row: the DataTable takes the key, so its selection event opens the row."""
        if event.data_table.id in ("queue-table", "upload-table"):
            event.stop()
            self.action_open_item()

    def action_open_item(self) -> None:
        if self._active_tab() == "uploads":
            self._open_upload()
            return
        item = self._current_item() if self._active_tab() == "queue" else None
        if item is not None:
            self.push_screen(ConflictScreen(self.client, item), lambda _done: self.action_refresh())

    def action_bulk(self, take: str) -> None:
        ids = sorted(self.picked) or ([self._current_item().id] if self._current_item() else [])
        if not ids or self._active_tab() != "queue":
            return

        def with_reason(reason: str | None) -> None:
            if reason:
                self.push_screen(ConfirmModal(t(f"city.confirm_bulk_{take}", count=len(ids))),
                                 lambda yes: yes and self.call_server(lambda: self.client.bulk(ids, take, reason),
                                                               self._bulk_done))

        self.push_screen(ReasonModal(), with_reason)

    def _bulk_done(self, outcome: dict[str, str]) -> None:
        done = sum(result == "resolved" for result in outcome.values())
        self.picked.clear()
        self.action_refresh()
        self.notify(t("city.bulk_done", done=done, total=len(outcome)))

    # ---- uploads ----------------------------------------------------------------------------------------

    def _show_uploads(self, page: Any) -> None:
        table = self.query_one("#upload-table", DataTable)
        table.clear()
        for u in page.items:
            device = f"{t('city.bundle')} {u.node_id[:8]}" if u.batch_id.startswith("bundle-") else u.node_id[:8]
            table.add_row(u.received_at.replace("T", " "), u.county_code, device, u.changes, u.applied, u.merged,
                          u.conflicts, u.rejected, key=u.batch_id)

    def _open_upload(self) -> None:
        table = self.query_one("#upload-table", DataTable)
        if not table.row_count:
            return
        batch_id = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        self.call_server(lambda: self.client.upload_report(batch_id), self._show_upload_report)

    def _show_upload_report(self, report: Any) -> None:
        table = self.query_one("#upload-report", DataTable)
        table.clear()
        for r in report.results:
            table.add_row(r.table, r.id, t(f"result.{r.status}"), plain(f"{r.reason} {r.message}".strip()))

    # ---- reports ----------------------------------------------------------------------------------------

    def _show_reports(self, reports: CityReports) -> None:
        self.reports = reports
        table = self.query_one("#report-table", DataTable)
        table.clear(columns=True)
        grid = reports.grid
        table.add_columns(t("city.col_county"), *grid.periods, t("city.col_completeness"), t("city.col_timeliness"))
        for code, name in grid.counties:
            marks = [cell_mark(grid.cell(code, p)) + (t("city.locked_mark") if grid.cell(code, p).locked and
                                                      grid.cell(code, p).state != CellState.NOT_DUE else "")
                     for p in grid.periods]
            table.add_row(name, *marks, grid.completeness(code).percent(), grid.timeliness(code).percent(), key=code)
        table.add_row(t("city.total"), *(grid.completeness(period=p).percent() for p in grid.periods),
                      grid.completeness().percent(), grid.timeliness().percent())

    def action_export(self) -> None:
        if self.reports is None:
            return
        target = Path.cwd() / f"city-reports-{self.reports.first}-{self.reports.last}.xlsx"
        export_city_reports(self.reports, target)
        self.notify(t("city.exported", path=str(target)))

    def action_lock(self) -> None:
        table = self.query_one("#report-table", DataTable)
        if self._active_tab() != "reports" or self.reports is None or not table.row_count:
            return
        cell = table.coordinate_to_cell_key(table.cursor_coordinate)
        county = str(cell.row_key.value) if cell.row_key.value in dict(self.reports.grid.counties) else None
        period = self.reports.grid.periods[max(0, table.cursor_coordinate.column - 1)] \
            if 0 < table.cursor_coordinate.column <= len(self.reports.grid.periods) else self.reports.last
        if county is None:
            return
        from stvs_tui.city.item import LockModal

        self.push_screen(LockModal(county, period, self.today),
                         lambda answer: answer and self.call_server(lambda: self.client.lock(*answer), self._locked))

    def _locked(self, response: Any) -> None:
        self.notify(t("city.locked", county=response.county_code, period=response.period,
                      until=response.open_until.isoformat()))
        self.action_refresh()


def run_city_app(server_url: str, token: str, lang: str) -> None:
    with CityAdminClient(server_url, token) as client:
        CityApp(client, lang).run()

