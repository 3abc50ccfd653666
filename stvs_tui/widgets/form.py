"""Record forms as modal screens (after Posting): a label, a widget and an error line per field.

Values are checked with the schema's ``clean_record`` as the clerk types (errors show once a field has
been touched, or on every field after a save attempt); saving is refused until the record is valid. The
form returns the cleaned values; the caller writes them in a worker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlmodel import SQLModel
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, SelectionList, TextArea

from schema.enums import LabeledEnum
from schema.errors import FieldError, InvalidRecord
from schema.models import field_label
from schema.validation import clean_record
from stvs_tui.actions import install_bindings
from stvs_tui.formatting import display_text
from stvs_tui.i18n import language, t
from stvs_tui.widgets.confirm import ConfirmModal

Options = type[LabeledEnum] | list[tuple[str, str]]
ExtraCheck = Callable[[dict[str, Any]], list[FieldError]]
_BILINGUAL = re.compile(r"^(?P<zh>.*?)\s*\((?P<en>[^()]*)\)\s*$", re.S)


@dataclass(frozen=True)
class FieldSpec:
    """One field of a form: ``kind`` is text, area, select, multi, bool, date or datetime."""

    name: str
    kind: str = "text"
    options: Options | None = None
    required: bool = False


def localize_error(message: str) -> str:
    """Validator messages read "中文 (English)"; show the half in the clerk's language."""
    match = _BILINGUAL.match(message)
    if not match:
        return message
    return match["en"] if language() == "en" else match["zh"]


def _option_pairs(options: Options | None) -> list[tuple[str, str]]:
    if options is None:
        return []
    if isinstance(options, list):
        return options
    return [(member.label(language()), member.value) for member in options]




class _SavesOrCancels(Protocol):
    def action_save(self) -> None: ...

    def action_cancel(self) -> None: ...


class SaveOrCancel:
    """For a modal with a save and a cancel action whose buttons are #save and #cancel: a press runs the one."""

    def on_button_pressed(self: _SavesOrCancels, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()


class FormModal(SaveOrCancel, ModalScreen[dict[str, Any] | None]):
    """Edit one record's fields; dismisses with the cleaned values, or None when cancelled."""

    SCOPE = "form"

    def __init__(self, title: str, model: type[SQLModel], table: str, fields: list[FieldSpec],
                 values: Mapping[str, Any] | None = None, *, fixed: Mapping[str, Any] | None = None,
                 extra_check: ExtraCheck | None = None) -> None:
        super().__init__(classes="modal")
        install_bindings(self, [self.SCOPE])
        self.form_title = title
        self.model = model
        self.table = table
        self.fields = fields
        self.initial = dict(values or {})
        self.fixed = dict(fixed or {})
        self.extra_check = extra_check
        self.touched: set[str] = set()
        self.show_all = False
        self.pristine: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box form-box"):
            yield Label(self.form_title, markup=False, classes="modal-title")
            with VerticalScroll(classes="form-fields"):
                for spec in self.fields:
                    marker = " *" if spec.required else ""
                    yield Label(field_label(self.model, spec.name, language()) + marker, markup=False,
                                classes="field-label")
                    yield self._widget(spec)
                    yield Label("", markup=False, id=f"err-{spec.name}", classes="field-error")
            yield Label("", markup=False, id="form-error", classes="field-error")
            with Horizontal(classes="form-buttons"):
                yield Button(f"{t('action.save')} (Ctrl+S)", id="save", variant="primary")
                yield Button(f"{t('action.cancel_form')} (Esc)", id="cancel")

    def _widget(self, spec: FieldSpec) -> Widget:
        value = self.initial.get(spec.name)
        wid = f"f-{spec.name}"
        if spec.kind == "select":
            pairs = _option_pairs(spec.options)
            codes = {code for _, code in pairs}
            return Select(pairs, value=value if value in codes else Select.NULL, id=wid, prompt=t("form.none"),
                          allow_blank=not spec.required or value not in codes)
        if spec.kind == "multi":
            chosen = set(str(value or "").split(","))
            return SelectionList[str](*[(label_, code, code in chosen) for label_, code in _option_pairs(spec.options)],
                                      id=wid, classes="form-multi")
        if spec.kind == "bool":
            return Checkbox(field_label(self.model, spec.name, language()), bool(value), id=wid)
        if spec.kind == "area":
            return TextArea(display_text(value), id=wid, classes="form-area", soft_wrap=True)
        hint = {"date": t("form.date_hint"), "datetime": t("form.datetime_hint")}.get(spec.kind, "")
        return Input(display_text(value), id=wid, placeholder=hint)

    def on_mount(self) -> None:
        fields = self.query(".form-fields > Input, .form-fields > Select")
        if not fields:
            # A form built ahead (``prepare_screen``) whose fields were still being mounted when the app began to
            # close: nothing to focus, and nothing typed.
            return
        fields.first().focus()
        self.pristine = self.raw_values()

    def reset(self, title: str, values: Mapping[str, Any] | None = None, *, fixed: Mapping[str, Any] | None = None,
              extra_check: ExtraCheck | None = None) -> bool:
        """Show ``values`` in this form, already built and closed, as a new form built with them would: every
        field, error line and the scroll as at the start, the first field focused, nothing typed. False (and
        nothing changed) when the form cannot (never shown yet, or still open): build a new one then.

        Building a form of 16 fields (some 90 widgets, each styled) took most of its 0.5 s to open; a reused
        one only changes its values (bench/startup.py)."""
        if not self.is_mounted or self.is_attached and self in self.app.screen_stack:
            return False
        values = dict(values or {})
        for spec in self.fields:
            if spec.kind == "select":
                codes = {code for _, code in _option_pairs(spec.options)}
                select: Select[Any] = self.query_one(f"#f-{spec.name}", Select)
                if select._allow_blank != (not spec.required or values.get(spec.name) not in codes):
                    return False  # built otherwise: only a new Select offers (or refuses) the blank
        self.form_title = title
        self.initial = values
        self.fixed = dict(fixed or {})
        self.extra_check = extra_check
        self.touched = set()
        self.show_all = False
        self.query_one(".modal-title", Label).update(title)
        for spec in self.fields:
            self._reset_widget(spec, values.get(spec.name))
            self.query_one(f"#err-{spec.name}", Label).update("")
        self.query_one("#form-error", Label).update("")
        self.query_one(".form-fields", VerticalScroll).scroll_home(animate=False, immediate=True)
        first = self.query(".form-fields > Input, .form-fields > Select").first()
        self.set_focus(first, scroll_visible=False)
        self.pristine = self.raw_values()
        return True

    def _reset_widget(self, spec: FieldSpec, value: Any) -> None:
        """Put ``value`` in a field as ``_widget`` would have built it, without the change events of typing."""
        widget = self.query_one(f"#f-{spec.name}")
        if isinstance(widget, Select):
            codes = {code for _, code in _option_pairs(spec.options)}
            with widget.prevent(Select.Changed):
                widget.value = value if value in codes else Select.NULL
        elif isinstance(widget, SelectionList):
            chosen = set(str(value or "").split(","))
            with widget.prevent(SelectionList.SelectedChanged, SelectionList.SelectionToggled,
                                SelectionList.SelectionHighlighted):
                widget.deselect_all()
                for code in (code for _, code in _option_pairs(spec.options) if code in chosen):
                    widget.select(code)
                widget.highlighted = 0 if widget.option_count else None
                widget.scroll_home(animate=False, immediate=True)
        elif isinstance(widget, Checkbox):
            with widget.prevent(Checkbox.Changed):
                widget.value = bool(value)
        elif isinstance(widget, TextArea):
            with widget.prevent(TextArea.Changed):
                widget.load_text(display_text(value))
        elif isinstance(widget, Input):
            with widget.prevent(Input.Changed):
                widget.value = display_text(value)
                widget.cursor_position = len(widget.value)

    def has_unsaved_input(self) -> bool:
        """Whether a field differs from what the form opened with (typing and deleting again is no change)."""
        return self.pristine is not None and self.raw_values() != self.pristine

    def raw_values(self) -> dict[str, Any]:
        raw: dict[str, Any] = {}
        for spec in self.fields:
            widget = self.query_one(f"#f-{spec.name}")
            if isinstance(widget, Select):
                raw[spec.name] = "" if widget.value is Select.NULL else widget.value
            elif isinstance(widget, SelectionList):
                raw[spec.name] = ",".join(widget.selected)
            elif isinstance(widget, Checkbox):
                raw[spec.name] = widget.value
            elif isinstance(widget, TextArea):
                raw[spec.name] = widget.text
            elif isinstance(widget, Input):
                raw[spec.name] = widget.value
        return raw

    def validate_form(self) -> tuple[dict[str, Any] | None, list[FieldError]]:
        raw = self.raw_values() | self.fixed
        try:
            cleaned = clean_record(self.table, raw, partial=True)
        except InvalidRecord as exc:
            return None, exc.errors
        errors = self.extra_check(cleaned) if self.extra_check else []
        return (None, errors) if errors else (cleaned, [])

    def show_errors(self, errors: list[FieldError]) -> None:
        by_field: dict[str, str] = {}
        for error in errors:
            by_field.setdefault(error.field, localize_error(error.message))
        names = {spec.name for spec in self.fields}
        for name in names:
            visible = self.show_all or name in self.touched
            self.query_one(f"#err-{name}", Label).update(by_field.get(name, "") if visible else "")
        stray = [f"{field}: {msg}" for field, msg in by_field.items() if field not in names]
        general = stray or ([t("form.errors")] if self.show_all and by_field else [])
        self.query_one("#form-error", Label).update("\n".join(general))

    def _changed(self, widget_id: str | None) -> None:
        if not widget_id or not widget_id.startswith("f-") or not self.is_mounted:
            return
        self.touched.add(widget_id.removeprefix("f-"))
        self.show_errors(self.validate_form()[1])

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    @on(TextArea.Changed)
    def _field_changed(self, event: Input.Changed | Select.Changed | Checkbox.Changed | TextArea.Changed) -> None:
        widget = getattr(event, "control", None) or getattr(event, "text_area", None)
        self._changed(widget.id if widget is not None else None)

    @on(SelectionList.SelectedChanged)
    def _multi_changed(self, event: SelectionList.SelectedChanged) -> None:
        self._changed(event.selection_list.id)

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

    def action_save(self) -> None:
        cleaned, errors = self.validate_form()
        self.show_all = True
        self.show_errors(errors)
        if cleaned is None:
            self.notify(t("form.errors"), severity="error")
            self._focus_first_error(errors)
            return
        self.dismiss(cleaned)

    def _focus_first_error(self, errors: list[FieldError]) -> None:
        """Focus the first field (in the form's order) marked red, scrolled into view with its label."""
        bad = {error.field for error in errors}
        for spec in self.fields:
            if spec.name in bad:
                widget = self.query_one(f"#f-{spec.name}")
                widget.focus()
                label = widget.parent.children[widget.parent.children.index(widget) - 1] if widget.parent else None
                if label is not None:
                    label.scroll_visible(animate=False)
                return

    def action_cancel(self) -> None:
        if not self.has_unsaved_input():
            self.dismiss(None)
            return

        def discard(yes: bool | None) -> None:
            if yes:
                self.dismiss(None)

        self.app.push_screen(ConfirmModal(t("confirm.discard")), discard)
