"""F1 help: what the current screen is for, and every key that works on it; and the app base that opens it
and the command palette (the county and the city TUI both)."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Label

from stvs_tui.i18n import t
from stvs_tui.state import report_state
from stvs_tui.widgets.palette import ActionsProvider, LocalizedCommandPalette, palette_actions
from stvs_tui.widgets.table import SteadyTable
from stvs_tui.widgets.wide import install as mend_wide_characters

mend_wide_characters()


def localize_textual_bindings() -> None:
    """Textual's own footer words in the clerk's language (an open Select showed "esc Dismiss menu")."""
    from textual.binding import BindingsMap
    from textual.widgets._select import SelectOverlay

    # Only Esc's words change: the list's own keys (arrows, Enter) stay, or an open list could not be used.
    keys = dict(SelectOverlay._merge_bindings().key_to_bindings)
    keys["escape"] = [Binding("escape", "dismiss", t("action.close_menu"), id="select.close_menu")]
    SelectOverlay._merged_bindings = BindingsMap.from_keys(keys)


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
            table: SteadyTable = SteadyTable(cursor_type="row", id="help-keys")
            table.add_columns(t("help.key"), t("help.action"))
            for spec in palette_actions(self.for_screen):
                keys = " / ".join(self.app.get_key_display(Binding(k, spec.action)) for k in spec.keys.split(","))
                table.add_row(Text(keys), Text(t(spec.label)))
            yield table
            yield Label(t("help.close"), markup=False, classes="help-hint")


class RegistryApp(App[None]):
    """An app whose F1 help and command palette come from the action registry. ``ACTION_SCOPES`` are the
    registry scopes available on every screen; ``TITLE_KEY`` titles the help of a screen without a title."""

    COMMANDS = {ActionsProvider}
    ACTION_SCOPES: ClassVar[tuple[str, ...]] = ("app",)
    TITLE_KEY: ClassVar[str] = "app.title"

    _focus_reported = ""

    def on_mount(self) -> None:
        # For a driver outside the app (STVS_STATE_FILE): each screen reached, once it is drawn; then where its
        # focus landed (``on_descendant_focus``).
        if os.environ.get("STVS_STATE_FILE"):
            self.screen_change_signal.subscribe(self, lambda screen: self.call_after_refresh(self._report_screen, screen))

    def _report_screen(self, screen: Screen[Any]) -> None:
        self._focus_reported = ""
        report_state(f"screen {type(screen).__name__}")

    def on_descendant_focus(self) -> None:
        """For a driver: ``focus ConfirmModal #no`` once the focus has landed (``focus()`` moves it later, not at
        once), so a key sent after that line reaches that widget. Read when the refresh is done, as it is then:
        two moves in a row (a screen's first widget, then the one its ``on_mount`` chose) report the last."""
        if os.environ.get("STVS_STATE_FILE"):
            self.call_after_refresh(self._report_focus)

    def _report_focus(self) -> None:
        focused = self.screen.focused
        if focused is None:
            return
        line = f"focus {type(self.screen).__name__} #{focused.id or type(focused).__name__}"
        if line != self._focus_reported:
            self._focus_reported = line
            report_state(line)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        localize_textual_bindings()  # the language is chosen before the app is made

    def action_help(self) -> None:
        if isinstance(self.screen, HelpModal):
            self.screen.dismiss()
            return
        screen = self.screen
        title = getattr(screen, "screen_title", lambda: t(self.TITLE_KEY))()
        body = getattr(screen, "screen_help", lambda: "")()
        self.push_screen(HelpModal(screen, title, body))

    def action_command_palette(self) -> None:
        if self.use_command_palette and not LocalizedCommandPalette.is_open(self):
            self.push_screen(LocalizedCommandPalette())
