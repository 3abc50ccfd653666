"""What every screen of the county TUI shares: its bindings from the action registry, a title bar,
the footer, F1 help, and database work in thread workers whose results come back on the UI thread."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, cast

from textual.app import ComposeResult
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Label
from textual.worker import Worker

from stvs_tui.actions import install_bindings
from stvs_tui.i18n import t
from stvs_tui.widgets.footer import FooterKeysFirst

if TYPE_CHECKING:  # the dashboard, the first screen, shows before SQLAlchemy is imported
    from concurrent.futures import Future

    from sqlmodel import Session

    from schema.store import Store

T = TypeVar("T")


class CountyHost(Protocol):
    """What the county screens need from the app that shows them (``stvs_tui.county.app.CountyApp`` is one).

    The screens name this, not the app: the app imports every screen, so a screen importing the app would
    close a circle (tests/test_layering.py keeps it open).
    """

    store: Store
    today: date
    lang: str
    county_code: str
    county_name: str
    demo_volunteers: int

    @property
    def clerk(self) -> str: ...

    def region_name(self, code: str) -> str: ...

    def take_first_figures(self, county: str, period: str) -> Future[Any] | None: ...

    def first_figures_drawn(self) -> None: ...

    def county_chosen(self, code: str) -> None: ...

    def switch_language(self, lang: str) -> None: ...

    def open_area(self, screen: Screen[Any]) -> None: ...

    def open_screen(self, screen: Screen[Any]) -> None: ...

    def kept_screen(self, name: str) -> Screen[Any] | None: ...

    def keep_screen(self, name: str, screen: Screen[Any]) -> None: ...

    def prepare_screen(self, screen: Screen[Any]) -> None: ...

    def action_back(self) -> None: ...

    def notify(self, message: str, *args: Any, **kwargs: Any) -> None: ...

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any: ...

    def run_db(self, node: DOMNode, job: Callable[[Session], T], done: Callable[[T], Any] | None = None, *,
               group: str = "load", exclusive: bool = True) -> Worker[None]: ...

    def run_job(self, node: DOMNode, job: Callable[[], T], done: Callable[[T], Any] | None = None, *,
                group: str = "load", exclusive: bool = True) -> Worker[None]: ...


class StvsScreen(FooterKeysFirst, Screen[None]):
    """A screen whose keys come from the registry scopes in ``SCOPES``; its footer starts with F1 and Ctrl+Q."""

    SCOPES: ClassVar[tuple[str, ...]] = ()
    TITLE_KEY: ClassVar[str] = "app.title"
    HELP_KEY: ClassVar[str | None] = None

    def __init__(self) -> None:
        super().__init__()
        install_bindings(self, self.SCOPES)

    @property
    def county_app(self) -> CountyHost:
        return cast("CountyHost", self.app)

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
