"""Activities: the list (by month, by team), the form, and one activity's workflow:
create → publish → sign up volunteers → start → attendance and hours → confirm hours → complete with the
publicity summary and beneficiaries. Cancelling asks first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from sqlmodel import Session
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Label

from schema.enums import ACTIVITY_TRANSITIONS, ActivityStatus, ServiceKind, VenueKind
from schema.errors import FieldError
from schema.models import Activity, HoursCorrection, Participation, Volunteer, field_label
from schema.rules import period_of
from stvs_tui import queries
from stvs_tui.county.screens.base import StvsScreen
from stvs_tui.county.screens.exports import export_activity_ledger
from stvs_tui.county.screens.listing import ListScreen
from stvs_tui.county.screens.volunteers import volunteer_picker
from stvs_tui.i18n import enum_label, labelled, language, t
from stvs_tui.queries import UNSORTED, ActivityDetail, ActivityFilter, ListSort, ParticipantRow
from stvs_tui.widgets.columns import ListColumn, enum_column, enum_labels, fixed_column, text_column
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.footer import KeyFooter
from stvs_tui.widgets.form import FieldSpec, FormModal
from stvs_tui.widgets.resolution import ResolutionNote
from stvs_tui.widgets.table import SteadyTable
from stvs_tui.widgets.text import plain
from stvs_tui.widgets.virtual_table import Row

ACTIVITY_FIELDS = [
    FieldSpec("title", required=True),
    FieldSpec("team_id", "select", required=True),
    FieldSpec("service_kind", "select", ServiceKind, required=True),
    FieldSpec("venue_kind", "select", VenueKind, required=True),
    FieldSpec("partner_unit"),
    FieldSpec("starts_at", "datetime", required=True),
    FieldSpec("ends_at", "datetime", required=True),
    FieldSpec("place"),
    FieldSpec("content", "area"),
    FieldSpec("recruit_quota"),
    FieldSpec("person_in_charge"),
    FieldSpec("recorder"),
]

COMPLETE_FIELDS = [FieldSpec("beneficiaries", required=True), FieldSpec("summary", "area"), FieldSpec("publicity_url")]
PARTICIPATION_FIELDS = [FieldSpec("attended", "bool"), FieldSpec("hours"), FieldSpec("evaluation")]


def activity_form(screen: StvsScreen, activity: Activity | None, after: Callable[[Activity], Any],
                  team_id: str = "") -> None:
    """Load the team choices, open the activity form, and save what it returns."""
    app = screen.county_app
    county = app.county_code
    editing = activity.id if activity else None
    start = datetime.combine(app.today + timedelta(days=7), datetime.min.time()).replace(hour=9)
    values = activity.model_dump() if activity else {
        "team_id": team_id, "service_kind": ServiceKind.TECH_PROMOTION.value, "venue_kind": VenueKind.VILLAGE.value,
        "starts_at": start, "ends_at": start + timedelta(hours=3), "recruit_quota": 10, "recorder": app.clerk,
    }

    def open_with(teams: list[tuple[str, str]]) -> None:
        fields = [FieldSpec(f.name, f.kind, teams, True) if f.name == "team_id" else f for f in ACTIVITY_FIELDS]
        title = t("form.edit_activity") if activity else t("form.new_activity")
        screen.app.push_screen(FormModal(title, Activity, "activity", fields, values), saved)

    def saved(cleaned: dict[str, Any] | None) -> None:
        if cleaned is not None:
            screen.write_db(lambda session: queries.save_activity(session, county, editing, cleaned), after)

    screen.run_db(lambda session: queries.team_choices(session, county), open_with, group="form")


class ActivitiesScreen(ListScreen):
    SCOPES: ClassVar[tuple[str, ...]] = ("list", "activities")
    TITLE_KEY = "act.title"
    HELP_KEY = "help.activities"
    FILTER_PLACEHOLDER = "act.filter_placeholder"

    def __init__(self, period: str = "", team_id: str = "", team_name: str = "") -> None:
        super().__init__()
        self.period = period
        self.team_id = team_id
        self.team_name = team_name

    def scope_text(self) -> str:
        if self.team_id:
            return t("act.team_scope", name=self.team_name)
        return t("act.month_scope", period=self.period) if self.period else ""

    def columns(self) -> list[ListColumn]:
        lang = language()

        def label(name: str) -> str:
            return field_label(Activity, name, lang)

        return [text_column(label("title"), 30, 10, "title"), text_column(label("team_id"), 24, 8, "team"),
                enum_column(label("service_kind"), enum_labels(ServiceKind, lang), key="service_kind"),
                enum_column(label("venue_kind"), enum_labels(VenueKind, lang), key="venue_kind"),
                fixed_column(label("starts_at"), 16, "starts_at"),
                enum_column(label("status"), enum_labels(ActivityStatus, lang), key="status"),
                fixed_column(t("act.col_signed"), 4, "signed_up")]

    def filter_state(self) -> ActivityFilter:
        return ActivityFilter(text=self.filter_text, period=self.period, team_id=self.team_id)

    def fetch_page(self, session: Session, state: ActivityFilter, offset: int, limit: int,
                   sort: ListSort = UNSORTED) -> Sequence[Row]:
        rows = queries.activity_page(session, self.county_app.county_code, state, offset, limit, sort)
        return [(r.id, [plain(r.title), plain(r.team), enum_label(ServiceKind, r.service_kind),
                        enum_label(VenueKind, r.venue_kind), f"{r.starts_at:%Y-%m-%d %H:%M}",
                        enum_label(ActivityStatus, r.status), str(r.signed_up)]) for r in rows]

    def fetch_count(self, session: Session, state: ActivityFilter) -> int:
        return queries.activity_count(session, self.county_app.county_code, state)

    def open_key(self, key: str) -> None:
        self.county_app.open_screen(ActivityScreen(key))

    def action_export(self) -> None:
        """The ledger of the month shown (this month when the list is not limited to one)."""
        export_activity_ledger(self, self.period or period_of(self.county_app.today))

    def action_new(self) -> None:
        def created(activity: Activity) -> None:
            self.notify(t("app.saved"))
            self.county_app.open_screen(ActivityScreen(activity.id))

        activity_form(self, None, created, team_id=self.team_id)


class ActivityScreen(StvsScreen):
    """One activity and its workflow."""

    SCOPES: ClassVar[tuple[str, ...]] = ("activity",)
    TITLE_KEY = "act.title"
    HELP_KEY = "help.activity"

    def __init__(self, activity_id: str) -> None:
        super().__init__()
        self.activity_id = activity_id
        self.detail: ActivityDetail | None = None

    # The footer shows the workflow's next steps for the activity's status (every key works in every status
    # and says when it does not apply; all of them fit 80 columns in no language).
    FOOTER_STEPS: ClassVar[dict[ActivityStatus, tuple[str, ...]]] = {
        ActivityStatus.DRAFT: ("activity.edit", "activity.publish", "activity.cancel"),
        ActivityStatus.PUBLISHED: ("activity.edit", "activity.start", "activity.sign_up", "activity.cancel"),
        ActivityStatus.IN_PROGRESS: ("activity.sign_up", "activity.toggle_attended", "activity.confirm_hours",
                                     "activity.complete"),
        ActivityStatus.FINISHED: ("activity.correct_hours",),
        ActivityStatus.CANCELLED: (),
    }

    def footer_hides(self, binding_id: str) -> bool:
        status = self._status()
        return binding_id.startswith("activity.") and (
            status is None or binding_id not in self.FOOTER_STEPS[status])

    def screen_title(self) -> str:
        return t("act.detail_title", name=self.detail.activity.title) if self.detail else t("act.title")

    def compose(self) -> ComposeResult:
        yield from self.title_bar()
        with Vertical(id="activity-body"):
            yield Label("", id="act-info", markup=False)
            yield ResolutionNote(id="act-resolution")
            yield Label("", id="act-status", markup=False, classes="section-title")
            yield Label(t("act.participants"), classes="section-title")
            yield SteadyTable(id="participants", cursor_type="row", zebra_stripes=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#participants", DataTable).add_columns(
            field_label(Volunteer, "name", language()), t("act.col_attended"), t("act.col_hours"),
            t("act.col_confirmed"))
        self.query_one("#participants", DataTable).focus()
        self.load()

    def load(self) -> None:
        self.run_db(lambda session: queries.activity_detail(session, self.activity_id), self.show)

    def show(self, detail: ActivityDetail) -> None:
        self.detail = detail
        self.refresh_bindings()  # the footer follows the status
        a = detail.activity
        self.query_one("#title-bar", Label).update(
            f"{t('app.title')} · {self.county_app.county_name} · {self.screen_title()}")
        info = t("act.info", team=detail.team_name, kind=enum_label(ServiceKind, a.service_kind),
                 venue=enum_label(VenueKind, a.venue_kind), start=f"{a.starts_at:%Y-%m-%d %H:%M}",
                 end=f"{a.ends_at:%H:%M}", place=a.place)
        extra = [labelled(field_label(Activity, 'beneficiaries', language()), a.beneficiaries)] if a.beneficiaries else []
        extra += [a.summary] if a.summary else []
        self.query_one("#act-info", Label).update(Text("\n".join([a.title, info, *extra])))
        self.query_one("#act-resolution", ResolutionNote).show_resolution(detail.resolution, Activity)
        attended = [p for p in detail.participants if p.attended]
        self.query_one("#act-status", Label).update(t(
            "act.status", status=enum_label(ActivityStatus, a.status), signed=len(detail.participants),
            attended=len(attended), hours=f"{sum(p.hours for p in attended):g}"))
        table = self.query_one("#participants", DataTable)
        row = table.cursor_row
        table.clear()
        for p in detail.participants:
            table.add_row(plain(p.name), self._attended_text(p), f"{p.hours:g}",
                          t("form.yes") if p.confirmed else t("form.no"), key=p.participation_id)
        if detail.participants:
            table.move_cursor(row=min(row, len(detail.participants) - 1), animate=False)

    @staticmethod
    def _attended_text(p: ParticipantRow) -> str:
        return t("form.unknown") if p.attended is None else t("form.yes") if p.attended else t("form.no")

    # Workflow steps
    def _status(self) -> ActivityStatus | None:
        return ActivityStatus(self.detail.activity.status) if self.detail else None

    def _allowed(self, statuses: tuple[ActivityStatus, ...], action_key: str) -> bool:
        status = self._status()
        if status is None:
            return False
        if status not in statuses:
            self.notify(t("act.wrong_status", status=status.label(language()), action=t(action_key)),
                        severity="warning")
            return False
        return True

    def _move_to(self, target: ActivityStatus, action_key: str) -> None:
        status = self._status()
        if status is None:
            return
        if target not in ACTIVITY_TRANSITIONS[status]:
            self.notify(t("act.wrong_status", status=status.label(language()), action=t(action_key)),
                        severity="warning")
            return
        self.write_db(lambda session: queries.change_status(session, self.activity_id, target),
                      lambda _a: self.load())

    def action_edit(self) -> None:
        if self._allowed((ActivityStatus.DRAFT, ActivityStatus.PUBLISHED), "action.edit"):
            activity_form(self, self.detail.activity, lambda _a: self.load())  # type: ignore[union-attr]

    def action_publish(self) -> None:
        self._move_to(ActivityStatus.PUBLISHED, "action.publish")

    def action_start(self) -> None:
        self._move_to(ActivityStatus.IN_PROGRESS, "action.start")

    def action_sign_up(self) -> None:
        if not self._allowed((ActivityStatus.PUBLISHED, ActivityStatus.IN_PROGRESS), "action.sign_up"):
            return
        app = self.county_app
        detail = self.detail
        assert detail is not None
        taken = {p.volunteer_id for p in detail.participants}
        picker = volunteer_picker(app, t("act.pick_volunteers", name=detail.activity.title), taken,
                                  t("act.already_signed"))

        def picked(ids: list[str] | None) -> None:
            if ids:
                self.write_db(
                    lambda session: queries.sign_up(session, app.county_code, self.activity_id, ids, datetime.now()),
                    lambda added: (self.notify(t("act.signed_up", count=added)), self.load()))

        self.app.push_screen(picker, picked)

    def _current(self) -> ParticipantRow | None:
        table = self.query_one("#participants", DataTable)
        if self.detail is None or not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((p for p in self.detail.participants if p.participation_id == key), None)

    def _attendance_editable(self) -> ParticipantRow | None:
        if not self._allowed((ActivityStatus.IN_PROGRESS,), "action.attendance"):
            return None
        participant = self._current()
        if participant is not None and participant.confirmed:
            self.notify(t("act.already_confirmed"), severity="warning")
            return None
        return participant

    def action_attendance(self) -> None:
        participant = self._attendance_editable()
        if participant is None or self.detail is None:
            return
        planned, cap = self.detail.default_hours, self.detail.hours_cap
        values = {"attended": True if participant.attended is None else participant.attended,
                  "hours": participant.hours or planned, "evaluation": participant.evaluation}

        def within_limits(cleaned: dict[str, Any]) -> list[FieldError]:
            hours = float(cleaned.get("hours") or 0.0)
            if not cleaned.get("attended"):
                return []
            if hours > cap:
                return [FieldError("hours", t("act.hours_over_cap", cap=f"{cap:g}"))]
            if hours > planned and not str(cleaned.get("evaluation") or "").strip():
                return [FieldError("evaluation", t("act.hours_reason_needed", planned=f"{planned:g}"))]
            return []

        form = FormModal(t("form.participation", name=participant.name), Participation, "participation",
                         PARTICIPATION_FIELDS, values, extra_check=within_limits)

        def saved(cleaned: dict[str, Any] | None) -> None:
            if cleaned is None:
                return
            attended, hours = bool(cleaned.get("attended")), float(cleaned.get("hours") or 0.0)
            note = str(cleaned.get("evaluation") or "")
            record = partial(self._record, participant.participation_id, attended, hours, note)
            if attended and hours > planned:
                question = t("confirm.hours_over_duration", name=participant.name, hours=f"{hours:g}",
                             planned=f"{planned:g}")
                self.app.push_screen(ConfirmModal(question), lambda yes: record() if yes else None)
            else:
                record()

        self.app.push_screen(form, saved)

    def action_toggle_attended(self) -> None:
        participant = self._attendance_editable()
        if participant is None or self.detail is None:
            return
        attended = not participant.attended
        self._record(participant.participation_id, attended, participant.hours or self.detail.default_hours)

    def _record(self, participation_id: str, attended: bool, hours: float, note: str | None = None) -> None:
        self.write_db(lambda session: queries.record_attendance(session, participation_id, attended, hours, note),
                      lambda _p: self.load())

    def action_correct_hours(self) -> None:
        """Confirmed hours take an appended correction with a reason; the confirmed value stays on record."""
        participant = self._current()
        if participant is None:
            return
        if not participant.confirmed:
            self.notify(t("act.not_confirmed_yet"), severity="warning")
            return
        clerk = self.county_app.clerk
        form = FormModal(t("form.hours_correction", name=participant.name), HoursCorrection, "hours_correction",
                         [FieldSpec("new_hours", required=True), FieldSpec("reason", "area", required=True)],
                         {"new_hours": participant.hours, "reason": ""})

        def saved(cleaned: dict[str, Any] | None) -> None:
            if cleaned is None:
                return
            self.write_db(
                lambda session: queries.correct_hours(session, participant.participation_id, cleaned["new_hours"],
                                                      cleaned["reason"], clerk, datetime.now()),
                lambda c: (self.notify(t("act.hours_corrected", old=f"{c.old_hours:g}", new=f"{c.new_hours:g}")),
                           self.load()))

        self.app.push_screen(form, saved)

    @on(DataTable.RowSelected, "#participants")
    def _row_selected(self) -> None:
        self.action_attendance()

    def action_confirm_hours(self) -> None:
        if not self._allowed((ActivityStatus.IN_PROGRESS,), "action.confirm_hours") or self.detail is None:
            return
        waiting = [p for p in self.detail.participants if p.attended and not p.confirmed]
        if not waiting:
            self.notify(t("act.nothing_to_confirm"), severity="warning")
            return
        clerk = self.county_app.clerk
        question = t("confirm.confirm_hours", count=len(waiting), hours=f"{sum(p.hours for p in waiting):g}")

        def answered(yes: bool | None) -> None:
            if yes:
                self.write_db(lambda session: queries.confirm_hours(session, self.activity_id, clerk),
                              lambda n: (self.notify(t("act.hours_confirmed", count=n)), self.load()))

        self.app.push_screen(ConfirmModal(question), answered)

    def action_complete(self) -> None:
        if not self._allowed((ActivityStatus.IN_PROGRESS,), "action.complete") or self.detail is None:
            return
        if any(p.attended and not p.confirmed for p in self.detail.participants):
            self.notify(t("act.unconfirmed_left"), severity="warning")
            return
        a = self.detail.activity
        form = FormModal(t("form.complete"), Activity, "activity", COMPLETE_FIELDS,
                         {"beneficiaries": a.beneficiaries, "summary": a.summary, "publicity_url": a.publicity_url})

        def saved(cleaned: dict[str, Any] | None) -> None:
            if cleaned is not None:
                self.write_db(lambda session: queries.complete_activity(session, self.activity_id, cleaned),
                              lambda _a: self.load())

        self.app.push_screen(form, saved)

    def action_cancel_activity(self) -> None:
        status = self._status()
        if status is None or self.detail is None:
            return
        if ActivityStatus.CANCELLED not in ACTIVITY_TRANSITIONS[status]:
            self._move_to(ActivityStatus.CANCELLED, "action.cancel_activity")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._move_to(ActivityStatus.CANCELLED, "action.cancel_activity")

        self.app.push_screen(ConfirmModal(t("confirm.cancel_activity", name=self.detail.activity.title)), answered)

