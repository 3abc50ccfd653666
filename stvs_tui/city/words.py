"""The city TUI's keys, added to the one action registry on import (as the Excel area's are).

Its words are in the one catalogue, ``stvs_tui.i18n`` (the ``city.*`` keys). Scopes: ``city`` works on every
city screen (help, commands, quit); ``city.main`` is the tabs; ``city.item`` one queue item; ``city.form``
the small modals (reason, period lock, export path); ``city.signin`` the first screen of a web session.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.binding import ActiveBinding

from stvs_tui.actions import ActionSpec, register
from stvs_tui.i18n import t

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
    ActionSpec("city.reopen", "ctrl+u", "reopen", "city.reopen", "city.main", priority=True),
    # Tabs switch from anywhere on the main screen (the tab bar needs no focus); F1 is help.
    *(ActionSpec(f"city.tab_{tab}", key, f"show_tab('{tab}')", f"city.tab_{tab}", "city.main", show=False,
                 priority=True)
      for tab, key in (("uploads", "f2"), ("queue", "f3"), ("reports", "f4"), ("resolved", "f5"),
                       ("counties", "f6"))),
    ActionSpec("city.next_tab", "ctrl+pagedown", "next_tab(1)", "city.next_tab", "city.main", show=False,
               priority=True),
    ActionSpec("city.prev_tab", "ctrl+pageup", "next_tab(-1)", "city.prev_tab", "city.main", show=False,
               priority=True),
    ActionSpec("city.item.cycle", "space", "cycle", "city.cycle", "city.item"),
    ActionSpec("city.item.save", "ctrl+s", "save", "action.save", "city.item", priority=True),
    ActionSpec("city.item.back", "escape", "back", "action.back", "city.item"),
    ActionSpec("city.form.save", "ctrl+s", "save", "action.save", "city.form", priority=True),
    ActionSpec("city.form.back", "escape", "back", "action.back", "city.form"),
    ActionSpec("city.signin.go", "ctrl+s", "sign_in", "city.signin", "city.signin", priority=True),
)


# Shown first in every city footer, so a narrow terminal (80 columns) cuts other keys, never these.
FIRST_IN_FOOTER = ("city.help", "city.quit")


# Textual's own key words (an open Select's "esc Dismiss menu") in the catalogue's language.
TEXTUAL_WORDS = {"Dismiss menu": "city.close_menu"}


class AppKeysFirst:
    """A screen whose footer starts with F1 help and Ctrl+Q quit (Textual lists the app's keys last), with
    Textual's own key words translated."""

    @property
    def active_bindings(self) -> dict[str, Any]:
        found: dict[str, Any] = dict(super().active_bindings)  # type: ignore[misc]
        app = self.app  # type: ignore[attr-defined]
        for key, bindings in app._bindings.key_to_bindings.items():  # a modal's chain stops before the app's
            for binding in bindings:
                if binding.id in FIRST_IN_FOOTER and key not in found:
                    found[key] = ActiveBinding(app, binding, True, binding.tooltip)
        for key, active in found.items():
            if active.binding.description in TEXTUAL_WORDS:
                words = t(TEXTUAL_WORDS[active.binding.description])
                found[key] = active._replace(binding=replace(active.binding, description=words))
        first = {key: b for key, b in found.items() if b.binding.id in FIRST_IN_FOOTER}
        first = dict(sorted(first.items(), key=lambda kb: FIRST_IN_FOOTER.index(kb[1].binding.id)))
        return first | {key: b for key, b in found.items() if key not in first}


def _register() -> None:
    for spec in ACTION_SPECS:
        register(spec)


_register()
