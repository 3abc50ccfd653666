"""Settings of this device: the county (fixed once chosen), the clerk, the city server and token, language."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Input, Label, Select

from stvs_tui.county.screens.base import StvsScreen
from stvs_tui.i18n import LANGUAGES, t
from stvs_tui.widgets.footer import KeyFooter

LANGUAGE_NAMES = {"zh": "中文", "en": "English"}
# Setting keys shared with the sync command line (the token: sync.credentials).
SERVER_URL = "server_url"
LANGUAGE = "language"


class SettingsScreen(StvsScreen):
    SCOPES: ClassVar[tuple[str, ...]] = ("settings",)
    TITLE_KEY = "set.title"
    HELP_KEY = "help.settings"

    def compose(self) -> ComposeResult:
        app = self.county_app
        yield from self.title_bar()
        with VerticalScroll(id="settings-body", classes="panel"):
            yield Label(t("set.county"), classes="field-label")
            yield Label(f"{app.county_code} {app.county_name}", markup=False, id="set-county")
            yield Label(t("set.county_fixed"), classes="help-hint")
            yield Label(t("set.clerk"), classes="field-label")
            yield Input(id="set-clerk")
            yield Label("", id="err-clerk", classes="field-error")
            yield Label(t("set.server_url"), classes="field-label")
            yield Input(id="set-server", placeholder="https://")
            yield Label("", id="err-server", classes="field-error")
            yield Label(t("set.token"), classes="field-label")
            yield Input(id="set-token", password=True)
            yield Label(t("set.language"), classes="field-label")
            yield Select([(LANGUAGE_NAMES[code], code) for code in LANGUAGES], value=app.lang, id="set-lang",
                         allow_blank=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        # keyring: imported when Settings opens, not as the TUI starts
        from sync.credentials import load_token

        store = self.county_app.store
        self.run_db(lambda _session: [store.setting("clerk"), store.setting(SERVER_URL), load_token(store)], self._fill)

    def _fill(self, values: list[str]) -> None:
        for widget_id, value in zip(("#set-clerk", "#set-server", "#set-token"), values, strict=True):
            self.query_one(widget_id, Input).value = value
        self.query_one("#set-clerk", Input).focus()

    def action_save(self) -> None:
        clerk = self.query_one("#set-clerk", Input).value.strip()
        server = self.query_one("#set-server", Input).value.strip()
        token = self.query_one("#set-token", Input).value.strip()
        lang = str(self.query_one("#set-lang", Select).value)
        bad_url = bool(server) and not server.startswith(("http://", "https://"))
        self.query_one("#err-clerk", Label).update(f"{t('set.clerk')}: {t('form.unknown')}" if not clerk else "")
        self.query_one("#err-server", Label).update(t("set.bad_url") if bad_url else "")
        if not clerk or bad_url:
            self.notify(t("form.errors"), severity="error")
            return
        app = self.county_app
        store = app.store

        def job(_session: object) -> str:
            store.set_settings(clerk=clerk, **{SERVER_URL: server, LANGUAGE: lang})
            from sync.credentials import save_token

            save_token(store, token)  # the OS keyring where there is one (sync.credentials)
            return lang

        def done(chosen: str) -> None:
            if chosen != app.lang:
                app.switch_language(chosen)
            app.notify(t("set.saved"))

        self.write_db(job, done)
