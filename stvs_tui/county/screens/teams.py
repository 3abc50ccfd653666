"""Teams: a tree by tier (大队, 队) with each team's size against its minimum; the selected team's facts,
STVS registration and 备案 date, and its members with their roles."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, Tree

from schema.enums import (
    HostUnitKind,
    MemberRole,
    RegistrationStatus,
    ServiceKind,
    TalentTag,
    TeamStatus,
    TeamTier,
)
from schema.models import Membership, Team, Volunteer, field_label
from schema.rules import TeamCompliance, period_of
from stvs_tui import queries
from stvs_tui.county.screens.base import StvsScreen
from stvs_tui.county.screens.exports import export_teams_form
from stvs_tui.county.screens.volunteers import volunteer_picker
from stvs_tui.i18n import enum_label, enum_list_label, labelled, language, t
from stvs_tui.queries import TeamDetail
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.footer import KeyFooter
from stvs_tui.widgets.form import FieldSpec, FormModal
from stvs_tui.widgets.table import SteadyTable
from stvs_tui.widgets.text import plain

TEAM_FIELDS = [
    FieldSpec("name", required=True),
    FieldSpec("tier", "select", TeamTier, required=True),
    FieldSpec("host_kind", "select", HostUnitKind, required=True),
    FieldSpec("host_unit"),
    FieldSpec("parent_id", "select"),
    FieldSpec("leader_name"),
    FieldSpec("contact_phone"),
    FieldSpec("founded_on", "date"),
    FieldSpec("service_kinds", "multi", ServiceKind),
    FieldSpec("stvs_status", "select", RegistrationStatus, required=True),
    FieldSpec("stvs_registered_on", "date"),
    FieldSpec("stvs_org_no"),
    FieldSpec("filed_on", "date"),
    FieldSpec("notes", "area"),
]

TIER_ORDER = (TeamTier.CITY, TeamTier.COUNTY, TeamTier.GRASSROOTS)


def team_fields(parents: list[tuple[str, str]], editing: str | None) -> list[FieldSpec]:
    """The team form, with the county's other teams as possible parents."""
    options = [(name, team_id) for name, team_id in parents if team_id != editing]
    return [FieldSpec(f.name, f.kind, options, f.required) if f.name == "parent_id" else f for f in TEAM_FIELDS]


class TeamsScreen(StvsScreen):
    SCOPES: ClassVar[tuple[str, ...]] = ("teams",)
    TITLE_KEY = "team.title"
    HELP_KEY = "help.teams"

    def __init__(self, mode: str = "", select_team: str = "") -> None:
        super().__init__()
        self.mode = mode
        self.select_team = select_team
        self.teams: list[TeamCompliance] = []
        self.detail: TeamDetail | None = None
        self.team_id: str | None = None
        self.dissolved = False  # listing the dissolved teams instead of the active ones

    def compose(self) -> ComposeResult:
        yield from self.title_bar()
        with Horizontal(id="teams-body"):
            with Vertical(id="teams-left"):
                yield Input(placeholder=t("list.team_placeholder"), id="filter")
                yield Label("", id="list-scope", markup=False)
                yield Tree("teams", id="team-tree")
                yield Label(t("team.legend"), id="team-legend", markup=False)
            with Vertical(id="teams-right"):
                yield Label("", id="team-info", markup=False)
                yield Label("", id="team-members-title", classes="section-title")
                yield SteadyTable(id="members", cursor_type="row", zebra_stripes=True)
        yield KeyFooter()

    # The footer follows the focus: team keys on the tree, member keys on the members; Restore on the
    # dissolved teams. Every key works wherever it applies (F1 and the palette list them all).
    MEMBER_KEYS: ClassVar[frozenset[str]] = frozenset({"teams.add_members", "teams.member_role",
                                                       "teams.remove_member"})
    TEAM_KEYS: ClassVar[frozenset[str]] = frozenset({"teams.new", "teams.edit", "teams.dissolve"})

    def footer_hides(self, binding_id: str) -> bool:
        if binding_id == "teams.restore":
            return not self.dissolved
        if self.dissolved:
            return binding_id in self.MEMBER_KEYS | self.TEAM_KEYS
        on_members = self.focused is not None and self.focused.id == "members"
        if on_members:
            return binding_id in self.TEAM_KEYS
        return binding_id in self.MEMBER_KEYS - {"teams.add_members"}

    def action_export(self) -> None:
        export_teams_form(self)

    def on_mount(self) -> None:
        tree = self.query_one("#team-tree", Tree)
        tree.show_root = False
        lang = language()
        self.query_one("#members", DataTable).add_columns(
            field_label(Volunteer, "name", lang), t("team.col_role"), field_label(Volunteer, "talent_tags", lang),
            field_label(Volunteer, "mobile", lang), field_label(Membership, "joined_on", lang))
        tree.focus()
        self.load()

    def on_screen_resume(self) -> None:
        if self.teams or self.team_id:
            self.load()

    def load(self) -> None:
        county = self.county_app.county_code
        period = period_of(self.county_app.today)
        dissolved = self.dissolved
        scope = t("team.only_dissolved") if dissolved else t(f"team.only_{self.mode}") if self.mode else ""
        label = self.query_one("#list-scope", Label)
        label.update(t("list.scope", scope=scope) if scope else "")
        label.display = bool(scope)
        self.run_db(lambda session: queries.teams_overview(session, county, period, dissolved), self.show_tree,
                    group="tree")

    def _visible(self, team: TeamCompliance) -> bool:
        text = self.query_one("#filter", Input).value.strip()
        if text and text not in team.name:
            return False
        if self.mode == "short":
            return not team.meets_minimum
        if self.mode == "idle":
            return not team.meets_monthly_activity
        return True

    def show_tree(self, teams: list[TeamCompliance]) -> None:
        self.teams = teams
        tree = self.query_one("#team-tree", Tree)
        tree.clear()
        wanted = self.select_team or self.team_id
        target_line = None
        for tier in TIER_ORDER:
            members = [team for team in teams if team.tier == tier.value and self._visible(team)]
            if not members:
                continue
            branch = tree.root.add(Text(f"{tier.label(language())} ({len(members)})", style="bold"),
                                   data=None, expand=True)
            for team in members:
                leaf = branch.add_leaf(self._team_label(team), data=team.team_id)
                if team.team_id == wanted:
                    target_line = leaf
        if target_line is None and tree.root.children:
            first = tree.root.children[0]
            target_line = first.children[0] if first.children else first
        if target_line is not None:
            # Tree.move_cursor reads the node's line number, which is -1 until the tree's lines are built (on
            # idle, after a clear and new nodes): the cursor then went to line 0, the first tier's heading, or
            # kept the old line number over another team. Build the lines first (last_line does).
            _ = tree.last_line
            tree.move_cursor(target_line)
            self.select_team = ""
            # The cursor may land on the same line as before, which posts no highlight: load explicitly.
            if target_line.data:
                self.team_id = target_line.data
                self.load_team(target_line.data)

    def _team_label(self, team: TeamCompliance) -> Text:
        # Size first, fixed width: a narrow terminal cuts the end of a long name, never the figures.
        text = Text(f"{team.members:>3}/{team.minimum:<2} ", style="dim" if team.meets_minimum else "bold red")
        text.append("⚑ " if not team.meets_monthly_activity else "  ", style="yellow")
        text.append(team.name)
        return text

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self.show_tree(self.teams)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.query_one("#team-tree", Tree).focus()

    @on(Tree.NodeHighlighted, "#team-tree")
    def _team_highlighted(self, event: Tree.NodeHighlighted[str | None]) -> None:
        team_id = event.node.data
        if team_id:
            self.team_id = team_id
            self.load_team(team_id)

    @on(Tree.NodeSelected, "#team-tree")
    def _team_selected(self, event: Tree.NodeSelected[str | None]) -> None:
        if event.node.data:
            self.query_one("#members", DataTable).focus()

    def load_team(self, team_id: str) -> None:
        self.run_db(lambda session: queries.team_detail(session, team_id), self.show_team, group="team")

    def show_team(self, detail: TeamDetail) -> None:
        if detail.team.id != self.team_id:
            return
        self.detail = detail
        team = detail.team
        lang = language()
        tier = TeamTier(team.tier)
        lines = [
            queries.shown_team_name(team),
            t("team.info", tier=tier.label(lang), host=team.host_unit or "-", leader=team.leader_name or "-"),
            t("team.stvs", status=enum_label(RegistrationStatus, team.stvs_status), date=team.stvs_registered_on or "",
              org=team.stvs_org_no or "-", filed=team.filed_on or "-"),
            labelled(field_label(Team, 'service_kinds', lang), enum_list_label(ServiceKind, team.service_kinds) or '-'),
        ]
        self.query_one("#team-info", Label).update(Text("\n".join(lines)))
        count = len(detail.members)
        title = self.query_one("#team-members-title", Label)
        title.update(Text(t("team.members", count=count, minimum=tier.minimum_members),
                          style="" if count >= tier.minimum_members else "bold red"))
        table = self.query_one("#members", DataTable)
        row = table.cursor_row
        table.clear()
        for m in detail.members:
            table.add_row(plain(m.name), enum_label(MemberRole, m.role), enum_list_label(TalentTag, m.talent_tags),
                          m.mobile, str(m.joined_on or ""), key=m.membership_id)
        if detail.members:
            table.move_cursor(row=min(row, count - 1), animate=False)

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    # Team records
    def action_new(self) -> None:
        self._open_form(None)

    def action_edit(self) -> None:
        if self.detail is not None:
            self._open_form(self.detail.team)

    def _open_form(self, team: Team | None) -> None:
        app = self.county_app
        county = app.county_code
        editing = team.id if team else None
        values = team.model_dump() if team else {
            "tier": TeamTier.GRASSROOTS.value, "host_kind": HostUnitKind.TOWNSHIP.value,
            "stvs_status": RegistrationStatus.UNREGISTERED.value, "founded_on": app.today,
        }

        def open_with(parents: list[tuple[str, str]]) -> None:
            title = t("form.edit_team") if team else t("form.new_team")
            self.app.push_screen(FormModal(title, Team, "team", team_fields(parents, editing), values), saved)

        def saved(cleaned: dict[str, Any] | None) -> None:
            if cleaned is None:
                return

            def done(record: Team) -> None:
                self.notify(t("app.saved"))
                self.team_id = record.id
                self.select_team = record.id
                self.load()

            self.write_db(lambda session: queries.save_team(session, county, editing, cleaned), done)

        self.run_db(lambda session: queries.team_choices(session, county), open_with, group="form")

    def action_show_dissolved(self) -> None:
        """Switch the tree between the active teams and the dissolved ones."""
        self.dissolved = not self.dissolved
        self.refresh_bindings()
        self.team_id = None
        self.detail = None
        self.query_one("#members", DataTable).clear()
        self.query_one("#team-info", Label).update("")
        self.query_one("#team-members-title", Label).update("")
        self.load()

    def action_restore(self) -> None:
        if self.detail is None or self.detail.team.status != TeamStatus.DISSOLVED.value:
            self.notify(t("team.restore_hint"), severity="warning")
            return
        team = self.detail.team

        def answered(yes: bool | None) -> None:
            if yes:
                self.dissolved = False
                self.refresh_bindings()

                def restored(_team: Team) -> None:
                    # Chosen once the write is done: a load run before it (the screen resuming from the
                    # question) does not list the team yet and would have used up the choice.
                    self.notify(t("team.restored", name=team.name))
                    self.select_team = team.id
                    self.load()

                self.write_db(lambda session: queries.restore_team(session, team.id), restored)

        self.app.push_screen(ConfirmModal(t("confirm.restore_team", name=team.name)), answered)

    def action_dissolve(self) -> None:
        if self.detail is None:
            return
        team = self.detail.team
        if team.status == TeamStatus.DISSOLVED.value:
            self.notify(t("team.already_dissolved"), severity="warning")
            return
        today = self.county_app.today
        members = len(self.detail.members)
        question = (t("confirm.dissolve_team_members", name=team.name, count=members) if members
                    else t("confirm.dissolve_team", name=team.name))

        def answered(yes: bool | None) -> None:
            if yes:
                self.team_id = None
                self.detail = None
                self.write_db(lambda session: queries.dissolve_team(session, team.id, today),
                              lambda _t: (self.notify(t("team.dissolved", name=team.name)), self.load()))

        self.app.push_screen(ConfirmModal(question), answered)

    # Members
    def action_add_members(self) -> None:
        if self.detail is None:
            return
        team = self.detail.team
        app = self.county_app
        taken = {m.volunteer_id for m in self.detail.members}
        picker = volunteer_picker(app, t("team.pick_members", name=team.name), taken, t("team.already_member"))

        def picked(ids: list[str] | None) -> None:
            if ids:
                self.write_db(lambda session: queries.add_members(session, app.county_code, team.id, ids, app.today),
                              lambda added: (self.notify(t("team.added", count=added)), self.load()))

        self.app.push_screen(picker, picked)

    def _current_member(self) -> queries.MemberRow | None:
        table = self.query_one("#members", DataTable)
        if self.detail is None or not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((m for m in self.detail.members if m.membership_id == key), None)

    def action_member_role(self) -> None:
        member = self._current_member()
        if member is None:
            return
        form = FormModal(t("action.member_role") + f"：{member.name}", Membership, "membership",
                         [FieldSpec("role", "select", MemberRole, required=True)], {"role": member.role})

        def saved(cleaned: dict[str, Any] | None) -> None:
            if cleaned:
                self.write_db(lambda session: queries.set_member_role(session, member.membership_id, cleaned["role"]),
                              lambda _r: self.load())

        self.app.push_screen(form, saved)

    def action_remove_member(self) -> None:
        member = self._current_member()
        if member is None:
            return
        today = self.county_app.today

        def answered(yes: bool | None) -> None:
            if yes:
                self.write_db(lambda session: queries.remove_member(session, member.membership_id, today),
                              lambda _r: self.load())

        self.app.push_screen(ConfirmModal(t("confirm.remove_member", name=member.name)), answered)

    def action_team_activities(self) -> None:
        if self.detail is None:
            return
        from stvs_tui.county.screens.activities import ActivitiesScreen

        self.county_app.open_screen(ActivitiesScreen(team_id=self.detail.team.id, team_name=self.detail.team.name))
