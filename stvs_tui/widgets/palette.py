"""The command palette, fed by the action registry and speaking the clerk's language."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from rich.align import Align
from rich.text import Text
from textual._context import NoActiveAppError
from textual.binding import Binding
from textual.command import CommandList, CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.widgets.option_list import Option

from stvs_tui.actions import ActionSpec, actions_for
from stvs_tui.i18n import t


def app_scopes(screen: object) -> tuple[str, ...]:
    """The scopes available everywhere in ``screen``'s app: ``ACTION_SCOPES`` of the app (the city TUI has
    its own), else the county TUI's ``app``."""
    try:
        app = screen.app  # type: ignore[attr-defined]
    except (AttributeError, NoActiveAppError):
        return ("app",)
    return tuple(getattr(app, "ACTION_SCOPES", ("app",)))


def palette_actions(screen: object) -> list[ActionSpec]:
    """The actions the palette offers on ``screen``: the screen's own, then those available everywhere."""
    scopes = [*getattr(screen, "SCOPES", ()), *app_scopes(screen)]
    return [spec for spec in actions_for(scopes) if spec.palette]


class ActionsProvider(Provider):
    """Every registered action of the current screen and of the app, each shown with its key."""

    def _entries(self) -> Iterator[tuple[str, Callable[[], object]]]:
        screen = self.screen
        everywhere = app_scopes(screen)
        for spec in palette_actions(screen):
            first_key = spec.keys.split(",")[0]
            key = self.app.get_key_display(Binding(first_key, spec.action))
            namespace = self.app if spec.scope in everywhere else screen
            yield f"{t(spec.label)}  ({key})", partial(self.app.run_action, spec.action, namespace)

    async def discover(self) -> Hits:
        for text, callback in self._entries():
            yield DiscoveryHit(Text(text), callback, text=text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, callback in self._entries():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), callback, text=text)


class LocalizedCommandPalette(CommandPalette):
    """Textual's palette with its own words (placeholder, "no matches") from our catalogue."""

    def __init__(self) -> None:
        super().__init__(placeholder=t("app.palette_placeholder"), id="--command-palette")

    def _start_no_matches_countdown(self, search_value: str) -> None:
        self._stop_no_matches_countdown()

        def show_no_matches() -> None:
            if search_value:
                self.query_one(CommandList).add_option(
                    Option(Align.center(Text(t("app.palette_no_matches"), style="not bold")), disabled=True,
                           id=self._NO_MATCHES)
                )
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, show_no_matches)
