"""The sync screen against a real city server (uvicorn on a free port): summary shown, dashboard state changes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from city_server import running_city_server
from test_tui_fixtures import county_app, make_store, screen_text, wait_until
from textual.widgets import Label

from stvs_tui.county.screens.dashboard import DashboardScreen
from stvs_tui.county.screens.settings import SERVER_URL
from stvs_tui.county.screens.sync import SyncScreen
from stvs_tui.i18n import t
from stvs_tui.widgets.confirm import ConfirmModal
from sync.client import SyncClient
from sync.credentials import save_token


def _label(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Label).render())


async def test_sync_screen_pushes_to_the_city_and_the_dashboard_shows_it(tmp_path: Path) -> None:
    store = make_store(tmp_path / "county" / "stvs.sqlite", volunteers=30)
    pending = store.pending_change_count()
    assert pending > 0
    try:
        with running_city_server(tmp_path) as city:
            store.set_settings(**{SERVER_URL: city.url})
            save_token(store, city.tokens["410522"])
            app = county_app(store)
            async with app.run_test(size=(120, 40)) as pilot:
                await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.data is not None)
                await wait_until(pilot, lambda: t("dash.sync_pending", count=pending) in screen_text(app)
                                 and t("dash.sync_last", when=t("dash.sync_never")) in screen_text(app))
                await pilot.press("f8")
                await wait_until(pilot, lambda: isinstance(app.screen, SyncScreen))
                await pilot.press("ctrl+r")
                # Wait for either outcome, so that a failure shows its reason instead of a timeout.
                await wait_until(pilot, lambda: _label(app, "#sync-progress") == t("sync.done")
                                 or _label(app, "#sync-progress").startswith(t("sync.failed", error="")))
                assert _label(app, "#sync-progress") == t("sync.done")
                assert f"上传 {pending} 条" in _label(app, "#sync-result")
                await pilot.press("f2")
                await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen)
                                 and t("dash.sync_pending", count=0) in screen_text(app))
                assert t("dash.sync_last", when=t("dash.sync_never")) not in screen_text(app)
            assert store.pending_change_count() == 0
    finally:
        store.close()


async def test_sync_screen_shows_the_doctor_with_what_is_stuck_and_what_clears_it(tmp_path: Path) -> None:
    """A membership edited in the sqlite3 shell to point at no team is rejected by the city: after the sync the
    screen's doctor names it, the reason and the action, as `stvs-tui sync doctor` does."""
    store = make_store(tmp_path / "county" / "stvs.sqlite", volunteers=30)
    try:
        with running_city_server(tmp_path) as city:
            store.set_settings(**{SERVER_URL: city.url})
            save_token(store, city.tokens["410522"])
            with SyncClient(store, city.url, city.tokens["410522"]) as client:
                client.run()
            with sqlite3.connect(store.path) as connection:
                membership_id = connection.execute("SELECT id FROM membership LIMIT 1").fetchone()[0]
                connection.execute("UPDATE membership SET team_id = ? WHERE id = ?",
                                   ("019b0000-0000-7000-8000-000000000000", membership_id))
            connection.close()
            app = county_app(store)
            async with app.run_test(size=(120, 40)) as pilot:
                await pilot.press("f8")
                await wait_until(pilot, lambda: isinstance(app.screen, SyncScreen)
                                 and _label(app, "#sync-doctor").startswith(t("doctor.none")))
                await pilot.press("ctrl+r")
                await wait_until(pilot, lambda: membership_id in _label(app, "#sync-doctor"))
                doctor = _label(app, "#sync-doctor")
                assert t("doctor.kind.rejected") in doctor and "missing_reference" in doctor
                assert t("doctor.action.correct_record") in doctor
    finally:
        store.close()


async def test_take_city_on_the_sync_screen_clears_a_unique_key_quarantine_after_asking(tmp_path: Path) -> None:
    from test_sync_quarantine import quarantine_a_report

    store = make_store(tmp_path / "county" / "stvs.sqlite", volunteers=5)
    try:
        local_id, city_id = quarantine_a_report(store)
        app = county_app(store)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("f8")
            await wait_until(pilot, lambda: isinstance(app.screen, SyncScreen)
                             and city_id in _label(app, "#sync-doctor"))
            assert t("doctor.action.take_city") in _label(app, "#sync-doctor")
            await pilot.press("ctrl+t")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
            await pilot.press("enter")  # the default answer is 否: nothing happens
            await wait_until(pilot, lambda: isinstance(app.screen, SyncScreen))
            assert city_id in _label(app, "#sync-doctor")
            await pilot.press("ctrl+t")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
            await pilot.press("left", "enter")
            await wait_until(pilot, lambda: isinstance(app.screen, SyncScreen)
                             and city_id not in _label(app, "#sync-doctor"))
        with sqlite3.connect(store.path) as connection:
            assert connection.execute("SELECT COUNT(*) FROM monthly_report WHERE id = ?", (local_id,)).fetchone() == (0,)
        connection.close()
    finally:
        store.close()
