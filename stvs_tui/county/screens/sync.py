"""Sync with the city: what is waiting to go up, the last sync, conflicts waiting, and a sync run (push, pull,
verify with ``sync.client.SyncClient``) in a worker, its progress and per-record summary on screen; below,
the sync doctor: whatever is stuck, its reason and what clears it (``sync.doctor``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label

from schema.errors import StoreError
from schema.store import Store
from stvs_tui.county.screens.base import StvsScreen
from stvs_tui.county.screens.settings import SERVER_URL
from stvs_tui.doctor import SHOWN_ON_SCREEN, clock_lines, doctor_lines, server_line
from stvs_tui.i18n import labelled, t
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.footer import KeyFooter
from sync.client import SyncClient, SyncProgress, SyncSummary
from sync.credentials import load_token
from sync.doctor import Diagnosis, StuckItem, diagnose, drop_batch, stuck_items, take_city
from sync.errors import SyncError
from sync.quarantine import UNIQUE
from sync.status import SyncStatus, sync_status

ClientFactory = Callable[[Store, str, str], SyncClient]


class SyncScreen(StvsScreen):
    SCOPES: ClassVar[tuple[str, ...]] = ("sync",)
    TITLE_KEY = "sync.title"
    HELP_KEY = "help.sync"

    def __init__(self, client_factory: ClientFactory = SyncClient) -> None:
        super().__init__()
        self.running = False
        # The client is injectable so that tests can point it at a test server with their own retry policy.
        self.client_factory = client_factory

    def compose(self) -> ComposeResult:
        yield from self.title_bar()
        with Vertical(id="sync-body", classes="panel"):
            yield Label("", id="sync-state", markup=False)
            yield Label("", id="sync-progress", markup=False, classes="section-title")
            yield Label("", id="sync-result", markup=False)
            yield Label(t("doctor.title"), classes="section-title")
            yield Label("", id="sync-doctor", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.load()

    def load(self) -> None:
        store = self.county_app.store
        self.run_db(lambda _session: (sync_status(store), bool(load_token(store)), diagnose(store, timeout=3.0)),
                    self.show)

    def show(self, state: tuple[SyncStatus, bool, Diagnosis]) -> None:
        status, has_token, found = state
        self.query_one("#sync-doctor", Label).update("\n".join(
            [*doctor_lines(found.items, SHOWN_ON_SCREEN), server_line(found)]))
        lines = [
            t("dash.sync_pending", count=status.unsynced_changes),
            t("dash.sync_last", when=status.last_sync_at or t("dash.sync_never")),
            t("dash.conflicts", count=status.conflicts_waiting),
            t("sync.errors", count=status.errors),
            labelled(t("set.server_url"), status.server_url or "-"),
        ]
        if not status.server_url or not has_token:
            lines.append(t("sync.no_server"))
        self.query_one("#sync-state", Label).update("\n".join(lines))

    def action_drop_refused(self) -> None:
        """Drop every outbox batch the server refused (after a confirmation; the answer under the cursor is 否)."""
        self._clear_stuck("outbox", "refused", "doctor.confirm_drop", "doctor.nothing_refused",
                          lambda store, item: drop_batch(store, item.row_id))

    def action_take_city(self) -> None:
        """Take the city's version of every row quarantined on a unique key (after a confirmation)."""
        self._clear_stuck("quarantined", UNIQUE, "doctor.confirm_take_city", "doctor.nothing_to_take",
                          lambda store, item: take_city(store, item.table, item.row_id))

    def _clear_stuck(self, kind: str, reason: str, question: str, nothing: str,
                     clear: Callable[[Store, StuckItem], object]) -> None:
        store = self.county_app.store
        if self.running:
            return

        def found(items: list[StuckItem]) -> None:
            chosen = [item for item in items if item.kind == kind and item.reason == reason]
            if not chosen:
                self.notify(t(nothing))
                return

            def answered(yes: bool | None) -> None:
                if yes:
                    self.write_db(lambda _session: [clear(store, item) for item in chosen], lambda _r: self.load())

            self.app.push_screen(ConfirmModal(t(question, count=len(chosen))), answered)

        self.run_db(lambda _session: stuck_items(store), found)

    def action_run_sync(self) -> None:
        if self.running:
            return
        store = self.county_app.store
        server, token = store.setting(SERVER_URL), load_token(store)
        if not server or not token:
            self.notify(t("sync.no_server"), severity="warning")
            return
        self.running = True
        self.query_one("#sync-progress", Label).update(t("sync.running"))
        progress = self.query_one("#sync-progress", Label)

        def report(step: SyncProgress) -> None:
            total = f"/{step.total}" if step.total is not None else ""
            self.app.call_from_thread(progress.update, t("sync.progress", phase=step.phase, done=step.done, total=total))

        def job(_session: object) -> SyncSummary | str:
            try:
                with self.client_factory(store, server, token) as client:
                    return client.run(report)
            except (SyncError, StoreError) as exc:
                return " ".join(str(exc).split())

        self.write_db(job, self._finished)

    def _finished(self, outcome: SyncSummary | str) -> None:
        self.running = False
        progress = self.query_one("#sync-progress", Label)
        if isinstance(outcome, str):
            progress.update(t("sync.failed", error=outcome))
            self.notify(t("sync.failed", error=outcome), severity="error", markup=False)
        else:
            progress.update(t("sync.done"))
            self.query_one("#sync-result", Label).update("\n".join([t(
                "sync.summary", pushed=outcome.pushed, applied=outcome.applied, merged=outcome.merged,
                conflicts=outcome.conflicts, rejected=outcome.rejected, pulled=outcome.pulled,
                digest=outcome.digest, seconds=outcome.seconds), *clock_lines(outcome)]))
        self.load()
