"""Go to row: a one-line dialog asking for a row number of the list (1 to the list's length)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from stvs_tui.i18n import t


class GotoRowModal(ModalScreen[int | None]):
    """Enter takes the number typed (a number past the end goes to the last row); Esc leaves the list as it is."""

    BINDINGS = [Binding("escape", "cancel", show=False, id="goto.cancel")]

    def __init__(self, rows: int) -> None:
        super().__init__(classes="modal")
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(id="goto-box", classes="modal-box"):
            yield Label(t("list.goto_prompt", rows=self.rows), markup=False, id="goto-question")
            yield Input(type="integer", id="goto-row")
            yield Label("", id="goto-error", markup=False)

    def on_mount(self) -> None:
        self.query_one("#goto-row", Input).focus()

    @on(Input.Submitted, "#goto-row")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text.isdigit() or int(text) < 1:
            self.query_one("#goto-error", Label).update(t("list.goto_bad", rows=self.rows))
            return
        self.dismiss(int(text))

    def action_cancel(self) -> None:
        self.dismiss(None)
