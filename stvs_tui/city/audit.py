"""The city TUI's audit trail (resolved items: who decided, when, which values, why; filtered and searched on
the server) and the per-county summary with its small charts. Each is a pane of the main screen's tabs that
loads itself through the app's server worker (``CityApp.call_server``).

The decision of an item is told in the words of the item screen: per field 服务器现值 / 本次上传 / 输入值, a
duplicate person merged into the first or later record, or both kept.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, Select

import stvs_tui.city.audit_words  # noqa: F401  (the words)
from schema.models import SYNCED_TABLES
from stvs_tui.city.names import county_of, field_of, sender_of, subject_of, table_of
from stvs_tui.i18n import CATALOGUE, t
from stvs_tui.widgets.paged_table import PagedTable
from stvs_tui.widgets.text import plain
from sync.admin_protocol import DECISIONS, QUEUE_KINDS

PAGE = 200
BARS = "▁▂▃▄▅▆▇█"
MASKED_FIELDS = ("id_number",)


def shown_value(field: str, value: Any) -> str:
    """A field's value for a list or an export: "-" for none, an ID number masked."""
    from schema.validators import mask_id_number

    if value is None or value == "":
        return "-"
    return mask_id_number(str(value)) if field in MASKED_FIELDS else str(value)


def decided_by(item: Any) -> str:
    """The admin token's label (``admin:市科协李明`` is stored; the prefix says nothing to a reader)."""
    by = str(getattr(item, "resolved_by", "") or "")
    return by.removeprefix("admin:")


def decided_at(item: Any) -> str:
    when = str(getattr(item, "resolved_at", None) or "")
    return when[:16].replace("T", " ")


def taken_side(item: Any, field: str) -> str:
    """Which side a resolved field conflict took for ``field``: ``city``, ``county`` or ``value`` (typed). An item
    decided one side whole says so (``decision``, as the admin chose it); else it is read from the values."""
    decision = getattr(item, "decision", "")
    if decision in ("city", "county"):
        return str(decision)
    resolution = item.resolution or {}
    sides = item.fields.get(field, {})
    chosen = resolution.get(field)
    if chosen == sides.get("incoming") and chosen != sides.get("server"):
        return "county"
    if chosen == sides.get("server"):
        return "city"
    return "county" if chosen == sides.get("incoming") else "value"


def decision_words(item: Any, word: Any = t, field: Any = field_of) -> str:
    """The decision in a line: ``手机号码=本次上传, 工作单位=输入值`` or ``合并到先登记`` (``word`` and ``field``: the
    catalogue's and the model's labels in the language wanted; the Excel log passes the Chinese ones)."""
    resolution = item.resolution or {}
    if item.kind == "duplicate_person":
        if resolution.get("action") == "keep_both":
            return str(word("city.decision_keep_both"))
        first = item.fields.get("id", {}).get("server")
        return str(word("city.decision_merge_first" if resolution.get("survivor") == first
                        else "city.decision_merge_later"))
    names = {"city": "city.take_city", "county": "city.take_county", "value": "city.decision_value"}
    return ", ".join(f"{field(item.table, name)}={word(names[taken_side(item, name)])}"
                     for name in item.fields if name in resolution)


def decision_name(item: Any) -> str:
    """The side a resolved item took, in a word (服务器现值, 本次上传, 含输入值…); "-" for an open item."""
    key = f"decision.{getattr(item, 'decision', '')}"
    return t(key) if key in CATALOGUE else "-"


class ResolvedPane(Vertical):
    """Resolved items, latest decision first, with the highlighted item's fields below.

    The filters are two lines of borderless boxes, so that at 80 columns each placeholder is whole: search, county
    and the side taken; then table, kind and the days of the decision after their label."""

    DEFAULT_CSS = """
    ResolvedPane .a-filters { height: 1; }
    ResolvedPane #a-filters-more { margin: 1 0; }
    ResolvedPane .a-filters Input { padding: 0 1; margin: 0 1 0 0; }
    ResolvedPane .a-filters Select { margin: 0 1 0 0; }
    ResolvedPane .a-filters Select > SelectCurrent { padding: 0 1; }
    ResolvedPane .a-filters SelectCurrent Static#label { text-wrap: nowrap; text-overflow: ellipsis; }
    ResolvedPane #a-search { width: 1fr; }
    ResolvedPane #a-county { width: 14; }
    ResolvedPane #a-decision { width: 20; }
    ResolvedPane #a-table, ResolvedPane #a-kind { width: 1fr; }
    ResolvedPane #a-days { width: auto; margin: 0 1 0 0; color: $text-muted; }
    ResolvedPane #a-from, ResolvedPane #a-to { width: 18; }
    ResolvedPane #a-to { margin: 0; }
    """

    def __init__(self) -> None:
        super().__init__(id="resolved-pane")
        self.items: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(id="a-filters", classes="a-filters"):
            yield Input(placeholder=t("city.search"), id="a-search", compact=True)
            yield Input(placeholder=t("city.filter_county"), id="a-county", compact=True)
            yield Select([(t(f"decision.{name}"), name) for name in DECISIONS], prompt=t("city.decision_all"),
                         id="a-decision", compact=True)
        with Horizontal(id="a-filters-more", classes="a-filters"):
            yield Select([(table_of(table), table) for table in SYNCED_TABLES], prompt=t("city.table_all"),
                         id="a-table", compact=True)
            yield Select([(t(f"kind.{kind}"), kind) for kind in QUEUE_KINDS], prompt=t("city.kind_all"),
                         id="a-kind", compact=True)
            yield Label(t("city.filter_days"), id="a-days")
            yield Input(placeholder=t("city.filter_from"), id="a-from", compact=True)
            yield Input(placeholder=t("city.filter_to"), id="a-to", compact=True)
        yield PagedTable(id="resolved-table", page_size=PAGE)
        yield DataTable(id="resolved-detail", cursor_type="row")
        yield Label("", id="resolved-why", markup=False)

    def on_mount(self) -> None:
        self.query_one("#resolved-table", DataTable).add_columns(
            t("city.col_decided_at"), t("city.col_decided_by"), t("city.col_county"), t("city.col_table"),
            t("city.col_subject"), t("city.col_kind"), t("city.col_decision"), t("city.col_why"))
        self.query_one("#resolved-detail", DataTable).add_columns(
            t("city.col_field"), t("city.col_base"), t("city.col_city"), t("city.col_county_value", device="")
            .replace("（设备 ）", "").replace(" (device )", ""), t("city.col_taken"))

    def filters(self) -> dict[str, Any] | None:
        """The server's filters from the boxes; None (and the reason shown) when a date is not a date."""
        kind, table = self.query_one("#a-kind", Select), self.query_one("#a-table", Select)
        decision = self.query_one("#a-decision", Select)
        days = {}
        for box, name in (("#a-from", "resolved_from"), ("#a-to", "resolved_to")):
            text = self.query_one(box, Input).value.strip()
            try:
                days[name] = date.fromisoformat(text) if text else None
            except ValueError:
                self.query_one("#resolved-why", Label).update(t("city.bad_filter_date"))
                return None
        return {"status": "resolved", "search": self.query_one("#a-search", Input).value.strip() or None,
                "county": self.query_one("#a-county", Input).value.strip() or None,
                "table": None if table.is_blank() else str(table.value),
                "kind": None if kind.is_blank() else str(kind.value),
                "decision": None if decision.is_blank() else str(decision.value), **days}

    def reload(self, offset: int = 0, cursor_at_end: bool = False) -> None:
        wanted = self.filters()
        if wanted is None:
            return
        city: Any = self.app
        city.call_server(lambda: city.client.queue(**wanted, limit=PAGE, offset=offset),
                         lambda page: self.show_page(page, offset, cursor_at_end))

    def show_page(self, page: Any, offset: int, cursor_at_end: bool = False) -> None:
        table = self.query_one("#resolved-table", PagedTable)
        table.total = page.total
        self.items = {item.id: item for item in page.items}
        table.show_page(offset, [(item.id, self.row(item)) for item in page.items], cursor_at_end)
        why = self.query_one("#resolved-why", Label)
        if not page.total:
            self.query_one("#resolved-detail", DataTable).clear()
            why.update(t("city.no_resolved"))
        else:
            self.show_item(self.current())

    @staticmethod
    def row(item: Any) -> tuple[Any, ...]:
        return (decided_at(item), plain(decided_by(item)), plain(county_of(item)), table_of(item.table),
                plain(subject_of(item)), t(f"kind.{item.kind}"), plain(decision_words(item)),
                plain(" ".join(str(item.reason).split())))

    def current(self) -> Any:
        key = self.query_one("#resolved-table", PagedTable).current_key
        return self.items.get(str(key)) if key is not None else None

    def show_item(self, item: Any) -> None:
        detail = self.query_one("#resolved-detail", DataTable)
        detail.clear()
        if item is None:
            return
        resolution = item.resolution or {}
        for name, sides in item.fields.items():
            taken = shown_value(name, resolution.get(name)) if name in resolution else "-"
            detail.add_row(plain(field_of(item.table, name)), plain(shown_value(name, sides.get("base"))),
                           plain(shown_value(name, sides.get("server"))),
                           plain(shown_value(name, sides.get("incoming"))), plain(taken))
        senders = " / ".join(s for s in (sender_of(item.server_sender), sender_of(item.incoming_sender)) if s)
        line = t("city.decided_line", by=decided_by(item), when=decided_at(item), reason=item.reason)
        self.query_one("#resolved-why", Label).update(f"{line}  {senders}".strip())

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "resolved-table":
            event.stop()
            self.show_item(self.items.get(str(event.row_key.value)) if event.row_key else None)

    def on_paged_table_page_wanted(self, event: PagedTable.PageWanted) -> None:
        if event.table.id == "resolved-table":
            event.stop()
            self.reload(event.offset, event.cursor_at_end)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.reload()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id in ("a-kind", "a-table", "a-decision"):
            event.stop()
            self.reload()


def bars(counts: list[int], top: int) -> str:
    """A text bar chart, one mark a month: ``▁`` for none, up to ``█`` for the column's highest month."""
    if top <= 0:
        return BARS[0] * len(counts)
    return "".join(BARS[0] if n <= 0 else BARS[max(1, round(n / top * (len(BARS) - 1)))] for n in counts)


class CountyPane(Vertical):
    """Every county at a glance: open conflicts, last upload, last report, and two small charts per row."""

    MONTHS = 6

    def __init__(self) -> None:
        super().__init__(id="county-pane")

    def compose(self) -> ComposeResult:
        yield DataTable(id="county-table", cursor_type="row")
        yield Label("", id="county-months", markup=False)

    def on_mount(self) -> None:
        self.query_one("#county-table", DataTable).add_columns(
            t("city.col_county"), t("city.col_open"), t("city.col_last_upload"), t("city.col_last_report"),
            t("city.col_upload_chart", months=self.MONTHS), t("city.col_conflict_chart", months=self.MONTHS))

    def reload(self) -> None:
        city: Any = self.app
        city.call_server(lambda: city.client.summary(city.today, self.MONTHS), self.show_summary)

    def show_summary(self, page: Any) -> None:
        table = self.query_one("#county-table", DataTable)
        table.clear()
        top_uploads = max((max(c.uploads, default=0) for c in page.counties), default=0)
        top_conflicts = max((max(c.conflicts, default=0) for c in page.counties), default=0)
        for county in page.counties:
            report = f"{county.last_report_period} ({county.last_report})" if county.last_report else "-"
            table.add_row(plain(county.county_name), county.open_conflicts, county.last_upload or "-", report,
                          f"{bars(county.uploads, top_uploads)} {sum(county.uploads)}",
                          f"{bars(county.conflicts, top_conflicts)} {sum(county.conflicts)}", key=county.county_code)
        if page.months:
            self.query_one("#county-months", Label).update(
                t("city.chart_months", first=page.months[0], last=page.months[-1]))
