"""F1 help: what the current screen is for, and every key that works on it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label

from stvs_tui.i18n import t
from stvs_tui.widgets.palette import palette_actions


class HelpModal(ModalScreen[None]):
    SCOPE = "help"
    BINDINGS = [Binding("escape,f1", "dismiss", show=False, id="help.close")]

    def __init__(self, screen: Screen[object], screen_title: str, screen_help: str) -> None:
        super().__init__(classes="modal")
        self.for_screen = screen
        self.screen_title = screen_title
        self.screen_help = screen_help

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box help-box"):
            yield Label(t("help.title", screen=self.screen_title), markup=False, classes="modal-title")
            if self.screen_help:
                yield Label(self.screen_help, markup=False, classes="help-text")
            yield Label(t("help.general"), markup=False, classes="help-text")
            table: DataTable[Text] = DataTable(cursor_type="row", id="help-keys")
            table.add_columns(t("help.key"), t("help.action"))
            for spec in palette_actions(self.for_screen):
                keys = " / ".join(self.app.get_key_display(Binding(k, spec.action)) for k in spec.keys.split(","))
                table.add_row(Text(keys), Text(t(spec.label)))
            yield table
            yield Label(t("help.close"), markup=False, classes="help-hint")
