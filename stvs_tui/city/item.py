"""One conflict-queue item side by side (base / city / county per field), a decision per field or a typed
value, and the reason every decision needs; plus the small modals of the city TUI (reason, period lock,
export path). Their keys are the registry's scopes ``city.item`` and ``city.form`` (``stvs_tui.city.words``)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, Label, Select

import stvs_tui.city.words  # noqa: F401  (registers the city's keys)
from stvs_tui.actions import install_bindings
from stvs_tui.city.api import CityAdminClient
from stvs_tui.city.names import county_of, field_of, sender_of, subject_of, table_of, value_of
from stvs_tui.city.words import AppKeysFirst
from stvs_tui.i18n import labelled, language, t
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.text import plain

CHOICES = ("city", "county", "value")
# Rows of a duplicate person shown for orientation (which record is which), never chosen; the fields that
# differ follow them and are chosen side by side.
PERSON_ROWS = ("name", "id_number", "county_code", "work_unit", "joined_on")
NOT_CHOSEN = ("id", "county_code", "id_number")


def shown(value: Any) -> str:
    """A value as the admin reads it: "-" for none, never interpreted as markup."""
    return "-" if value is None or value == "" else str(value)


class ConflictScreen(AppKeysFirst, ModalScreen[bool]):
    """Decide one item: per field keep the server's value, take this upload's, or type one; a reason is required.

    A duplicate person shows both records side by side (name, masked ID, county, unit, registration day, then
    the fields that differ) and decides merge into one of them, or keep both."""

    SCOPES: ClassVar[tuple[str, ...]] = ("city.item",)
    DEFAULT_CSS = """
    ConflictScreen #value { border: round $primary; border-title-color: $primary; }
    ConflictScreen #reason { border: heavy $warning; border-title-color: $warning; }
    ConflictScreen #value:focus { border: round $primary-lighten-2; }
    ConflictScreen #reason:focus { border: heavy $warning-lighten-2; }
    """

    def __init__(self, client: CityAdminClient, item: Any) -> None:
        super().__init__()
        self.client, self.item = client, item
        self.duplicate = item.kind == "duplicate_person"
        self.people = list(getattr(item, "people", None) or [])
        self.choices: dict[str, str] = {}
        self.typed: dict[str, str] = {}
        install_bindings(self, self.SCOPES)

    def screen_title(self) -> str:
        return t(f"kind.{self.item.kind}")

    def screen_help(self) -> str:
        return t("city.help_duplicate" if self.duplicate else "city.help_item")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(plain(t("city.item_title", county=county_of(self.item), table=table_of(self.item.table),
                                record=subject_of(self.item), kind=t(f"kind.{self.item.kind}"))), id="item-title")
            yield Label(self._senders(), id="item-senders", markup=False)
            yield DataTable(id="fields", cursor_type="row")
            if self.duplicate:
                yield Select([(self._merge_label(0), "merge:city"), (self._merge_label(1), "merge:county"),
                              (t("city.keep_both"), "keep_both")], value="merge:city", allow_blank=False,
                             id="action")
            value = Input(placeholder=t("city.typed_value"), id="value")
            value.border_title = t("city.value_box")
            yield value
            reason = Input(placeholder=t("city.reason_hint"), id="reason")
            reason.border_title = t("city.reason_box")
            yield reason
            yield Label("", id="item-error", markup=False)
        yield Footer()

    def _senders(self) -> str:
        """Who sent each side: the device (node id's tail, enrolled label) and the token's label (the clerk)."""
        first, later = (sender_of(getattr(self.item, name, None)) for name in ("server_sender", "incoming_sender"))
        names = ("city.col_first", "city.col_later") if self.duplicate else ("city.take_city", "city.take_county")
        sides = zip(names, (first, later), strict=True)
        return ("；" if language() == "zh" else "; ").join(labelled(t(label), who) for label, who in sides if who)

    # ---- the two sides ----------------------------------------------------------------------------------

    def _side_label(self, index: int) -> str:
        """先登记 · 安阳县 for a duplicate's side (0: the item's first record, 1: the later one)."""
        if len(self.people) == 2:
            person = self.people[index]
            order = t("city.col_first" if person.first else "city.col_later")
            return f"{order} · {person.county_name or person.county_code}"
        return t("city.col_first" if index == 0 else "city.col_later")

    def _county(self, index: int) -> str:
        if len(self.people) == 2:
            return self.people[index].county_name or self.people[index].county_code
        return self._side_label(index)

    def _merge_label(self, index: int) -> str:
        """合并：保留先登记（安阳县）的记录 for a side (0: the item's first record, 1: the later one)."""
        first = self.people[index].first if len(self.people) == 2 else index == 0
        return t("city.merge_first" if first else "city.merge_later", county=self._county(index))

    def on_mount(self) -> None:
        table = self.query_one("#fields", DataTable)
        if self.duplicate:
            table.add_columns(t("city.col_field"), t("city.col_choice"), plain(self._side_label(0)),
                              plain(self._side_label(1)))
            for key, label, left, right in self._person_rows():
                table.add_row(plain(label), self._choice_label(key), plain(left), plain(right), key=key)
        else:  # the later upload's device is on the item; the first side's sender is not (yet) recorded there
            city, county = t("city.col_city"), t("city.col_county_value", device=self.item.node_id[-8:])
            # 采用 next to the field: the choice (and a typed value, whole) stays in view on 80 columns.
            table.add_columns(t("city.col_field"), t("city.col_choice"), t("city.col_base"), plain(city),
                              plain(county))
            for name, sides in self.item.fields.items():
                table.add_row(plain(field_of(self.item.table, name)), self._choice_label(name),
                              *(plain(self._value(name, sides.get(side))) for side in ("base", "server", "incoming")),
                              key=name)
        table.focus()

    def _value(self, name: str, value: Any) -> str:
        return value_of(self.item.table, name, value)

    def _person_rows(self) -> list[tuple[str, str, str, str]]:
        """(key, label, first record's value, later record's value) per row of a duplicate person."""
        fields, rows = self.item.fields, []
        people = self.people if len(self.people) == 2 else []
        for name in PERSON_ROWS:
            label = t("city.col_county") if name == "county_code" else field_of("volunteer", name)
            if name in fields and name not in NOT_CHOSEN:
                rows.append((name, label, *(self._value(name, fields[name].get(s)) for s in ("server", "incoming"))))
            elif people:
                values = [{"name": p.name, "id_number": p.id_number, "work_unit": p.work_unit,
                           "county_code": p.county_name or p.county_code,
                           "joined_on": p.registered_on}[name] for p in people]
                rows.append((f"={name}", label, *(self._value(name, v) for v in values)))
        for name, sides in fields.items():
            if name not in PERSON_ROWS and name != "id":
                rows.append((name, field_of("volunteer", name),
                             *(self._value(name, sides.get(s)) for s in ("server", "incoming"))))
        return rows

    # ---- choosing -----------------------------------------------------------------------------------------

    def _action(self) -> str:
        return str(self.query_one("#action", Select).value) if self.duplicate else ""

    def _chosen(self, name: str) -> str:
        """The side a field takes: what the admin chose, else the server's (a merge: the survivor's own)."""
        if name in self.choices:
            return self.choices[name]
        return "county" if self.duplicate and self._action() == "merge:county" else "city"

    def _choosable(self, name: str) -> bool:
        return not name.startswith("=") and name not in NOT_CHOSEN and not (
            self.duplicate and self._action() == "keep_both")

    def _choice_label(self, name: str) -> str:
        if self.duplicate and self.is_mounted and self._action() == "keep_both":
            return t("city.take_both")
        if name.startswith("=") or name in NOT_CHOSEN:
            return ""
        choice = self._chosen(name)
        if choice == "value":
            return plain(self.typed.get(name, "")).plain
        if self.duplicate:  # the two sides are two counties' records: say whose value is taken
            return self._county(0 if choice == "city" else 1)
        return t(f"city.take_{choice}")

    def _field(self) -> str | None:
        table = self.query_one("#fields", DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def _refresh_choice(self, name: str) -> None:
        table = self.query_one("#fields", DataTable)
        table.update_cell(name, table.ordered_columns[1].key, self._choice_label(name), update_width=True)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "action":
            for name in self.item.fields if not self.duplicate else [r[0] for r in self._person_rows()]:
                self._refresh_choice(name)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The value box names the field a typed value goes to."""
        name = str(event.row_key.value)
        box = self.query_one("#value", Input)
        box.border_title = (t("city.value_box_for", field=field_of(self.item.table, name))
                            if self._choosable(name) else t("city.value_box"))

    def action_cycle(self) -> None:
        """Space on a field: server → this upload → the typed value (when there is one) → server; a duplicate
        person: the first record's value → the later one's → the typed value."""
        name = self._field()
        if name is None or not self._choosable(name):
            return
        order = [c for c in CHOICES if c != "value" or name in self.typed]
        self.choices[name] = order[(order.index(self._chosen(name)) + 1) % len(order)]
        self._refresh_choice(name)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "value" and (name := self._field()) and self._choosable(name):
            self.typed[name] = event.value
            self.choices[name] = "value"
            self._refresh_choice(name)
            event.input.value = ""
            self.query_one("#fields", DataTable).focus()
        elif event.input.id == "reason":
            self.action_save()

    def _decisions(self) -> dict[str, dict[str, Any]]:
        return {name: ({"take": "value", "value": self.typed[name]} if choice == "value" else {"take": choice})
                for name, choice in self.choices.items()}

    def has_unsaved_input(self) -> bool:
        """A choice made, a value typed (or being typed), a reason written: Esc asks before dropping them."""
        return bool(self.choices or self.typed or self.query_one("#value", Input).value.strip()
                    or self.query_one("#reason", Input).value.strip()
                    or (self.duplicate and self._action() != "merge:city"))

    def action_save(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.query_one("#item-error", Label).update(t("city.reason_required"))
            self.query_one("#reason", Input).focus()
            return
        # Widgets are read here, on the UI thread; the worker only talks to the server.
        self.submit(reason, self._action(), self._decisions())

    @work(thread=True, exclusive=True)
    def submit(self, reason: str, action: str, decisions: dict[str, dict[str, Any]]) -> None:
        try:
            if self.duplicate:
                if action == "keep_both":
                    self.client.duplicate(self.item.id, "keep_both", reason)
                else:
                    self.client.duplicate(self.item.id, "merge", reason, survivor=action.split(":")[1],
                                          decisions=decisions)
            else:
                self.client.decide(self.item.id, decisions, reason)
        except Exception as exc:  # noqa: BLE001  (shown next to the form; the item stays open)
            self.app.call_from_thread(self.query_one("#item-error", Label).update, " ".join(str(exc).split()))
            return
        self.app.call_from_thread(self.dismiss, True)

    def action_back(self) -> None:
        """Esc: back to the queue; a typed value, a choice or a reason is dropped only after a yes (否 first)."""
        if not self.has_unsaved_input():
            self.dismiss(False)
            return
        self.app.push_screen(ConfirmModal(t("confirm.discard")), lambda yes: self.dismiss(False) if yes else None)


class FormModal(AppKeysFirst, ModalScreen[Any]):
    """A small form of the city TUI: Enter or Ctrl+S confirms (``action_save``), Esc cancels."""

    SCOPES: ClassVar[tuple[str, ...]] = ("city.form",)

    def __init__(self) -> None:
        super().__init__()
        install_bindings(self, self.SCOPES)

    def screen_help(self) -> str:
        return t("city.help_form")

    def on_mount(self) -> None:
        self.pristine = self._typed()

    def _typed(self) -> dict[str, str]:
        return {str(box.id): box.value for box in self.query(Input)}

    def has_unsaved_input(self) -> bool:
        """Whether a box differs from what the form opened with (typing and deleting again is no change)."""
        return self._typed() != getattr(self, "pristine", self._typed())

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        # Each form's action_save checks its fields and dismisses with its own answer.
        await self.run_action("save")

    def action_back(self) -> None:
        """Esc: cancel; what was typed is dropped only after a yes (the answer under the cursor is 否)."""
        if not self.has_unsaved_input():
            self.dismiss(None)
            return
        self.app.push_screen(ConfirmModal(t("confirm.discard")), lambda yes: self.dismiss(None) if yes else None)


class ReasonModal(FormModal):
    """Ask for the reason of a bulk decision (required; Esc cancels)."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(t("city.reason"))
            yield Input(id="reason")
            yield Label("", id="reason-error", markup=False)
        yield Footer()

    def action_save(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.query_one("#reason-error", Label).update(t("city.reason_required"))
            return
        self.dismiss(reason)


class LockModal(FormModal):
    """Lock one county's month now (the county can no longer change that month's report): only a reason."""

    def __init__(self, county: str, period: str) -> None:
        super().__init__()
        self.county, self.period = county, period

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(t("city.lock_title", county=self.county, period=self.period), markup=False)
            yield Input(placeholder=t("city.reason"), id="reason")
            yield Label("", id="lock-error", markup=False)
        yield Footer()

    def action_save(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.query_one("#lock-error", Label).update(t("city.reason_required"))
            return
        self.dismiss(reason)


class ReopenModal(FormModal):
    """Reopen one county's month: the last day it may be edited (a week from today offered), and why."""

    def __init__(self, county: str, period: str, today: date) -> None:
        super().__init__()
        self.county, self.period = county, period
        self.default_until = today + timedelta(days=7)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(t("city.reopen_title", county=self.county, period=self.period), markup=False)
            yield Input(self.default_until.isoformat(), id="until")
            yield Input(placeholder=t("city.reason"), id="reason")
            yield Label("", id="lock-error", markup=False)
        yield Footer()

    def action_save(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        try:
            until = date.fromisoformat(self.query_one("#until", Input).value.strip())
        except ValueError:
            self.query_one("#lock-error", Label).update(t("city.bad_date"))
            return
        if not reason:
            self.query_one("#lock-error", Label).update(t("city.reason_required"))
            return
        self.dismiss((until, reason))


class ExportModal(FormModal):
    """Where to write the city reports workbook: a path, prefilled with a name in the current folder."""

    def __init__(self, default: Path, title: str = "") -> None:
        super().__init__()
        self.default = default
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text or t("city.export_title"), markup=False)
            yield Input(str(self.default), id="path")
            yield Label("", id="export-error", markup=False)
        yield Footer()

    def action_save(self) -> None:
        text = self.query_one("#path", Input).value.strip()
        path = Path(text).expanduser() if text else self.default
        if path.suffix.lower() != ".xlsx":
            path = path.with_name(f"{path.name}.xlsx")
        if not path.parent.is_dir():
            self.query_one("#export-error", Label).update(t("city.no_folder", folder=str(path.parent)))
            return
        self.dismiss(path)


class ConnectModal(FormModal):
    """Another server or admin token: the app tries it and keeps (and saves) it only if the server accepts it."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(t("city.connect_title"))
            yield Input(self.url, id="server")
            yield Input(id="token", password=True)
            yield Label("", id="connect-error", markup=False)
        yield Footer()

    def action_save(self) -> None:
        url, token = self.query_one("#server", Input).value.strip(), self.query_one("#token", Input).value.strip()
        if not url or not token:
            self.query_one("#connect-error", Label).update(t("city.connect_missing"))
            return
        self.dismiss((url, token))
