"""One registry of the TUI's actions: it feeds the key bindings, the F1 help and the command palette.

Every action has a stable id (users re-key it through ``App.set_keymap``), the keys it is bound to, the
Textual action it runs, its label key in the i18n catalogue, and the scope it belongs to: ``app`` for
actions available everywhere, otherwise the ``SCOPE`` of the screen that handles it. Other parts of the
product (the Excel import, for instance) append their own entries with ``register``.

The footer shows ``short`` (a word or two: every footer fits 80 columns in Chinese and English), F1 help
and the palette the full ``label``. ``show=False`` keeps a key out of the footer only; ``group`` puts keys
side by side under one short word (PageUp PageDown 月份).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode

from stvs_tui.i18n import t


@dataclass(frozen=True)
class ActionSpec:
    id: str
    keys: str
    action: str
    label: str
    scope: str
    show: bool = True
    priority: bool = False
    palette: bool = True
    short: str = ""
    group: str = ""


ACTIONS: list[ActionSpec] = [
    # Everywhere (F-keys: letters go to the Chinese input method when it is on)
    ActionSpec("app.help", "f1", "help", "action.help", "app", priority=True),
    ActionSpec("app.palette", "ctrl+p", "command_palette", "action.palette", "app", show=False, priority=True,
               palette=False),
    ActionSpec("app.dashboard", "f2", "go('dashboard')", "action.dashboard", "app", show=False),
    ActionSpec("app.volunteers", "f3", "go('volunteers')", "action.volunteers", "app", show=False),
    ActionSpec("app.teams", "f4", "go('teams')", "action.teams", "app", show=False),
    ActionSpec("app.activities", "f5", "go('activities')", "action.activities", "app", show=False),
    ActionSpec("app.demands", "f6", "go('demands')", "action.demands", "app", show=False),
    ActionSpec("app.report", "f7", "go('report')", "action.report", "app", show=False),
    ActionSpec("app.sync", "f8", "go('sync')", "action.sync", "app", show=False),
    ActionSpec("app.settings", "f9", "go('settings')", "action.settings", "app", show=False),
    ActionSpec("app.quit", "ctrl+q", "quit", "action.quit", "app", priority=True),
    # First-run setup
    ActionSpec("setup.start", "ctrl+s", "start", "setup.start", "setup", priority=True),
    ActionSpec("setup.demo", "ctrl+d", "demo", "action.demo", "setup", priority=True),
    # Dashboard
    ActionSpec("dashboard.open", "enter", "open", "action.open", "dashboard"),
    ActionSpec("dashboard.refresh", "ctrl+r", "refresh", "action.refresh", "dashboard", show=False),
    # The dashboard shows the F-keys of the areas in its footer (they work everywhere).
    *(ActionSpec(f"dashboard.{area}", key, f"app.go('{area}')", f"action.{area}", "dashboard", palette=False,
                 short=f"key.{area}")
      for area, key in (("volunteers", "f3"), ("teams", "f4"), ("activities", "f5"), ("report", "f7"))),
    # Lists shared by volunteers, activities and demands
    ActionSpec("list.back", "escape", "back", "action.back", "list", show=False),
    ActionSpec("list.filter", "slash,ctrl+f", "focus_filter", "action.filter", "list"),
    ActionSpec("list.open", "enter", "open", "action.open", "list"),
    ActionSpec("list.refresh", "ctrl+r", "refresh", "action.refresh", "list", show=False),
    ActionSpec("list.goto_row", "ctrl+g", "goto_row", "action.goto_row", "list", show=False),
    ActionSpec("list.sort", "ctrl+s", "sort", "action.sort", "list", show=False),
    # Volunteers
    ActionSpec("volunteers.new", "ctrl+n", "new", "action.new_volunteer", "volunteers", priority=True,
               short="key.new"),
    ActionSpec("volunteers.edit", "ctrl+e", "edit", "action.edit", "volunteers"),
    ActionSpec("volunteers.export", "ctrl+o", "export", "action.export_roster", "volunteers", short="key.export"),
    ActionSpec("volunteer.back", "escape", "back", "action.back", "volunteer", show=False),
    ActionSpec("volunteer.edit", "ctrl+e", "edit", "action.edit", "volunteer"),
    ActionSpec("volunteer.commend", "ctrl+b", "commend", "action.commend", "volunteer"),
    ActionSpec("volunteer.certificate", "ctrl+o", "certificate", "action.export_certificate", "volunteer",
               short="key.certificate"),
    # Teams
    ActionSpec("teams.back", "escape", "back", "action.back", "teams", show=False),
    ActionSpec("teams.filter", "slash,ctrl+f", "focus_filter", "action.filter", "teams"),
    ActionSpec("teams.new", "ctrl+n", "new", "action.new_team", "teams", priority=True, short="key.new"),
    ActionSpec("teams.edit", "ctrl+e", "edit", "action.edit", "teams"),
    ActionSpec("teams.dissolve", "ctrl+d", "dissolve", "action.dissolve_team", "teams", short="key.dissolve"),
    ActionSpec("teams.show_dissolved", "ctrl+l", "show_dissolved", "action.show_dissolved", "teams", show=False),
    ActionSpec("teams.restore", "ctrl+g", "restore", "action.restore_team", "teams", short="key.restore"),
    ActionSpec("teams.add_members", "ctrl+a", "add_members", "action.add_members", "teams", short="key.add_members"),
    ActionSpec("teams.member_role", "ctrl+r", "member_role", "action.member_role", "teams", short="key.member_role"),
    ActionSpec("teams.remove_member", "ctrl+x", "remove_member", "action.remove_member", "teams",
               short="key.remove_member"),
    ActionSpec("teams.activities", "ctrl+t", "team_activities", "action.activities", "teams", show=False),
    ActionSpec("teams.export", "ctrl+o", "export", "action.export_teams", "teams", show=False),
    # Activities
    ActionSpec("activities.new", "ctrl+n", "new", "action.new_activity", "activities", priority=True,
               short="key.new"),
    ActionSpec("activities.export", "ctrl+o", "export", "action.export_activities", "activities",
               short="key.export"),
    ActionSpec("activity.back", "escape", "back", "action.back", "activity", show=False),
    ActionSpec("activity.edit", "ctrl+e", "edit", "action.edit", "activity"),
    ActionSpec("activity.publish", "ctrl+u", "publish", "action.publish", "activity"),
    ActionSpec("activity.start", "ctrl+g", "start", "action.start", "activity", short="key.start"),
    ActionSpec("activity.sign_up", "ctrl+a", "sign_up", "action.sign_up", "activity", short="key.sign_up"),
    ActionSpec("activity.attendance", "enter", "attendance", "action.attendance", "activity", short="key.attendance"),
    ActionSpec("activity.toggle_attended", "space", "toggle_attended", "action.toggle_attended", "activity",
               short="key.attended"),
    ActionSpec("activity.confirm_hours", "ctrl+k", "confirm_hours", "action.confirm_hours", "activity",
               short="key.confirm_hours"),
    ActionSpec("activity.correct_hours", "ctrl+y", "correct_hours", "action.correct_hours", "activity",
               short="key.correct_hours"),
    # 结项 has a key of its own: Ctrl+O means export on every list.
    ActionSpec("activity.complete", "ctrl+t", "complete", "action.complete", "activity"),
    ActionSpec("activity.cancel", "ctrl+d", "cancel_activity", "action.cancel_activity", "activity",
               short="key.cancel_activity"),
    # Demands
    ActionSpec("demands.new", "ctrl+n", "new", "action.new_demand", "demands", priority=True, short="key.new"),
    ActionSpec("demands.link", "ctrl+l", "link_activity", "action.link_activity", "demands", short="key.link"),
    ActionSpec("demands.close", "ctrl+d", "close_demand", "action.close_demand", "demands", short="key.close_demand"),
    # Monthly report
    ActionSpec("report.back", "escape", "back", "action.back", "report", show=False),
    ActionSpec("report.prev_month", "pageup", "prev_month", "action.prev_month", "report", priority=True,
               group="key.month"),
    ActionSpec("report.next_month", "pagedown", "next_month", "action.next_month", "report", priority=True,
               group="key.month"),
    ActionSpec("report.save", "ctrl+s", "save", "rep.save_draft", "report", priority=True, short="key.draft"),
    ActionSpec("report.nil", "ctrl+t", "nil_report", "action.nil_report", "report", priority=True, short="key.nil"),
    ActionSpec("report.submit", "ctrl+u", "submit", "action.submit_report", "report", priority=True),
    ActionSpec("report.export", "ctrl+o", "export", "action.export_monthly", "report", priority=True,
               short="key.export"),
    # Settings and sync
    ActionSpec("settings.back", "escape", "back", "action.back", "settings", show=False),
    ActionSpec("settings.save", "ctrl+s", "save", "action.save", "settings", priority=True),
    ActionSpec("sync.back", "escape", "back", "action.back", "sync", show=False),
    ActionSpec("sync.run", "ctrl+r", "run_sync", "action.run_sync", "sync", priority=True, short="key.run_sync"),
    ActionSpec("sync.drop_refused", "ctrl+d", "drop_refused", "action.drop_refused", "sync", priority=True,
               short="key.drop_refused"),
    ActionSpec("sync.take_city", "ctrl+t", "take_city", "action.take_city", "sync", priority=True, short="key.take_city"),
    # Modal forms and pickers
    ActionSpec("form.save", "ctrl+s", "save", "action.save", "form", priority=True),
    ActionSpec("form.cancel", "escape", "cancel", "action.cancel_form", "form"),
    ActionSpec("export.write", "ctrl+s", "write", "action.export_file", "export", priority=True),
    ActionSpec("export.cancel", "escape", "cancel", "action.cancel_form", "export"),
    ActionSpec("picker.toggle", "space", "toggle", "action.toggle", "picker", short="key.toggle"),
    ActionSpec("picker.filter", "slash,ctrl+f", "focus_filter", "action.filter", "picker"),
    ActionSpec("picker.done", "ctrl+s", "done", "action.done", "picker", priority=True),
    ActionSpec("picker.cancel", "escape", "cancel", "action.cancel_form", "picker"),
]


def register(spec: ActionSpec) -> None:
    """Add an action (other parts of the product extend the TUI this way); ids stay unique."""
    if any(existing.id == spec.id for existing in ACTIONS):
        raise ValueError(f"action id {spec.id!r} is already registered")
    ACTIONS.append(spec)


def actions_for(scopes: Iterable[str]) -> list[ActionSpec]:
    wanted = set(scopes)
    return [spec for spec in ACTIONS if spec.scope in wanted]


def bindings_for(scopes: Iterable[str]) -> list[Binding]:
    """Textual bindings for the given scopes, labelled in the current language."""
    groups: dict[str, Binding.Group] = {}
    bindings = []
    for spec in actions_for(scopes):
        group = groups.setdefault(spec.group, Binding.Group(t(spec.group))) if spec.group else None
        bindings.append(Binding(spec.keys, spec.action, t(spec.short or spec.label), show=spec.show,
                                priority=spec.priority, tooltip=t(spec.label), id=spec.id, group=group))
    return bindings


def install_bindings(node: DOMNode, scopes: Iterable[str]) -> None:
    """Give a screen (or the app) the registry's bindings for ``scopes``; they replace defaults on the same key."""
    keys = dict(node._bindings.key_to_bindings)
    keys.update(BindingsMap(bindings_for(scopes)).key_to_bindings)
    node._bindings = BindingsMap.from_keys(keys)
