"""The repair modal: dates typed into the store by hand (the ``sqlite3`` shell) that cannot be read back, each
with its record, field and stored text, for the clerk to correct; nothing is written until every one is a
date (or left empty where the field may be), and Esc leaves them as they are."""

from __future__ import annotations

from datetime import date, datetime

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from schema.errors import InvalidValue
from schema.stored_values import Unreadable, corrected_value
from stvs_tui.actions import install_bindings
from stvs_tui.i18n import language, t
from stvs_tui.widgets.form import SaveOrCancel, localize_error

Corrections = list[tuple[Unreadable, date | datetime | None]]


class RepairModal(SaveOrCancel, ModalScreen[Corrections | None]):
    """Correct stored values that are no date; dismisses with (value, correction) pairs, or None."""

    SCOPE = "form"  # Ctrl+S saves, Esc leaves

    def __init__(self, items: list[Unreadable], total: int | None = None) -> None:
        super().__init__(classes="modal")
        install_bindings(self, [self.SCOPE])
        self.items = items
        self.total = max(total or 0, len(items))

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box form-box", id="repair-box"):
            yield Label(t("repair.title", count=self.total), markup=False, classes="modal-title")
            more = t("repair.first", shown=len(self.items)) if self.total > len(self.items) else ""
            yield Label(t("repair.intro") + more, markup=False, id="repair-intro")
            with VerticalScroll(classes="form-fields"):
                for index, item in enumerate(self.items):
                    yield Label(t("repair.item", where=item.where(language()), value=item.shown), markup=False,
                                classes="field-label")
                    hint = t("form.date_hint") if item.kind == "date" else t("form.datetime_hint")
                    yield Input(item.shown, id=f"fix-{index}", placeholder=hint)
                    yield Label("", markup=False, id=f"fix-err-{index}", classes="field-error")
            with Horizontal(classes="form-buttons"):
                yield Button(f"{t('action.save')} (Ctrl+S)", id="save", variant="primary")
                yield Button(f"{t('repair.later')} (Esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#fix-0", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    def corrections(self) -> tuple[Corrections, list[int]]:
        """Each value's correction, and the indexes of those that are not yet a date (their errors shown)."""
        done: Corrections = []
        bad: list[int] = []
        for index, item in enumerate(self.items):
            error = self.query_one(f"#fix-err-{index}", Label)
            try:
                done.append((item, corrected_value(item, self.query_one(f"#fix-{index}", Input).value)))
            except InvalidValue as exc:
                bad.append(index)
                error.update(localize_error(exc.error.message))
                continue
            error.update("")
        return done, bad

    def action_save(self) -> None:
        done, bad = self.corrections()
        if bad:
            self.notify(t("form.errors"), severity="error")
            self.query_one(f"#fix-{bad[0]}", Input).focus()
            return
        self.dismiss(done)

    def action_cancel(self) -> None:
        self.dismiss(None)
