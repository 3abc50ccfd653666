"""The dashboard's slow figures kept between starts (migration 0018, ``stvs_tui.dashboard_figures``): used again
only while the store is as it was when they were read, whatever wrote to it since (the app, the ``sqlite3`` shell,
a hand edit behind the change log, the sync engine, a migration), and never kept when a write came in the middle
of their reading."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from test_tui_fixtures import COUNTY, TODAY, county_app, make_store, screen_text, settle

import stvs_tui.dashboard_figures as figures_module
from schema.store import Store
from stvs_tui.county.screens.dashboard import DashboardScreen
from stvs_tui.county.start import read_first_figures
from stvs_tui.dashboard_figures import (
    SlowFigures,
    keep_figures,
    plain_dashboard_data,
    plain_slow_figures,
    read_fingerprint,
)
from stvs_tui.i18n import use_language
from stvs_tui.queries import dashboard_data
from sync.status import sync_status

PERIOD = "2025-03"


def plain(store: Store) -> sqlite3.Connection:
    assert store.path is not None
    return plain_file(store.path)


def plain_file(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA busy_timeout=10000")
    return db


def fresh(store: Store, period: str = PERIOD) -> SlowFigures:
    """What the dashboard's own queries (SQLAlchemy) read now."""
    with store.session() as session:
        return SlowFigures.of(dashboard_data(session, COUNTY, period, sync_status(store)))


def start_reading(store: Store) -> tuple[SlowFigures, bool]:
    """What the first screen's reading gives, and whether it was read afresh (False: the kept figures)."""
    first = read_first_figures(store, TODAY)
    assert first is not None
    data = first[2].result()
    for thread in threading.enumerate():  # the figures are given first, then kept: wait for the keeping
        if thread.name == "first-figures":
            thread.join()
    with plain(store) as db:
        kept = db.execute("SELECT fingerprint FROM dashboard_cache").fetchone()[0] == read_fingerprint(db, COUNTY,
                                                                                                        PERIOD)
    return SlowFigures.of(data), kept


def kept_then_used(store: Store) -> SlowFigures:
    """The first reading keeps its figures; the next is given them."""
    with plain(store) as db:
        slow, key = plain_slow_figures(db, COUNTY, PERIOD)
        assert key is not None  # read afresh
        keep_figures(db, key, slow)
        again, again_key = plain_slow_figures(db, COUNTY, PERIOD)
        assert again_key is None and again == slow  # the kept ones
    return slow


def behind_the_log(store: Store, *statements: str) -> None:
    """Edits at the ``sqlite3`` prompt with the sync guard up: the change log does not see them."""
    with plain(store) as db:
        db.execute("BEGIN")
        db.execute("UPDATE sync_guard SET active = 1")
        for statement in statements:
            db.execute(statement)
        db.execute("UPDATE sync_guard SET active = 0")
        db.execute("COMMIT")


def read_afresh(store: Store) -> bool:
    with plain(store) as db:
        return plain_slow_figures(db, COUNTY, PERIOD)[1] is not None


@pytest.fixture
def store(tmp_path: Path) -> Store:
    made = make_store(tmp_path / "stvs.sqlite", volunteers=120)
    yield made  # type: ignore[misc]
    made.close()


def test_kept_figures_are_the_ones_the_dashboards_queries_read(store: Store) -> None:
    assert kept_then_used(store) == fresh(store)
    assert fresh(store).teams and fresh(store).trend.hours and fresh(store).pending_changes


async def test_a_start_on_kept_figures_shows_the_screen_a_fresh_start_shows(store: Store) -> None:
    use_language("zh")  # as stvs-tui does before the reading (its report status is in words)
    assert start_reading(store)[1]  # read afresh and kept
    first = read_first_figures(store, TODAY)
    assert first is not None
    with plain(store) as db:
        assert plain_slow_figures(db, COUNTY, PERIOD)[1] is None  # this start is given the kept ones
    started = county_app(store)
    started.first_figures = first
    async with started.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        kept_text, kept_data = screen_text(started), started.screen.data  # type: ignore[attr-defined]
    plain_app = county_app(store)
    async with plain_app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert isinstance(plain_app.screen, DashboardScreen)
        assert plain_app.screen.data == kept_data
        assert screen_text(plain_app) == kept_text


def test_a_clerks_edit_in_the_app_is_seen_at_the_next_start(store: Store) -> None:
    kept_then_used(store)
    with store.engine.begin() as connection:  # the app's writes go through the capture triggers
        connection.exec_driver_sql("UPDATE volunteer SET talent_tags = 'expert' WHERE rowid = 1")
    assert read_afresh(store)
    assert start_reading(store) == (fresh(store), True)


@pytest.mark.parametrize("statement", [
    "UPDATE volunteer SET talent_tags = 'rural_talent,expert' WHERE rowid = 2",
    "UPDATE membership SET left_on = '2025-01-31' WHERE rowid = 3",
    "DELETE FROM participation WHERE rowid = 4",
    "UPDATE team SET name = name || '（改）' WHERE rowid = 5",
])
def test_an_edit_at_the_sqlite3_prompt_is_seen_at_the_next_start(store: Store, statement: str) -> None:
    before = kept_then_used(store)
    with plain(store) as db:
        db.execute(statement)
    assert read_afresh(store)
    after, _ = start_reading(store)
    assert after == fresh(store) and after != before


def test_a_hand_edit_behind_the_change_log_is_seen_at_the_next_start(store: Store) -> None:
    """An edit at the prompt with the sync guard up (the change log does not see it): row_recheck does."""
    before = kept_then_used(store)
    behind_the_log(store, "UPDATE volunteer SET talent_tags = 'expert,rural_talent' WHERE rowid = 6 AND talent_tags = ''",
                   "UPDATE volunteer SET status = 'inactive' WHERE rowid = 7")
    assert read_afresh(store)
    after, _ = start_reading(store)
    assert after == fresh(store) and after.talents != before.talents


@pytest.mark.parametrize("answered", [False, True])
def test_rows_the_sync_engine_writes_are_seen_at_the_next_start(store: Store, answered: bool) -> None:
    """Rows written by the sync engine (pulled) are not logged, the guard being up; answered changes leave the log:
    its transactions mark the figures."""
    before = kept_then_used(store)
    with store.applying_remote_changes() as connection:
        # as a pull writes them: a new version (an edit keeping the version is a hand edit, see row_recheck)
        connection.exec_driver_sql("UPDATE volunteer SET status = 'inactive', version = version + 1 WHERE rowid <= 10")
        if answered:
            connection.exec_driver_sql("DELETE FROM change_log WHERE seq <= 40")
    assert read_afresh(store)
    after, _ = start_reading(store)
    assert after == fresh(store)
    assert after.talents.volunteers < before.talents.volunteers
    assert (after.pending_changes < before.pending_changes) is answered


def test_the_recheck_of_hand_edits_marks_the_figures_too(store: Store) -> None:
    """row_recheck is emptied by the next sync (``Replica.recheck``): that must not make the figures kept before
    the hand edit look current again."""
    from sync.replica import Replica

    before = kept_then_used(store)
    behind_the_log(store, "UPDATE volunteer SET status = 'inactive' WHERE rowid = 8")
    Replica(store).recheck()
    with plain(store) as db:
        assert db.execute("SELECT count(*) FROM row_recheck").fetchone()[0] == 0
    assert read_afresh(store)
    after, _ = start_reading(store)
    assert after == fresh(store) and after.talents.volunteers == before.talents.volunteers - 1


def test_figures_of_another_month_or_county_or_version_are_not_used(store: Store,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    kept_then_used(store)
    with plain(store) as db:
        assert plain_slow_figures(db, COUNTY, "2025-04")[1] is not None
        assert plain_slow_figures(db, "410523", PERIOD)[1] is not None
        monkeypatch.setattr(figures_module, "CACHE_FORMAT", figures_module.CACHE_FORMAT + 1)
        assert plain_slow_figures(db, COUNTY, PERIOD)[1] is not None


def test_a_migration_reads_them_afresh(store: Store) -> None:
    kept_then_used(store)
    with plain(store) as db:
        db.execute("UPDATE alembic_version SET version_num = version_num")  # no change: still kept
        assert plain_slow_figures(db, COUNTY, PERIOD)[1] is None
        revision = db.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        db.execute("UPDATE alembic_version SET version_num = 'x'")
        assert plain_slow_figures(db, COUNTY, PERIOD)[1] is not None
        db.execute("UPDATE alembic_version SET version_num = ?", (revision,))


def test_figures_read_while_a_write_came_are_not_kept(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A clerk's save committed while the figures were read: what was read is the store before it."""
    reading = figures_module.read_slow_figures

    def with_a_write_meanwhile(db: sqlite3.Connection, county: str, period: str) -> object:
        read = reading(db, county, period)
        other = plain(store)
        other.execute("UPDATE volunteer SET talent_tags = 'expert' WHERE rowid = 9")
        other.close()
        return read

    monkeypatch.setattr(figures_module, "read_slow_figures", with_a_write_meanwhile)
    with plain(store) as db:
        assert plain_slow_figures(db, COUNTY, PERIOD)[1] is None  # not to be kept
    monkeypatch.undo()
    first = read_first_figures(store, TODAY)
    assert first is not None
    first[2].result()


def test_unreadable_kept_figures_are_read_afresh(store: Store) -> None:
    kept_then_used(store)
    with plain(store) as db:
        db.execute("UPDATE dashboard_cache SET figures = '[1, 2'")
        slow, _key = plain_slow_figures(db, COUNTY, PERIOD)
    assert slow == fresh(store)


def test_keeping_does_not_wait_for_another_writer(store: Store) -> None:
    """A sync or an import holding the write lock: the figures are not kept, and nobody waits for it."""
    with plain(store) as db, plain(store) as writer:
        slow, key = plain_slow_figures(db, COUNTY, PERIOD)
        assert key is not None
        writer.execute("BEGIN IMMEDIATE")
        keep_figures(db, key, slow)  # gives up after a moment (busy_timeout 100 ms), without raising
        writer.execute("ROLLBACK")
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 10000  # the connection's own wait is back
        assert plain_slow_figures(db, COUNTY, PERIOD)[1] is not None  # nothing was kept


async def test_the_dashboards_refresh_keeps_what_it_read_for_the_next_start(store: Store) -> None:
    app = county_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        shown = app.screen.data  # type: ignore[attr-defined]
    assert not read_afresh(store)
    with plain(store) as db:
        assert plain_dashboard_data(db, COUNTY, PERIOD, plain_slow_figures(db, COUNTY, PERIOD)[0]) == shown


def test_the_quit_keeps_the_figures_of_what_the_clerk_changed_for_the_next_start(store: Store,
                                                                                 tmp_path: Path) -> None:
    """A clerk edits in a list and quits from there (the dashboard never read them): the quit keeps them."""
    from stvs_tui.county.start import keep_figures_for_next_start

    kept_then_used(store)
    with store.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE volunteer SET status = 'inactive' WHERE rowid = 11")
    assert read_afresh(store)
    keep_figures_for_next_start(store.path, COUNTY, TODAY)
    assert not read_afresh(store)
    with plain(store) as db:
        assert plain_slow_figures(db, COUNTY, PERIOD)[0] == fresh(store)
    keep_figures_for_next_start(tmp_path / "gone" / "stvs.sqlite", COUNTY, TODAY)  # nothing to keep, no error
    (tmp_path / "junk.sqlite").write_bytes(b"not a store")
    keep_figures_for_next_start(tmp_path / "junk.sqlite", COUNTY, TODAY)


def test_stvs_tui_sync_keeps_the_figures_of_what_it_brought_for_the_next_start(tmp_path: Path) -> None:
    """``stvs-tui sync`` (the real server on a port): its pushes and pulls move the fingerprint; the command keeps
    the figures after them, so the TUI's next start does not read them afresh."""
    from datetime import date

    from clerk import Clerk
    from sync_fixtures import server_sqlite_url, thread_server

    from schema.figures import period_of

    clerk = Clerk(tmp_path / "county").setup(volunteers=15)
    period = period_of(date.today())
    with plain_file(clerk.store_file) as db:
        before = read_fingerprint(db, COUNTY, period)
    with thread_server(server_sqlite_url(tmp_path / "city.sqlite")) as city:
        summary = clerk.sync(city.url, city.token(COUNTY))
    assert summary["pushed"] > 0
    with plain_file(clerk.store_file) as db:
        now = read_fingerprint(db, COUNTY, period)
        assert now != before  # the sync wrote (the answered changes left the log)
        assert db.execute("SELECT fingerprint FROM dashboard_cache").fetchone()[0] == now
        assert plain_slow_figures(db, COUNTY, period)[1] is None  # the next start is given them
