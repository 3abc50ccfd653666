"""What every screen of the county TUI shares: its bindings from the action registry, a title bar,
the footer, F1 help, and database work in thread workers whose results come back on the UI thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from sqlmodel import Session
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Label
from textual.worker import Worker

from stvs_tui.actions import install_bindings
from stvs_tui.i18n import t

if TYPE_CHECKING:
    from stvs_tui.county.app import CountyApp

T = TypeVar("T")


class StvsScreen(Screen[None]):
    """A screen whose keys come from the registry scopes in ``SCOPES``."""

    SCOPES: ClassVar[tuple[str, ...]] = ()
    TITLE_KEY: ClassVar[str] = "app.title"
    HELP_KEY: ClassVar[str | None] = None

    def __init__(self) -> None:
        super().__init__()
        install_bindings(self, self.SCOPES)

    @property
    def county_app(self) -> CountyApp:
        return cast("CountyApp", self.app)

    def screen_title(self) -> str:
        return t(self.TITLE_KEY)

    def has_unsaved_input(self) -> bool:
        """Whether leaving this screen would lose what the clerk typed (the app asks first when so)."""
        return False

    def screen_help(self) -> str:
        return t(self.HELP_KEY) if self.HELP_KEY else ""

    def title_bar(self) -> ComposeResult:
        county = self.county_app.county_name
        yield Label(f"{t('app.title')} · {county} · {self.screen_title()}", markup=False, id="title-bar")

    def run_db(self, job: Callable[[Session], T], done: Callable[[T], Any] | None = None, *,
               group: str = "load", exclusive: bool = True) -> Worker[None]:
        return self.county_app.run_db(self, job, done, group=group, exclusive=exclusive)

    def write_db(self, job: Callable[[Session], T], done: Callable[[T], Any] | None = None) -> Worker[None]:
        """A write: never cancelled by a later one, so every save lands."""
        return self.county_app.run_db(self, job, done, group="write", exclusive=False)

    def action_back(self) -> None:
        self.county_app.action_back()
