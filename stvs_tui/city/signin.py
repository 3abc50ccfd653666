"""The city app's first screen when it starts without a token (``stvs-tui city --web``): server and admin token.

In a browser the token is typed here, never carried in a URL, an argument or the environment of the page; the
app goes on to the tabs only once the server has accepted it, and (in a web session) never saves it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Protocol, cast

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label

from stvs_tui.actions import install_bindings
from stvs_tui.i18n import t
from stvs_tui.state import report_state


class SignsIn(Protocol):
    """The app under this screen (``CityApp``): tries the server and token, and on success opens the tabs."""

    def sign_in(self, url: str, token: str, failed: Callable[[str], Any]) -> None: ...


class SignInScreen(Screen[None]):
    """Server address (prefilled) and admin token; Enter tries them, Ctrl+Q quits."""

    SCOPES: ClassVar[tuple[str, ...]] = ("city.signin",)
    DEFAULT_CSS = """
    SignInScreen { align: center middle; }
    SignInScreen > Vertical { width: 80; max-width: 100%; height: auto; border: round $primary; padding: 1 2; }
    SignInScreen #signin-error { color: $error; }
    """

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        install_bindings(self, self.SCOPES)

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Label(t("city.signin_title"), markup=False)
            yield Label(t("city.signin_server"), markup=False)
            yield Input(self.url, id="server")
            yield Label(t("city.signin_token"), markup=False)
            yield Input(id="token", password=True)
            yield Label("", id="signin-error", markup=False)
        yield Footer()

    def screen_help(self) -> str:
        return t("city.help_signin")

    def on_mount(self) -> None:
        self.query_one("#server" if not self.url else "#token", Input).focus()
        report_state("city.signin")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "server" and not self.query_one("#token", Input).value.strip():
            self.query_one("#token", Input).focus()
            return
        self.action_sign_in()

    def action_sign_in(self) -> None:
        url = self.query_one("#server", Input).value.strip().rstrip("/")
        token = self.query_one("#token", Input).value.strip()
        if not url or not token:
            self.show_error(t("city.connect_missing"))
            return
        self.show_error(t("app.loading"))
        cast(SignsIn, self.app).sign_in(url, token, self.show_error)

    def show_error(self, text: str) -> None:
        self.query_one("#signin-error", Label).update(text)
        if text != t("app.loading"):
            report_state("city.signin.refused")
