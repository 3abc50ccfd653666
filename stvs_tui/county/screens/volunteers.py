"""Volunteers: the paged, filtered list; the registration form; a volunteer's record (teams, hours, stars,
service record, commendations)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from rich.text import Text
from sqlmodel import Session
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Input, Label, Select

from schema.enums import (
    CommendationLevel,
    IdType,
    MemberRole,
    RegistrationStatus,
    Sex,
    TalentTag,
    VolunteerStatus,
)
from schema.errors import FieldError
from schema.models import Commendation, HoursCorrection, Volunteer, field_label
from schema.rules import MAX_ACTIVE_MEMBERSHIPS
from stvs_tui import queries
from stvs_tui.county.screens.base import StvsScreen
from stvs_tui.county.screens.exports import export_hours_certificate, export_roster_list
from stvs_tui.county.screens.listing import ListScreen
from stvs_tui.i18n import enum_label, enum_list_label, labelled, language, t
from stvs_tui.queries import SAN_ZHANG, UNSORTED, ListSort, VolunteerDetail, VolunteerFilter
from stvs_tui.widgets.columns import ListColumn, enum_column, enum_labels, fixed_column, text_column
from stvs_tui.widgets.footer import KeyFooter
from stvs_tui.widgets.form import FieldSpec, FormModal
from stvs_tui.widgets.picker import PickerModal
from stvs_tui.widgets.resolution import ResolutionNote
from stvs_tui.widgets.table import SteadyTable
from stvs_tui.widgets.text import plain
from stvs_tui.widgets.virtual_table import Row

VOLUNTEER_FIELDS = [
    FieldSpec("name", required=True),
    FieldSpec("id_type", "select", IdType, required=True),
    FieldSpec("id_number", required=True),
    FieldSpec("mobile", required=True),
    FieldSpec("phone2"),
    FieldSpec("work_unit"),
    FieldSpec("title"),
    FieldSpec("expertise"),
    FieldSpec("talent_tags", "multi", TalentTag),
    FieldSpec("availability"),
    FieldSpec("publicity_consent", "bool"),
    FieldSpec("stvs_status", "select", RegistrationStatus, required=True),
    FieldSpec("stvs_registered_on", "date"),
    FieldSpec("status", "select", VolunteerStatus, required=True),
    FieldSpec("joined_on", "date"),
    FieldSpec("notes", "area"),
]

COMMENDATION_FIELDS = [
    FieldSpec("title", required=True),
    FieldSpec("level", "select", CommendationLevel, required=True),
    FieldSpec("issuer"),
    FieldSpec("awarded_on", "date", required=True),
    FieldSpec("note", "area"),
]


def volunteer_columns(*names: str) -> list[ListColumn]:
    """The named columns of a volunteer list (the list and the picker share them)."""
    lang = language()

    def label(name: str) -> str:
        return t("vol.col_teams") if name == "teams" else field_label(Volunteer, name, lang)

    widths: dict[str, Callable[[str, str], ListColumn]] = {
        "name": lambda text, key: text_column(text, 10, 8, key),  # 5 characters; 4 shown before others give way
        "sex": lambda text, key: enum_column(text, enum_labels(Sex, lang), key=key),
        "id_number": lambda text, key: fixed_column(text, 18, key),
        "mobile": lambda text, key: fixed_column(text, 11, key),
        "work_unit": lambda text, key: text_column(text, 24, 6, key),
        "talent_tags": lambda text, key: text_column(text, 20, 6, key),
        "stvs_status": lambda text, key: enum_column(text, enum_labels(RegistrationStatus, lang), key=key),
        "teams": lambda text, key: text_column(text, 24, 6, key),
    }
    return [widths[name](label(name), name) for name in names]


def volunteer_picker(app: Any, title: str, taken: set[str], taken_note: str) -> PickerModal:
    """Choose volunteers of the county from the whole (paged, filtered) roster."""
    county = app.county_code

    def page(session: Session, text: str, offset: int, limit: int) -> list[tuple[str, list[Any]]]:
        rows = queries.volunteer_page(session, county, VolunteerFilter(text=text), offset, limit)
        return [(r.id, [plain(r.name), r.masked_id, r.mobile, enum_list_label(TalentTag, r.talent_tags),
                        plain(r.teams)]) for r in rows]

    def count(session: Session, text: str) -> int:
        return queries.volunteer_count(session, county, VolunteerFilter(text=text))

    columns = volunteer_columns("name", "id_number", "mobile", "talent_tags", "teams")
    return PickerModal(title, columns, page, count, taken=taken, taken_note=taken_note)


def volunteer_form(app: Any, volunteer: Volunteer | None) -> FormModal:
    """The registration form; a resident ID number already on file in this county is refused.

    One form is built per app and reset for each open (new or edit): it opens in a fraction of the time."""
    county = app.county_code
    existing_id = volunteer.id if volunteer else None
    values = volunteer.model_dump() if volunteer else {
        "id_type": IdType.RESIDENT.value, "stvs_status": RegistrationStatus.UNREGISTERED.value,
        "status": VolunteerStatus.ACTIVE.value, "joined_on": app.today,
    }

    def unique_id(cleaned: dict[str, Any]) -> list[FieldError]:
        number = cleaned.get("id_number", "")
        # One indexed lookup: quick enough to run as the clerk types.
        with app.store.session() as session:
            taken = queries.id_number_taken(session, county, number, existing_id)
        return [FieldError("id_number", t("vol.duplicate_id"))] if taken else []

    title = t("form.edit_volunteer") if volunteer else t("form.new_volunteer")
    kept = app.kept_screen("volunteer-form")
    if isinstance(kept, FormModal) and kept.reset(title, values, extra_check=unique_id):
        return kept
    form = FormModal(title, Volunteer, "volunteer", VOLUNTEER_FIELDS, values, extra_check=unique_id)
    app.keep_screen("volunteer-form", form)
    return form


def save_volunteer_from_form(screen: StvsScreen, volunteer_id: str | None, after: Any) -> Any:
    """The callback for a volunteer form: write the cleaned values in a worker, then ``after(volunteer)``."""
    county = screen.county_app.county_code

    def saved(values: dict[str, Any] | None) -> None:
        if values is None:
            return
        screen.write_db(lambda session: queries.save_volunteer(session, county, volunteer_id, values), after)

    return saved


class VolunteersScreen(ListScreen):
    SCOPES: ClassVar[tuple[str, ...]] = ("list", "volunteers")
    TITLE_KEY = "vol.title"
    HELP_KEY = "help.volunteers"
    # A volunteer's teams are gathered per row: no index can give their order.
    UNSORTABLE = frozenset({"teams"})

    def __init__(self, tag: str = "", team_id: str = "", team_label: str = "") -> None:
        super().__init__()
        self.tag = tag
        self.team_id = team_id
        self.team_label = team_label

    def columns(self) -> list[ListColumn]:
        return volunteer_columns("name", "sex", "id_number", "mobile", "work_unit", "talent_tags", "stvs_status",
                                 "teams")

    def extra_filters(self) -> ComposeResult:
        options = [(t("vol.tag_san_zhang"), SAN_ZHANG)]
        options += [(tag.label(language()), tag.value) for tag in TalentTag]
        yield Select(options, value=self.tag or Select.NULL, prompt=t("list.all_tags"), id="tag-filter")
        yield Input(placeholder=t("list.team_placeholder"), id="team-filter")

    def scope_text(self) -> str:
        return self.team_label

    def filter_state(self) -> VolunteerFilter:
        tag = self.query_one("#tag-filter", Select).value
        return VolunteerFilter(text=self.filter_text, tag="" if tag is Select.NULL else str(tag),
                               team_id=self.team_id, team_name=self.query_one("#team-filter", Input).value)

    def fetch_page(self, session: Session, state: VolunteerFilter, offset: int, limit: int,
                   sort: ListSort = UNSORTED) -> Sequence[Row]:
        rows = queries.volunteer_page(session, self.county_app.county_code, state, offset, limit, sort)
        return [(r.id, [plain(r.name), enum_label(Sex, r.sex), r.masked_id, r.mobile, plain(r.work_unit),
                        enum_list_label(TalentTag, r.talent_tags), enum_label(RegistrationStatus, r.stvs_status),
                        plain(r.teams)]) for r in rows]

    def fetch_count(self, session: Session, state: VolunteerFilter) -> int:
        return queries.volunteer_count(session, self.county_app.county_code, state)

    def window_is_cheap(self, state: VolunteerFilter) -> bool:
        # Unfiltered, every order is an index's (migration 0010, or the rowid).
        return not state.narrows

    @on(Select.Changed, "#tag-filter")
    @on(Input.Changed, "#team-filter")
    def _other_filter_changed(self) -> None:
        if self.generation:
            self.reload(same_data=True, typing=True)

    def open_key(self, key: str) -> None:
        self.county_app.open_screen(VolunteerScreen(key))

    def first_rows_shown(self) -> None:
        # The form is built once the list is up (kept and reset for each open), so Ctrl+N opens it at once.
        app = self.county_app
        if app.kept_screen("volunteer-form") is None:
            app.prepare_screen(volunteer_form(app, None))

    def action_new(self) -> None:
        def opened(volunteer: Volunteer) -> None:
            self.notify(t("app.saved"))
            self.reload()

        self.app.push_screen(volunteer_form(self.county_app, None), save_volunteer_from_form(self, None, opened))

    def action_export(self) -> None:
        export_roster_list(self)

    def action_edit(self) -> None:
        key = self.table.current_key
        if key is None:
            return

        def loaded(volunteer: Volunteer | None) -> None:
            if volunteer is not None:
                self.app.push_screen(volunteer_form(self.county_app, volunteer),
                                     save_volunteer_from_form(self, key, lambda _v: self.action_refresh()))

        self.run_db(lambda session: session.get(Volunteer, key), loaded, group="edit")


class VolunteerScreen(StvsScreen):
    """One volunteer's record."""

    SCOPES: ClassVar[tuple[str, ...]] = ("volunteer",)
    TITLE_KEY = "vol.title"
    HELP_KEY = "help.volunteer"

    def __init__(self, volunteer_id: str) -> None:
        super().__init__()
        self.volunteer_id = volunteer_id
        self.detail: VolunteerDetail | None = None

    def screen_title(self) -> str:
        return t("vol.detail_title", name=self.detail.volunteer.name) if self.detail else t("vol.title")

    def compose(self) -> ComposeResult:
        yield from self.title_bar()
        with VerticalScroll(id="detail"):
            yield Label("", id="vol-info", markup=False)
            yield ResolutionNote(id="vol-resolution")
            yield Label("", id="vol-hours", markup=False, classes="section-title")
            yield Label("", id="vol-teams-title", classes="section-title")
            yield SteadyTable(id="vol-teams", cursor_type="row", classes="detail-table")
            yield Label(t("vol.services"), classes="section-title")
            yield SteadyTable(id="vol-services", cursor_type="row", classes="detail-table")
            yield Label(t("vol.commendations"), classes="section-title")
            yield SteadyTable(id="vol-commendations", cursor_type="row", classes="detail-table")
            yield Label(t("vol.corrections"), classes="section-title")
            yield SteadyTable(id="vol-corrections", cursor_type="row", classes="detail-table")
        yield KeyFooter()

    def on_mount(self) -> None:
        lang = language()
        self.query_one("#vol-teams", DataTable).add_columns(
            t("dash.col_team"), t("team.col_role"), field_label(Volunteer, "joined_on", lang))
        self.query_one("#vol-services", DataTable).add_columns(
            t("act.col_title"), t("act.col_date"), t("act.col_hours"), t("act.col_confirmed"))
        self.query_one("#vol-commendations", DataTable).add_columns(
            *(field_label(Commendation, name, lang) for name in ("title", "level", "issuer", "awarded_on")))
        self.query_one("#vol-corrections", DataTable).add_columns(
            t("act.col_title"), *(field_label(HoursCorrection, name, lang)
                                  for name in ("old_hours", "new_hours", "reason", "corrected_by", "corrected_at")))
        self.load()

    def load(self) -> None:
        self.run_db(lambda session: queries.volunteer_detail(session, self.volunteer_id), self.show)

    def show(self, detail: VolunteerDetail) -> None:
        self.detail = detail
        v = detail.volunteer
        lang = language()
        self.query_one("#title-bar", Label).update(
            f"{t('app.title')} · {self.county_app.county_name} · {self.screen_title()}")
        facts = [
            (field_label(Volunteer, "name", lang), v.name),
            (field_label(Volunteer, "id_type", lang), enum_label(IdType, v.id_type)),
            (field_label(Volunteer, "id_number", lang), v.id_number),
            (field_label(Volunteer, "sex", lang), enum_label(Sex, v.sex)),
            (field_label(Volunteer, "birth_date", lang), v.birth_date or ""),
            (field_label(Volunteer, "mobile", lang), v.mobile),
            (field_label(Volunteer, "work_unit", lang), v.work_unit),
            (field_label(Volunteer, "title", lang), v.title),
            (field_label(Volunteer, "expertise", lang), v.expertise),
            (field_label(Volunteer, "talent_tags", lang), enum_list_label(TalentTag, v.talent_tags)),
            (field_label(Volunteer, "stvs_status", lang), enum_label(RegistrationStatus, v.stvs_status)),
            (field_label(Volunteer, "notes", lang), v.notes),
        ]
        self.query_one("#vol-info", Label).update(Text("\n".join(labelled(k, val) for k, val in facts)))
        self.query_one("#vol-resolution", ResolutionNote).show_resolution(detail.resolution, Volunteer)
        stars = "★" * detail.stars if detail.stars else t("stars.none")
        self.query_one("#vol-hours", Label).update(t("vol.hours", hours=f"{detail.hours:g}", stars=stars))
        self.query_one("#vol-teams-title", Label).update(
            t("vol.memberships", count=len(detail.memberships), limit=MAX_ACTIVE_MEMBERSHIPS))
        teams = self.query_one("#vol-teams", DataTable)
        teams.clear()
        for name, role, joined in detail.memberships:
            teams.add_row(plain(name), enum_label(MemberRole, role), str(joined or ""))
        services = self.query_one("#vol-services", DataTable)
        services.clear()
        for title, starts, hours, confirmed in detail.services:
            services.add_row(plain(title), f"{starts:%Y-%m-%d}", f"{hours:g}", t("form.yes") if confirmed else t("form.no"))
        commendations = self.query_one("#vol-commendations", DataTable)
        commendations.clear()
        for c in detail.commendations:
            commendations.add_row(plain(c.title), enum_label(CommendationLevel, c.level), plain(c.issuer),
                                  str(c.awarded_on))
        corrections = self.query_one("#vol-corrections", DataTable)
        corrections.clear()
        for title, fix in detail.corrections:
            corrections.add_row(plain(title), f"{fix.old_hours:g}", f"{fix.new_hours:g}", plain(fix.reason),
                                plain(fix.corrected_by), f"{fix.corrected_at:%Y-%m-%d %H:%M}")

    def action_edit(self) -> None:
        if self.detail is None:
            return
        self.app.push_screen(volunteer_form(self.county_app, self.detail.volunteer),
                             save_volunteer_from_form(self, self.volunteer_id, lambda _v: self.load()))

    def action_certificate(self) -> None:
        if self.detail is not None:
            export_hours_certificate(self, self.volunteer_id, self.detail.volunteer.name)

    def action_commend(self) -> None:
        if self.detail is None:
            return
        app = self.county_app
        form = FormModal(t("form.commend"), Commendation, "commendation", COMMENDATION_FIELDS,
                         {"level": CommendationLevel.COUNTY.value, "awarded_on": app.today,
                          "issuer": app.county_name},
                         fixed={"volunteer_id": self.volunteer_id})

        def saved(values: dict[str, Any] | None) -> None:
            if values is not None:
                self.write_db(lambda session: queries.add_commendation(session, app.county_code, values),
                              lambda _c: self.load())

        self.app.push_screen(form, saved)
