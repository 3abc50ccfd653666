"""Exports from the TUI's lists: a modal asks where to write (default: the data folder), the roster may be
written unmasked after a confirmation, and the workbook is written in a worker with a notice of its path.

The workbooks themselves come from ``stvs_tui.excel``; this module only asks and runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label

from stvs_tui.actions import install_bindings
from stvs_tui.i18n import language, t
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from stvs_tui.county.screens.base import StvsScreen

def _excel() -> Any:
    """``stvs_tui.excel`` (and openpyxl): imported when a workbook is first read or written, not as the TUI starts."""
    import stvs_tui.excel

    return stvs_tui.excel


# ``write(path, unmasked)`` writes the workbook; it runs in a thread.
Writer = Callable[[Path, bool], Any]


@dataclass(frozen=True)
class ExportChoice:
    path: Path
    unmasked: bool = False


class ExportModal(ModalScreen[ExportChoice | None]):
    """Ask for the output file (and, for lists with ID numbers, whether to write them unmasked)."""

    SCOPE = "export"

    def __init__(self, title: str, default_path: Path, *, offer_unmasked: bool = False) -> None:
        super().__init__(classes="modal")
        install_bindings(self, ["export"])
        self.title_text = title
        self.default_path = default_path
        self.offer_unmasked = offer_unmasked

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="export-box"):
            yield Label(self.title_text, markup=False, classes="modal-title")
            yield Label(t("export.path"), classes="field-label")
            yield Input(value=str(self.default_path), id="export-path")
            if self.offer_unmasked:
                yield Checkbox(t("export.unmasked"), value=False, id="export-unmasked")
            yield Label("", id="export-error", markup=False, classes="field-error")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_write()

    def action_write(self) -> None:
        text = self.query_one("#export-path", Input).value.strip()
        if not text:
            self.query_one("#export-error", Label).update(t("export.path_required"))
            return
        path = Path(text).expanduser()
        if path.suffix.lower() != ".xlsx":
            path = path.with_name(path.name + ".xlsx")
        unmasked = self.offer_unmasked and self.query_one("#export-unmasked", Checkbox).value
        self.dismiss(ExportChoice(path, unmasked))

    def action_cancel(self) -> None:
        self.dismiss(None)


def default_folder(screen: StvsScreen) -> Path:
    """The data folder (next to the store) when there is one, else the current folder."""
    store_path = screen.county_app.store.path
    return store_path.parent if store_path is not None else Path.cwd()


def export_from(screen: StvsScreen, title: str, file_name: str, write: Writer, *,
                offer_unmasked: bool = False) -> None:
    """Ask where to write, confirm an unmasked roster (default 否), then write in a worker and tell the path."""
    modal = ExportModal(title, default_folder(screen) / file_name, offer_unmasked=offer_unmasked)

    def chosen(choice: ExportChoice | None) -> None:
        if choice is None:
            return
        if not choice.unmasked:
            _run(screen, write, choice)
            return
        screen.app.push_screen(ConfirmModal(t("export.confirm_unmasked")),
                               lambda yes: _run(screen, write, choice) if yes else None)

    screen.app.push_screen(modal, chosen)


def _run(screen: StvsScreen, write: Writer, choice: ExportChoice) -> None:
    app = screen.app

    def work() -> None:
        try:
            choice.path.parent.mkdir(parents=True, exist_ok=True)
            write(choice.path, choice.unmasked)
        except (_excel().ExcelError, OSError) as exc:  # a full disk or a locked file reaches the clerk as a message
            app.call_from_thread(app.notify, t("export.failed", error=exc), severity="error", markup=False)
            return
        app.call_from_thread(app.notify, t("export.written", path=choice.path), markup=False)

    screen.run_worker(work, thread=True, group="export", exclusive=False, exit_on_error=False)


# One entry per list: the file it suggests and the workbook it writes (from ``stvs_tui.excel``).
def export_roster_list(screen: StvsScreen) -> None:
    store, today, lang = screen.county_app.store, screen.county_app.today, language()
    export_from(screen, t("action.export_roster"), f"{t('export.file_roster', day=today)}.xlsx",
                lambda path, unmasked: _excel().export_roster(store, path, unmasked=unmasked, lang=lang, today=today),
                offer_unmasked=True)


def export_teams_form(screen: StvsScreen) -> None:
    store, today = screen.county_app.store, screen.county_app.today
    export_from(screen, t("action.export_teams"), f"{t('export.file_teams', day=today)}.xlsx",
                lambda path, _unmasked: _excel().export_teams(store, path, today=today))


def export_activity_ledger(screen: StvsScreen, period: str) -> None:
    store, today = screen.county_app.store, screen.county_app.today
    export_from(screen, t("action.export_activities"), f"{t('export.file_activities', period=period)}.xlsx",
                lambda path, _unmasked: _excel().export_activities(store, path, period=period, today=today))


def export_monthly_form(screen: StvsScreen, period: str) -> None:
    store, today = screen.county_app.store, screen.county_app.today
    export_from(screen, t("action.export_monthly"), f"{t('export.file_monthly', period=period)}.xlsx",
                lambda path, _unmasked: _excel().export_monthly(store, path, period=period, today=today))


def export_hours_certificate(screen: StvsScreen, volunteer_id: str, name: str) -> None:
    store, today = screen.county_app.store, screen.county_app.today
    export_from(screen, t("action.export_certificate"), f"{t('export.file_certificate', name=name)}.xlsx",
                lambda path, unmasked: _excel().export_certificate(store, path, volunteer_id, unmasked=unmasked, today=today),
                offer_unmasked=True)
