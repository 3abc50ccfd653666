"""The city TUI's keys, added to the one action registry on import (as the Excel area's are).

Its words are in the one catalogue, ``stvs_tui.i18n`` (the ``city.*`` keys). Scopes: ``city`` works on every
city screen (help, commands, quit); ``city.main`` is the tabs; ``city.item`` one queue item; ``city.form``
the small modals (reason, period lock, export path); ``city.signin`` the first screen of a web session.
"""

from __future__ import annotations

from stvs_tui.actions import ActionSpec, register

ACTION_SPECS = (
    ActionSpec("city.help", "f1", "help", "action.help", "city", priority=True),
    ActionSpec("city.palette", "ctrl+p", "command_palette", "action.palette", "city", show=False, priority=True,
               palette=False),
    ActionSpec("city.quit", "ctrl+q", "quit", "action.quit", "city", priority=True),
    ActionSpec("city.connect", "ctrl+t", "connect", "city.connect", "city", show=False, priority=True),
    ActionSpec("city.refresh", "ctrl+r", "refresh", "action.refresh", "city.main"),
    ActionSpec("city.open", "enter", "open_item", "action.open", "city.main", show=False),
    ActionSpec("city.filter", "slash,ctrl+f", "focus_filter", "action.filter", "city.main"),
    ActionSpec("city.select", "space", "toggle_select", "city.select", "city.main"),
    ActionSpec("city.bulk_county", "ctrl+k", "bulk('county')", "city.bulk_county", "city.main", priority=True),
    ActionSpec("city.bulk_city", "ctrl+j", "bulk('city')", "city.bulk_city", "city.main", priority=True),
    ActionSpec("city.export", "ctrl+e", "export", "city.export", "city.main", priority=True),
    ActionSpec("city.lock", "ctrl+l", "lock", "city.lock", "city.main", priority=True),
    ActionSpec("city.resolved", "ctrl+o", "show_tab('resolved')", "city.show_resolved", "city.main", priority=True),
    ActionSpec("city.counties", "ctrl+g", "show_tab('counties')", "city.show_counties", "city.main", priority=True),
    ActionSpec("city.item.cycle", "space", "cycle", "city.cycle", "city.item"),
    ActionSpec("city.item.save", "ctrl+s", "save", "action.save", "city.item", priority=True),
    ActionSpec("city.item.back", "escape", "back", "action.back", "city.item"),
    ActionSpec("city.form.save", "ctrl+s", "save", "action.save", "city.form", priority=True),
    ActionSpec("city.form.back", "escape", "back", "action.back", "city.form"),
    ActionSpec("city.signin.go", "ctrl+s", "sign_in", "city.signin", "city.signin", priority=True),
)


def _register() -> None:
    for spec in ACTION_SPECS:
        register(spec)


_register()
