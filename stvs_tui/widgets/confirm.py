"""The confirm modal: anything hard to undo asks first, and the answer under the cursor is 否 (No)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from stvs_tui.i18n import t


class ConfirmModal(ModalScreen[bool]):
    """Ask a yes/no question; Esc, Enter on the default button, or "否" all answer no."""

    SCOPE = "confirm"
    BINDINGS = [
        Binding("escape", "answer(False)", show=False, id="confirm.no"),
        Binding("left,right", "switch", show=False, id="confirm.switch"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__(classes="modal")
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="modal-box"):
            yield Label(self.question, markup=False, id="confirm-question")
            with Horizontal(id="confirm-buttons"):
                yield Button(t("confirm.yes"), id="yes", variant="error")
                yield Button(t("confirm.no"), id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def action_switch(self) -> None:
        target = "#yes" if self.focused is self.query_one("#no", Button) else "#no"
        self.query_one(target, Button).focus()
