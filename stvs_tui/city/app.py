"""The city admin TUI (``stvs-tui city``): uploads, the conflict queue, city reports, against the server.

Every server call runs in a thread worker and only posts its result back, so the UI never blocks. Keys
come from the one action registry (``stvs_tui.city.words``), which also feeds F1 help and the command
palette as in the county TUI; strings from the one catalogue. Lists page through the admin API.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Label, Select, TabbedContent, TabPane

import stvs_tui.city.words  # noqa: F401  (registers the city's keys before any screen installs them)
from schema.models import SYNCED_TABLES
from schema.reporting import CellState, CityReports, shift_period
from stvs_tui.actions import install_bindings
from stvs_tui.city.api import CityAdminClient
from stvs_tui.city.audit import CountyPane, ResolvedPane
from stvs_tui.city.conflict_log import export_conflict_log
from stvs_tui.city.export import export_city_reports
from stvs_tui.city.item import ConflictScreen, ConnectModal, ExportModal, LockModal, ReasonModal, ReopenModal
from stvs_tui.city.names import county_of, field_of, sender_of, subject_of, table_of
from stvs_tui.city.words import AppKeysFirst
from stvs_tui.i18n import CATALOGUE, in_language, t, use_language
from stvs_tui.state import report_state
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.help import RegistryApp
from stvs_tui.widgets.paged_table import PagedTable
from stvs_tui.widgets.text import plain
from sync.admin_protocol import QUEUE_KINDS

T = TypeVar("T")
PAGE = 200
TABS = ("uploads", "queue", "reports", "resolved", "counties")  # in the tab bar's order; F2 to F6
# The keys of the main screen that mean something on one tab only: the footer shows them on that tab.
TAB_ACTIONS = {"toggle_select": ("queue",), "bulk": ("queue",), "open_item": ("queue", "uploads"),
               "export": ("queue", "resolved", "reports"), "lock": ("reports",), "reopen": ("reports",),
               "focus_filter": ("queue", "reports", "resolved")}
# The county TUI's stylesheet holds the shared modal, help and palette styles the city screens use too.
SHARED_CSS = Path(__file__).resolve().parent.parent / "county.tcss"


Connector = Callable[[str, str], CityAdminClient]


def checked_client(url: str, token: str, **transport: Any) -> CityAdminClient:
    """A client for ``url`` with ``token`` once the server has accepted the token (else its error is raised);
    ``transport``: the client's ``ca_file`` and ``insecure_http``."""
    client = CityAdminClient(url, token, **transport)
    try:
        client.uploads(limit=1)
    except Exception:
        client.close()
        raise
    return client


class CityApp(RegistryApp):
    """The city admin's app: the tabs screen, and over it one queue item or a small modal at a time."""

    TITLE = "stvs-tui city"
    CSS_PATH = SHARED_CSS
    CSS = """
    #filters, #months { height: auto; }
    #months Input { width: 1fr; }
    /* One line of borderless boxes, each placeholder whole at 80 columns (as the resolved tab's). */
    #filters { height: 1; margin: 1 0; }
    #filters Input { padding: 0 1; margin: 0 1 0 0; }
    #filters Select { margin: 0 1 0 0; }
    #filters Select > SelectCurrent { padding: 0 1; }
    #filters SelectCurrent Static#label { text-wrap: nowrap; text-overflow: ellipsis; }
    #f-search { width: 1fr; }
    #f-county { width: 13; }
    #f-table, #f-kind { width: 14; }
    #f-kind { margin: 0; }
    DataTable { height: 1fr; }
    #upload-report { height: 12; }
    #status { height: 1; color: $warning; }
    #legend { width: 1fr; height: auto; color: $text-muted; }
    #resolved-detail { height: 6; }
    #resolved-why, #county-months { width: 1fr; height: auto; color: $text-muted; }
    .help-text { width: 1fr; }
    """
    # The palette and F1 help offer these scopes on every screen (the county app's "app" is not ours).
    ACTION_SCOPES: ClassVar[tuple[str, ...]] = ("city",)
    TITLE_KEY: ClassVar[str] = "city.title"

    def __init__(self, client: CityAdminClient | None, lang: str = "zh", today: date | None = None,
                 connect: Connector | None = None, server_url: str = "") -> None:
        use_language(lang)
        super().__init__()
        # None: the app starts on the sign-in screen (a web session) and gets its client there.
        self.client: CityAdminClient = client  # type: ignore[assignment]
        self.server_url = server_url
        # Builds, checks and (from the CLI) saves a client for another server or token; see action_connect.
        self.connect = connect or checked_client
        # Injected so that snapshots and tests never depend on the clock.
        self.today = today or date.today()
        install_bindings(self, self.ACTION_SCOPES)

    def get_default_screen(self) -> Screen[Any]:
        if self.client is None:
            from stvs_tui.city.signin import SignInScreen

            return SignInScreen(self.server_url)
        return CityMainScreen()

    @work(thread=True, group="server")
    def call_server(self, job: Callable[[], T], done: Callable[[T], Any],
                    failed: Callable[[str], Any] | None = None) -> None:
        """Run ``job`` (a server call) off the UI thread; hand its result to ``done`` on the UI thread (an error's
        one line to ``failed``, by default the app's error toast and status line)."""
        try:
            result = job()
        except Exception as exc:  # noqa: BLE001  (any failure is shown, never crashes the app)
            self.call_from_thread(self._deliver, failed or self.show_error, " ".join(str(exc).split()))
            return
        self.call_from_thread(self._deliver, done, result)

    def _deliver(self, done: Callable[[T], Any], result: T) -> None:
        # An answer that arrives while the app is closing has no screen left to show it on.
        if self.is_running:
            done(result)

    def sign_in(self, url: str, token: str, failed: Callable[[str], Any]) -> None:
        """The sign-in screen's Enter: the tabs open over it once the server accepts the token."""

        def accepted(client: CityAdminClient) -> None:
            self.client = client
            # Over the sign-in screen, which stays below unseen (Ctrl+T changes server or token from the tabs).
            self.push_screen(CityMainScreen())

        self.call_server(lambda: self.connect(url, token), accepted, failed=failed)

    def action_connect(self) -> None:
        """Change server or token: the new client replaces the old only once the server has accepted it."""
        if self.client is None:
            return  # the sign-in screen is already asking for them

        def tried(new: CityAdminClient) -> None:
            old, self.client = self.client, new
            old.close()
            self.notify(t("city.connected", url=new.server_url), markup=False)
            main = self.main_screen()
            if main is not None:
                main.action_refresh()

        def answer(given: tuple[str, str] | None) -> None:
            if given:
                self.call_server(lambda: self.connect(*given), tried)

        self.push_screen(ConnectModal(self.client.server_url), answer)

    def main_screen(self) -> CityMainScreen | None:
        """The tabs screen: the bottom of the stack, or just above the sign-in screen of a web session."""
        return next((screen for screen in self.screen_stack if isinstance(screen, CityMainScreen)), None)

    def has_unsaved_input(self) -> bool:
        return any(getattr(screen, "has_unsaved_input", lambda: False)() for screen in self.screen_stack)

    async def action_quit(self) -> None:
        """Ctrl+Q: a typed value or reason is never dropped without asking (the answer under the cursor is 否)."""
        if isinstance(self.screen, ConfirmModal):
            return
        if not self.has_unsaved_input():
            self.exit()
            return
        self.push_screen(ConfirmModal(t("confirm.quit_unsaved")), lambda yes: self.exit() if yes else None)

    def show_error(self, error: str) -> None:
        error = in_language(error)
        self.notify(t("app.error", error=error), severity="error", markup=False)
        main = self.main_screen()
        if main is not None:
            main.show_status(t("app.error", error=error))


class CityMainScreen(AppKeysFirst, Screen[None]):
    """Tabs: uploads (with the per-record report), the conflict queue, city reports."""

    SCOPES: ClassVar[tuple[str, ...]] = ("city.main",)

    def __init__(self) -> None:
        super().__init__()
        self.picked: set[str] = set()
        self.queue_items: dict[str, Any] = {}
        self.reports: CityReports | None = None
        self._tabbed: TabbedContent | None = None
        install_bindings(self, self.SCOPES)

    def tabbed(self) -> TabbedContent | None:
        """The screen's tabs once composed (kept: the footer asks ``check_action`` for every key on every refresh,
        and a query walked all of the screen's widgets each time, a fifth of the city app's CPU)."""
        if self._tabbed is None and self.is_mounted:
            found = self.query(TabbedContent)
            self._tabbed = found.first() if found else None
        return self._tabbed

    @property
    def city(self) -> CityApp:
        assert isinstance(self.app, CityApp)
        return self.app

    def compose(self) -> ComposeResult:
        this_month = f"{self.city.today.year:04d}-{self.city.today.month:02d}"
        yield Header()
        with TabbedContent(initial="queue"):
            with TabPane(t("city.tab_key", key="F2", tab=t("city.tab_uploads")), id="uploads"):
                yield PagedTable(id="upload-table", page_size=PAGE)
                yield DataTable(id="upload-report", cursor_type="row")
            with TabPane(t("city.tab_key", key="F3", tab=t("city.tab_queue")), id="queue"):
                with Horizontal(id="filters"):
                    yield Input(placeholder=t("city.search"), id="f-search", compact=True)
                    yield Input(placeholder=t("city.filter_county"), id="f-county", compact=True)
                    yield Select([(table_of(table), table) for table in SYNCED_TABLES], prompt=t("city.table_all"),
                                 id="f-table", compact=True)
                    yield Select([(t(f"kind.{kind}"), kind) for kind in QUEUE_KINDS], prompt=t("city.kind_all"),
                                 id="f-kind", compact=True)
                # The tick and the county stay in view when the table scrolls right.
                queue = PagedTable(id="queue-table", page_size=PAGE)
                queue.fixed_columns = 2
                yield queue
            with TabPane(t("city.tab_key", key="F4", tab=t("city.tab_reports")), id="reports"):
                with Horizontal(id="months"):
                    yield Input(shift_period(this_month, -5), id="r-first")
                    yield Input(this_month, id="r-last")  # the month in progress: who has reported so far
                yield DataTable(id="report-table", cursor_type="cell", fixed_columns=1)
                yield Label(t("city.legend"), id="legend", markup=False)
            with TabPane(t("city.tab_key", key="F5", tab=t("city.tab_resolved")), id="resolved"):
                yield ResolvedPane()
            with TabPane(t("city.tab_key", key="F6", tab=t("city.tab_counties")), id="counties"):
                yield CountyPane()
        yield Label("", id="status", markup=False)
        yield Footer()

    def screen_help(self) -> str:
        return t(f"city.help_{self.active_tab()}")

    def on_mount(self) -> None:
        self.query_one("#upload-table", DataTable).add_columns(*(t(k) for k in (
            "city.col_time", "city.col_county", "city.col_device", "city.col_changes", "city.col_applied",
            "city.col_merged", "city.col_conflicts", "city.col_rejected")))
        self.query_one("#upload-report", DataTable).add_columns(
            t("city.col_table"), t("city.col_record"), t("city.col_status"), t("city.col_reason"))
        self.query_one("#queue-table", DataTable).add_columns(
            "✓", t("city.col_county"), t("city.col_table"), t("city.col_subject"), t("city.col_kind"),
            t("city.col_fields"), t("city.col_time"))
        self.action_refresh()

    def show_status(self, text: str) -> None:
        self.query_one("#status", Label).update(text)

    def active_tab(self) -> str:
        tabbed = self.tabbed()
        return tabbed.active if tabbed is not None else self.query_one(TabbedContent).active

    # ---- tabs: F2–F4 and Ctrl+PgUp/PgDn from anywhere; the footer shows the keys of the tab shown ---------

    def action_show_tab(self, tab: str) -> None:
        """Open a tab by key or palette, focusing its list."""
        tabbed = self.tabbed() or self.query_one(TabbedContent)
        tabbed.active = tab
        main = {"uploads": "#upload-table", "queue": "#queue-table", "reports": "#report-table",
                "resolved": "#resolved-table", "counties": "#county-table"}[tab]
        self.query_one(main, DataTable).focus()

    def action_next_tab(self, step: int) -> None:
        self.action_show_tab(TABS[(TABS.index(self.active_tab()) + step) % len(TABS)])

    def on_tabbed_content_tab_activated(self, _event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        tabs = TAB_ACTIONS.get(action)
        tabbed = None if tabs is None else self.tabbed()
        if tabs is None or tabbed is None:
            return True
        return tabbed.active in tabs

    # ---- loading ----------------------------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.show_status(t("app.loading"))
        self.city.call_server(self._load_all, self._show_all)
        self.query_one(ResolvedPane).reload()
        self.query_one(CountyPane).reload()

    def _queue_filters(self) -> dict[str, Any]:
        kind, table = self.query_one("#f-kind", Select), self.query_one("#f-table", Select)
        return {"search": self.query_one("#f-search", Input).value.strip() or None,
                "county": self.query_one("#f-county", Input).value.strip() or None,
                "table": None if table.is_blank() else str(table.value),
                "kind": None if kind.is_blank() else str(kind.value)}

    def _months(self) -> tuple[str, str]:
        return self.query_one("#r-first", Input).value.strip(), self.query_one("#r-last", Input).value.strip()

    def _load_all(self) -> tuple[Any, Any, CityReports]:
        client = self.city.client
        client.detect()
        queue = client.queue(**self._queue_filters(), limit=PAGE)
        uploads = client.uploads(limit=PAGE)
        return queue, uploads, client.reports(*self._months(), today=self.city.today)

    def _show_all(self, loaded: tuple[Any, Any, CityReports]) -> None:
        queue, uploads, reports = loaded
        self._show_queue(queue, 0)
        self._show_uploads(uploads, 0)
        self._show_reports(reports)
        self.show_status(t("city.loaded", conflicts=queue.total, uploads=uploads.total))
        # Once drawn (the browser test then photographs the queue).
        self.call_after_refresh(report_state, f"city.loaded queue={queue.total} uploads={uploads.total}")

    def _load_queue(self, offset: int, cursor_at_end: bool = False) -> None:
        filters = self._queue_filters()
        self.city.call_server(lambda: self.city.client.queue(**filters, limit=PAGE, offset=offset),
                              lambda page: self._show_queue(page, offset, cursor_at_end))

    def on_paged_table_page_wanted(self, event: PagedTable.PageWanted) -> None:
        """The cursor moved past the loaded page: fetch the neighbouring one from the server."""
        event.stop()
        if event.table.id == "queue-table":
            self._load_queue(event.offset, event.cursor_at_end)
        else:
            self.city.call_server(lambda: self.city.client.uploads(limit=PAGE, offset=event.offset),
                                  lambda page: self._show_uploads(page, event.offset, event.cursor_at_end))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id in ("f-search", "f-county"):
            self._load_queue(0)
        else:
            self.action_refresh()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id in ("f-kind", "f-table"):
            self._load_queue(0)

    def action_focus_filter(self) -> None:
        target = {"queue": "#f-search", "reports": "#r-first", "resolved": "#a-search"}.get(self.active_tab())
        if target:
            self.query_one(target, Input).focus()

    # ---- queue ------------------------------------------------------------------------------------------

    def _show_queue(self, page: Any, offset: int, cursor_at_end: bool = False) -> None:
        table = self.query_one("#queue-table", PagedTable)
        table.total = page.total
        self.queue_items = {item.id: item for item in page.items}
        table.show_page(offset, [(item.id, self._queue_row(item)) for item in page.items], cursor_at_end)
        if page.total:
            self.show_status(t("city.page", first=offset + 1, last=offset + len(page.items), total=page.total))

    def _queue_row(self, item: Any) -> tuple[Any, ...]:
        # A duplicate person's id and county say which record is which: the fields that differ are listed.
        shown = [name for name in item.fields if item.kind != "duplicate_person" or name not in ("id", "county_code")]
        fields = ", ".join(field_of(item.table, name) for name in shown)
        return ("✓" if item.id in self.picked else "", plain(county_of(item)), table_of(item.table),
                plain(subject_of(item)), t(f"kind.{item.kind}"), plain(fields),
                item.created_at[:16].replace("T", " "))

    def _current_item(self) -> Any:
        key = self.query_one("#queue-table", PagedTable).current_key
        return self.queue_items.get(str(key)) if key is not None else None

    def action_toggle_select(self) -> None:
        """Space picks items across pages: the selection is kept by id while paging."""
        item = self._current_item() if self.active_tab() == "queue" else None
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
        if self.active_tab() == "uploads":
            self._open_upload()
            return
        item = self._current_item() if self.active_tab() == "queue" else None
        if item is not None:
            self.app.push_screen(ConflictScreen(self.city.client, item), lambda _done: self.action_refresh())

    def action_bulk(self, take: str) -> None:
        current = self._current_item()
        ids = sorted(self.picked) or ([current.id] if current else [])
        if not ids or self.active_tab() != "queue":
            return

        def confirmed(reason: str, yes: bool | None) -> None:
            """Enter does what the highlighted button says, and says what it did."""
            if yes:
                self.city.call_server(lambda: self.city.client.bulk(ids, take, reason), self._bulk_done)
            else:
                self.notify(t("city.cancelled"))
                self.show_status(t("city.cancelled"))

        def with_reason(reason: str | None) -> None:
            if reason:
                self.app.push_screen(ConfirmModal(t(f"city.confirm_bulk_{take}", count=len(ids))),
                                     lambda yes: confirmed(reason, yes))

        self.app.push_screen(ReasonModal(), with_reason)

    def _bulk_done(self, outcome: dict[str, str]) -> None:
        done = sum(result == "resolved" for result in outcome.values())
        self.picked.clear()
        self.action_refresh()
        self.notify(t("city.bulk_done", done=done, total=len(outcome)))
        failed = sorted({in_language(result) for result in outcome.values() if result != "resolved"})
        if failed:
            self.notify(t("city.bulk_failed", count=len(outcome) - done, reasons="；".join(failed)),
                        severity="warning", markup=False)

    # ---- uploads ----------------------------------------------------------------------------------------

    def _show_uploads(self, page: Any, offset: int, cursor_at_end: bool = False) -> None:
        table = self.query_one("#upload-table", PagedTable)
        table.total = page.total
        rows = []
        for u in page.items:
            device = sender_of(u.sender) or u.node_id[-8:]
            if u.batch_id.startswith("bundle-"):
                device = f"{t('city.bundle')} {device}"
            rows.append((u.batch_id, (u.received_at.replace("T", " "), plain(county_of(u)), plain(device), u.changes,
                                      u.applied, u.merged, u.conflicts, u.rejected)))
        table.show_page(offset, rows, cursor_at_end)

    def _open_upload(self) -> None:
        batch_id = self.query_one("#upload-table", PagedTable).current_key
        if batch_id is not None:
            self.city.call_server(lambda: self.city.client.upload_report(str(batch_id)), self._show_upload_report)

    def _show_upload_report(self, report: Any) -> None:
        table = self.query_one("#upload-report", DataTable)
        table.clear()
        for r in report.results:
            subject = report.subjects.get(f"{r.table}/{r.id}") or r.id
            table.add_row(table_of(r.table), plain(subject), t(f"result.{r.status}"),
                          plain(f"{reason_of(r.reason)} {message_of(r.table, r.message)}".strip()))
        table.border_title = t("city.upload_title", batch=report.batch_id[:12])

    # ---- reports ----------------------------------------------------------------------------------------

    def _show_reports(self, reports: CityReports) -> None:
        self.reports = reports
        table = self.query_one("#report-table", DataTable)
        # The cursor stays on its county and month across a reload (after a lock, on the cell just locked).
        at = self._lock_target()
        table.clear(columns=True)
        grid = reports.grid
        table.add_columns(t("city.col_county"), *grid.periods, t("city.col_completeness"), t("city.col_timeliness"))
        for code, name in grid.counties:
            table.add_row(name, *(self._mark(grid.cell(code, p)) for p in grid.periods),
                          grid.completeness(code).percent(), grid.timeliness(code).percent(), key=code)
        table.add_row(t("city.total"), *(grid.completeness(period=p).percent() for p in grid.periods),
                      grid.completeness().percent(), grid.timeliness().percent())
        if at is not None and at[0] in dict(grid.counties) and at[1] in grid.periods:
            table.move_cursor(row=table.get_row_index(at[0]), column=grid.periods.index(at[1]) + 1, animate=False)

    @staticmethod
    def _mark(cell: Any) -> str:
        """The cell in the chosen language (the Excel export keeps the paper form's Chinese marks)."""
        locked = cell.locked and cell.state != CellState.NOT_DUE
        nil = t("city.mark_nil") if cell.is_nil and cell.received else ""
        return t(f"city.mark_{cell.state.value}") + nil + (t("city.locked_mark") if locked else "")

    def action_export_log(self) -> None:
        """The conflict log: the open queue and the resolved items (as filtered on their tabs) in one workbook."""
        default = Path.cwd() / f"conflict-log-{self.city.today.isoformat()}.xlsx"
        open_filters = self._queue_filters()
        resolved_filters = self.query_one(ResolvedPane).filters() or {"status": "resolved"}
        client, today = self.city.client, self.city.today

        def job(path: Path) -> Path:
            open_items = client.all_items(**open_filters)
            resolved = client.all_items(**resolved_filters)
            export_conflict_log(open_items, resolved, path, today)
            return path

        def write(path: Path | None) -> None:
            if path is not None:
                self.city.call_server(lambda: job(path),
                                      lambda done: self.notify(t("city.exported", path=str(done)), markup=False))

        self.app.push_screen(ExportModal(default, t("city.export_log_title")), write)

    def action_export(self) -> None:
        if self.active_tab() in ("queue", "resolved"):
            self.action_export_log()
            return
        reports = self.reports
        if reports is None or self.active_tab() != "reports":
            return
        default = Path.cwd() / f"city-reports-{reports.first}-{reports.last}.xlsx"

        def write(path: Path | None) -> None:
            if path is not None:
                self.city.call_server(lambda: export_city_reports(reports, path) or path,
                                      lambda done: self.notify(t("city.exported", path=str(done)), markup=False))

        self.app.push_screen(ExportModal(default), write)

    def _lock_target(self) -> tuple[str, str] | None:
        """The county and month of the cell under the cursor; None unless it is one county's month."""
        table = self.query_one("#report-table", DataTable)
        if self.reports is None or not table.row_count or not table.columns:
            return None
        county = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        periods, column = self.reports.grid.periods, table.cursor_coordinate.column
        if county not in dict(self.reports.grid.counties) or not 0 < column <= len(periods):
            return None
        return county, periods[column - 1]

    def _target_or_say(self) -> tuple[str, str, str] | None:
        """(code, name, month) under the cursor on the reports tab, or a word on what to do first."""
        if self.active_tab() != "reports":
            return None
        target = self._lock_target()
        if target is None or self.reports is None:
            self.notify(t("city.no_target"), severity="warning")
            return None
        return target[0], dict(self.reports.grid.counties)[target[0]], target[1]

    def action_lock(self) -> None:
        """Lock the highlighted county's month now: editable until yesterday (no date to type)."""
        target = self._target_or_say()
        if target is None:
            return
        code, name, period = target
        yesterday = self.city.today - timedelta(days=1)

        def send(reason: str | None) -> None:
            if reason:
                self.city.call_server(lambda: self.city.client.lock(code, period, yesterday, reason),
                                      lambda _done: self._lock_done(t("city.locked", county=name, period=period)))

        self.app.push_screen(LockModal(name, period), send)

    def action_reopen(self) -> None:
        """Reopen the highlighted county's month until a day the admin gives (a week from today offered)."""
        target = self._target_or_say()
        if target is None:
            return
        code, name, period = target

        def send(answer: tuple[date, str] | None) -> None:
            if answer:
                until, reason = answer
                self.city.call_server(lambda: self.city.client.lock(code, period, until, reason),
                                      lambda done: self._lock_done(t("city.reopened", county=name, period=period,
                                                                     until=done.open_until.isoformat())))

        self.app.push_screen(ReopenModal(name, period, self.city.today), send)

    def _lock_done(self, message: str) -> None:
        self.notify(message, markup=False)
        self.show_status(message)
        self.action_refresh()


def reason_of(code: str) -> str:
    """An upload result's reason code (fast_forward, period_locked …) in words."""
    for key in (f"why.{code}", f"kind.{code}", f"result.{code}"):
        if key in CATALOGUE:
            return t(key)
    return code


def message_of(table: str, message: str) -> str:
    """A refusal's message in the UI's language, a leading field by its label (手机号码: …)."""
    text = in_language(message)
    field, colon, rest = text.partition(": ")
    if colon and field.isidentifier():
        return f"{field_of(table, field)}: {rest}"
    return text


def run_city_app(client: CityAdminClient | None, lang: str, connect: Connector | None = None,
                 server_url: str = "") -> None:
    """Run the city app; with no client it opens on the sign-in screen for ``server_url`` (a web session)."""
    app = CityApp(client, lang, connect=connect, server_url=server_url)
    try:
        app.run()
    finally:
        if app.client is not None:
            app.client.close()
