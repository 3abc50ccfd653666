"""Sync with the city: what is waiting to go up, when the last sync ran, and conflicts waiting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sqlmodel import Session
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer, Label

from stvs_tui import queries
from stvs_tui.i18n import t
from stvs_tui.screens.base import StvsScreen
from stvs_tui.screens.settings import SERVER_URL, TOKEN


@dataclass(frozen=True)
class SyncOverview:
    pending: int
    conflicts: int
    last_sync: str
    server_url: str
    has_token: bool


class SyncScreen(StvsScreen):
    SCOPES: ClassVar[tuple[str, ...]] = ("sync",)
    TITLE_KEY = "sync.title"
    HELP_KEY = "help.sync"

    def compose(self) -> ComposeResult:
        yield from self.title_bar()
        with Vertical(id="sync-body", classes="panel"):
            yield Label("", id="sync-state", markup=False)
            yield Label("", id="sync-result", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def load(self) -> None:
        store = self.county_app.store

        def job(session: Session) -> SyncOverview:
            return SyncOverview(queries.pending_change_count(session), queries.conflict_count(session),
                                store.setting("last_sync_at"), store.setting(SERVER_URL), bool(store.setting(TOKEN)))

        self.run_db(job, self.show)

    def show(self, overview: SyncOverview) -> None:
        lines = [
            t("dash.sync_pending", count=overview.pending),
            t("dash.sync_last", when=overview.last_sync or t("dash.sync_never")),
            t("dash.conflicts", count=overview.conflicts),
            f"{t('set.server_url')}：{overview.server_url or '-'}",
        ]
        if not overview.server_url or not overview.has_token:
            lines.append(t("sync.no_server"))
        self.query_one("#sync-state", Label).update("\n".join(lines))

    def action_run_sync(self) -> None:
        self.query_one("#sync-result", Label).update(t("sync.unavailable"))
