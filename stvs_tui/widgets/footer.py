"""The key footer: F1 help and Ctrl+Q quit first, then the screen's keys under their short words, in
Textual's compact layout, so that every key shown fits 80 columns in Chinese and English.

Textual lists a screen's keys before the app's, so on a narrow terminal the app's F1 and Ctrl+Q were the
ones cut (``f1 帮``). The full names are in F1 help and the command palette (``stvs_tui.actions``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import ActiveBinding
from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's footer, compact (one space between keys, not two), rebuilt only when the keys it shows change.

    Textual's footer rebuilds itself (mounts, styles and lays out its keys again, and draws one more frame) every
    time the screen's bindings are published, whether or not the keys it shows changed: on the first screen that
    was twice, the second time after the dashboard had drawn its figures (the focus landing on them publishes the
    same keys again).
    """

    DEFAULT_CSS = """
    KeyFooter.-compact FooterLabel { margin: 0 1 0 0; }
    KeyFooter.-compact FooterKey.-grouped { margin: 0 1 0 0; }
    """

    def __init__(self) -> None:
        super().__init__(compact=True)
        self._shown: tuple[Any, ...] | None = None  # the keys of the last (or the coming) rebuild

    def _keys_shown(self) -> tuple[Any, ...]:
        """What the footer shows of the screen's bindings (what ``Footer.compose`` reads of them)."""
        app = self.app
        palette = app.COMMAND_PALETTE_BINDING if self.show_command_palette and app.ENABLE_COMMAND_PALETTE else None
        return tuple((key, binding.key, app.get_key_display(binding), binding.description, binding.action,
                      binding.group, enabled, tooltip, binding.tooltip)
                     for key, (_node, binding, enabled, tooltip) in self.screen.active_bindings.items()
                     if binding.show or key == palette)

    def compose(self) -> ComposeResult:
        self._shown = self._keys_shown() if self._bindings_ready else None
        yield from super().compose()

    def bindings_changed(self, screen: Screen[Any]) -> None:
        rebuilds = screen.app.app_focus and self.is_attached and screen is self.screen
        keys = self._keys_shown() if rebuilds else None
        if rebuilds and self._bindings_ready and keys == self._shown:
            return  # the same keys: nothing to rebuild
        if rebuilds and not self._bindings_ready:
            # The screen's first keys (its first focus, in its mount): the keys go in at once, not after the next
            # refresh as Textual's footer does, so that the first frame has them (it had no keys, and the next
            # frames were drawn for them: ~60 ms of the dashboard's first screen).
            self.set_reactive(Footer._bindings_ready, True)
            self._shown = keys
            self.call_next(self.recompose)
            return
        super().bindings_changed(screen)
        if rebuilds:
            self._shown = keys


class FooterKeysFirst:
    """A screen mixin: the footer starts with the app's ``FOOTER_FIRST`` keys (even under a modal's chain,
    which stops before the app's), and leaves out the keys ``footer_hides`` names (they still work)."""

    FOOTER_FIRST: ClassVar[tuple[str, ...]] = ("app.help", "app.quit")

    def footer_hides(self, binding_id: str) -> bool:
        """Whether to leave the key with this registry id out of the footer now (the screen's state)."""
        return False

    @property
    def active_bindings(self) -> dict[str, Any]:
        found: dict[str, ActiveBinding] = dict(super().active_bindings)  # type: ignore[misc]
        app = self.app  # type: ignore[attr-defined]
        first_ids = self.FOOTER_FIRST
        for key, bindings in app._bindings.key_to_bindings.items():
            for binding in bindings:
                if binding.id in first_ids and key not in found:
                    found[key] = ActiveBinding(app, binding, True, binding.tooltip)
        for key, active in found.items():
            if active.binding.show and active.binding.id and self.footer_hides(active.binding.id):
                found[key] = active._replace(binding=replace(active.binding, show=False))
        first = sorted(((key, b) for key, b in found.items() if b.binding.id in first_ids),
                       key=lambda kb: first_ids.index(kb[1].binding.id))
        return dict(first) | {key: b for key, b in found.items() if b.binding.id not in first_ids}
