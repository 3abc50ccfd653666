"""First run: the clerk picks the county this store belongs to and enters their name (or loads demo data)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button, Input, Label, Select

from schema.store import Store
from stvs_tui.county.screens.base import StvsScreen
from stvs_tui.i18n import t
from stvs_tui.queries import counties
from stvs_tui.widgets.footer import KeyFooter

DEMO_COUNTY = "410522"


class SetupScreen(StvsScreen):
    SCOPES: ClassVar[tuple[str, ...]] = ("setup",)
    TITLE_KEY = "setup.title"
    HELP_KEY = "setup.intro"

    def compose(self) -> ComposeResult:
        with Vertical(id="setup-box", classes="panel"):
            yield Label(t("setup.title"), classes="modal-title")
            yield Label(t("setup.intro"), markup=False)
            yield Label(t("setup.county"), classes="field-label")
            yield Select[str]([], id="county", prompt=t("setup.pick_county"))
            yield Label("", id="err-county", classes="field-error")
            yield Label(t("setup.clerk"), classes="field-label")
            yield Input(id="clerk")
            yield Label("", id="err-clerk", classes="field-error")
            yield Button(f"{t('setup.start')} (Ctrl+S)", id="start", variant="primary")
            yield Label(t("setup.demo_hint"), markup=False, classes="help-hint")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.run_db(counties, self._show_counties)

    def _show_counties(self, regions: list) -> None:
        select = self.query_one("#county", Select)
        select.set_options([(f"{r.code} {r.name}", r.code) for r in regions])
        select.focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_start()

    def _chosen(self) -> tuple[str, str]:
        value = self.query_one("#county", Select).value
        return ("" if value is Select.NULL else str(value)), self.query_one("#clerk", Input).value.strip()

    def action_start(self) -> None:
        county, clerk = self._chosen()
        self.query_one("#err-county", Label).update("" if county else t("setup.pick_county"))
        self.query_one("#err-clerk", Label).update("" if clerk else f"{t('setup.clerk')}: {t('form.unknown')}")
        if county and clerk:
            self._finish(county, clerk, demo=False)
        else:  # to the first field still missing, so the clerk can fill it at once
            self.query_one("#county" if not county else "#clerk").focus()

    def action_demo(self) -> None:
        county, clerk = self._chosen()
        self._finish(county or DEMO_COUNTY, clerk or "王芳", demo=True)

    def _finish(self, county: str, clerk: str, demo: bool) -> None:
        app = self.county_app
        store: Store = app.store
        volunteers = app.demo_volunteers
        today = app.today

        def initialise(_session: object) -> str:
            store.set_settings(county_code=county, clerk=clerk)
            store.identity  # noqa: B018  (the store becomes a node: its id and key pair are made now)
            if demo:
                from stvs_tui.demo import generate, store_demo

                name = app.region_name(county)
                store_demo(store, generate(county, name, volunteers, seed=1, today=today))
            return county

        def done(code: str) -> None:
            if demo:
                app.notify(t("setup.demo_loaded"))
            app.county_chosen(code)

        self.write_db(initialise, done)
