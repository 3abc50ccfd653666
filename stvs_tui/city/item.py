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
from stvs_tui.city.names import county_of, field_of, sender_of, subject_of, table_of
from stvs_tui.i18n import labelled, language, t
from stvs_tui.widgets.text import plain

CHOICES = ("city", "county", "value")


def shown(value: Any) -> str:
    """A value as the admin reads it: "-" for none, never interpreted as markup."""
    return "-" if value is None or value == "" else str(value)


class ConflictScreen(ModalScreen[bool]):
    """Decide one item: per field keep the city's value, take the county's, or type one; a reason is required."""

    SCOPES: ClassVar[tuple[str, ...]] = ("city.item",)

    def __init__(self, client: CityAdminClient, item: Any) -> None:
        super().__init__()
        self.client, self.item = client, item
        self.duplicate = item.kind == "duplicate_person"
        self.choices: dict[str, str] = {}
        self.typed: dict[str, str] = {}
        install_bindings(self, self.SCOPES)

    def screen_title(self) -> str:
        return t(f"kind.{self.item.kind}")

    def screen_help(self) -> str:
        return t("city.help_item")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(plain(t("city.item_title", county=county_of(self.item), table=table_of(self.item.table),
                                record=subject_of(self.item), kind=t(f"kind.{self.item.kind}"))), id="item-title")
            yield Label(self._senders(), id="item-senders", markup=False)
            yield DataTable(id="fields", cursor_type="row")
            if self.duplicate:
                yield Select([(t("city.merge_city"), "merge:city"), (t("city.merge_county"), "merge:county"),
                              (t("city.keep_both"), "keep_both")], value="merge:city", allow_blank=False,
                             id="action")
            yield Input(placeholder=t("city.typed_value"), id="value")
            yield Input(placeholder=t("city.reason"), id="reason")
            yield Label("", id="item-error", markup=False)
        yield Footer()

    def _senders(self) -> str:
        """Who sent each side: the device (node id's tail, enrolled label) and the token's label (the clerk)."""
        first, later = (sender_of(getattr(self.item, name, None)) for name in ("server_sender", "incoming_sender"))
        names = ("city.col_first", "city.col_later") if self.duplicate else ("city.take_city", "city.take_county")
        sides = zip(names, (first, later), strict=True)
        return ("；" if language() == "zh" else "; ").join(labelled(t(label), who) for label, who in sides if who)

    def on_mount(self) -> None:
        table = self.query_one("#fields", DataTable)
        if self.duplicate:
            city, county = t("city.col_first"), t("city.col_later")
        else:  # the later upload's device is on the item; the first side's sender is not (yet) recorded there
            city, county = t("city.col_city"), t("city.col_county_value", device=self.item.node_id[-8:])
        table.add_columns(t("city.col_field"), t("city.col_base"), plain(city), plain(county), t("city.col_choice"))
        for name, sides in self.item.fields.items():
            table.add_row(plain(field_of(self.item.table, name)), plain(shown(sides.get("base"))), plain(shown(sides.get("server"))),
                          plain(shown(sides.get("incoming"))), self._choice_label(name), key=name)
        table.focus()

    def _choice_label(self, name: str) -> str:
        choice = self.choices.get(name, "city")
        if choice == "value":
            return plain(self.typed.get(name, "")).plain
        if self.duplicate:  # the two sides are two people's records: say which one's value is taken
            return t("city.col_first" if choice == "city" else "city.col_later")
        return t(f"city.take_{choice}")

    def _field(self) -> str | None:
        table = self.query_one("#fields", DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def _refresh_choice(self, name: str) -> None:
        table = self.query_one("#fields", DataTable)
        table.update_cell(name, table.ordered_columns[4].key, self._choice_label(name))

    def action_cycle(self) -> None:
        """Space on a field: city → county → the typed value (when there is one) → city."""
        name = self._field()
        if name is None or name in ("id", "county_code"):
            return
        order = [c for c in CHOICES if c != "value" or name in self.typed]
        self.choices[name] = order[(order.index(self.choices.get(name, "city")) + 1) % len(order)]
        self._refresh_choice(name)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "value" and (name := self._field()) and name not in ("id", "county_code"):
            self.typed[name] = event.value
            self.choices[name] = "value"
            self._refresh_choice(name)
            event.input.value = ""
            self.query_one("#fields", DataTable).focus()

    def _decisions(self) -> dict[str, dict[str, Any]]:
        return {name: ({"take": "value", "value": self.typed[name]} if choice == "value" else {"take": choice})
                for name, choice in self.choices.items()}

    def action_save(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.query_one("#item-error", Label).update(t("city.reason_required"))
            self.query_one("#reason", Input).focus()
            return
        # Widgets are read here, on the UI thread; the worker only talks to the server.
        action = str(self.query_one("#action", Select).value) if self.duplicate else ""
        self.submit(reason, action, self._decisions())

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
        self.dismiss(False)


class FormModal(ModalScreen[Any]):
    """A small form of the city TUI: Enter or Ctrl+S confirms (``action_save``), Esc cancels."""

    SCOPES: ClassVar[tuple[str, ...]] = ("city.form",)

    def __init__(self) -> None:
        super().__init__()
        install_bindings(self, self.SCOPES)

    def screen_help(self) -> str:
        return t("city.help_form")

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        # Each form's action_save checks its fields and dismisses with its own answer.
        await self.run_action("save")

    def action_back(self) -> None:
        self.dismiss(None)


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
    """Reopen or lock a month for one county: the last day it may be edited, and why."""

    def __init__(self, county: str, period: str, today: date) -> None:
        super().__init__()
        self.county, self.period = county, period
        self.default_until = today + timedelta(days=7)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(t("city.lock_title", county=self.county, period=self.period))
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
        self.dismiss((self.county, self.period, until, reason))


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
