"""Demands (供需对接): a grassroots unit's need, recorded and then linked to the activity that answers it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from sqlmodel import Session

from schema.enums import ActivityStatus, DemandStatus, HostUnitKind, ServiceKind
from schema.models import Activity, Demand, Team, field_label
from stvs_tui import queries
from stvs_tui.county.screens.listing import ListScreen
from stvs_tui.i18n import enum_label, language, t
from stvs_tui.queries import UNSORTED, ListSort
from stvs_tui.widgets.columns import ListColumn, enum_column, enum_labels, fixed_column, text_column
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.form import FieldSpec, FormModal
from stvs_tui.widgets.picker import PickerModal
from stvs_tui.widgets.text import plain
from stvs_tui.widgets.virtual_table import Row

DEMAND_FIELDS = [
    FieldSpec("requesting_unit", required=True),
    FieldSpec("unit_kind", "select", HostUnitKind, required=True),
    FieldSpec("contact"),
    FieldSpec("need", "area", required=True),
    FieldSpec("wanted_service_kind", "select", ServiceKind, required=True),
    FieldSpec("wanted_on", "date"),
]


class DemandsScreen(ListScreen):
    SCOPES: ClassVar[tuple[str, ...]] = ("list", "demands")
    TITLE_KEY = "dem.title"
    HELP_KEY = "help.demands"
    FILTER_PLACEHOLDER = "dem.filter_placeholder"

    def columns(self) -> list[ListColumn]:
        lang = language()

        def label(name: str) -> str:
            return field_label(Demand, name, lang)

        return [text_column(label("requesting_unit"), 20, 8, "requesting_unit"),
                text_column(label("need"), 30, 10, "need"),
                enum_column(label("wanted_service_kind"), enum_labels(ServiceKind, lang), key="wanted_service_kind"),
                fixed_column(label("wanted_on"), 10, "wanted_on"),
                enum_column(label("status"), enum_labels(DemandStatus, lang), key="status"),
                text_column(label("activity_id"), 24, 8, "activity")]

    def filter_state(self) -> str:
        return self.filter_text

    def fetch_page(self, session: Session, state: str, offset: int, limit: int,
                   sort: ListSort = UNSORTED) -> Sequence[Row]:
        rows = queries.demand_page(session, self.county_app.county_code, state, offset, limit, sort)
        return [(r.id, [plain(r.requesting_unit), plain(r.need.splitlines()[0] if r.need else ""),
                        enum_label(ServiceKind, r.wanted_service_kind), str(r.wanted_on or ""),
                        enum_label(DemandStatus, r.status), plain(r.activity)]) for r in rows]

    def fetch_count(self, session: Session, state: str) -> int:
        return queries.demand_count(session, self.county_app.county_code, state)

    def open_key(self, key: str) -> None:
        self.run_db(lambda session: session.get(Demand, key), self._edit, group="form")

    def action_new(self) -> None:
        self._edit(None)

    def _edit(self, demand: Demand | None) -> None:
        county = self.county_app.county_code
        editing = demand.id if demand else None
        values = demand.model_dump() if demand else {
            "unit_kind": HostUnitKind.COMMUNITY.value, "wanted_service_kind": ServiceKind.TECH_PROMOTION.value}

        def saved(cleaned: dict[str, Any] | None) -> None:
            if cleaned is not None:
                self.write_db(lambda session: queries.save_demand(session, county, editing, cleaned),
                              lambda _d: (self.notify(t("app.saved")), self.action_refresh()))

        title = t("form.edit_demand") if demand else t("form.new_demand")
        self.app.push_screen(FormModal(title, Demand, "demand", DEMAND_FIELDS, values), saved)

    def action_link_activity(self) -> None:
        demand_id = self.table.current_key
        if demand_id is None:
            return
        county = self.county_app.county_code
        lang = language()

        def page(session: Session, text: str, offset: int, limit: int) -> list[tuple[str, list[Any]]]:
            rows = queries.activity_page(session, county, queries.ActivityFilter(text=text), offset, limit)
            return [(r.id, [plain(r.title), plain(r.team), f"{r.starts_at:%Y-%m-%d}",
                             enum_label(ActivityStatus, r.status)]) for r in rows]

        def count(session: Session, text: str) -> int:
            return queries.activity_count(session, county, queries.ActivityFilter(text=text))

        columns = [text_column(field_label(Activity, "title", lang), 30, 10),
                   text_column(field_label(Team, "name", lang), 24, 8),
                   fixed_column(field_label(Activity, "starts_at", lang), 10),
                   enum_column(field_label(Activity, "status", lang), enum_labels(ActivityStatus, lang))]
        picker = PickerModal(t("dem.pick_activity"), columns, page, count, multiple=False)

        def picked(ids: list[str] | None) -> None:
            if ids:
                self.write_db(lambda session: queries.link_demand(session, demand_id, ids[0]),
                              lambda _d: self.action_refresh())

        self.app.push_screen(picker, picked)

    def action_close_demand(self) -> None:
        demand_id = self.table.current_key
        if demand_id is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.write_db(lambda session: queries.close_demand(session, demand_id), lambda _d: self.action_refresh())

        self.app.push_screen(ConfirmModal(t("confirm.close_demand")), answered)
