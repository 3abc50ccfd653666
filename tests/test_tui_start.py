"""``stvs-tui`` shows its first screen before the store is opened with SQLAlchemy (issue 12, "Start fast").

``schema.storefile.plain_open`` checks a store with sqlite3 alone and hands back what the first screen needs, or
None whenever ``open_store`` has something to do (make, migrate, make keys) or to say; the app then opens the store
in a thread after the first screen shows (``stvs_tui.county.opening``), and keys typed meanwhile wait for it, in
order (tests/test_layering.py holds that nothing of SQLAlchemy is imported before; tests/test_cli_paths.py the
one-line errors through the command line).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sqlite3
import threading
from collections.abc import AsyncIterator
from concurrent.futures import Future
from pathlib import Path

import pytest
from test_tui_fixtures import COUNTY, TODAY, make_store, screen_text, settle
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

from schema.errors import StoreCorrupt, StoreError, StoreTooNew
from schema.store import open_store
from schema.storefile import PlainStore, plain_open
from stvs_tui.county.app import CountyApp
from stvs_tui.county.opening import StoreOpening
from stvs_tui.county.screens.dashboard import DashboardScreen
from stvs_tui.county.start import read_first_figures
from stvs_tui.widgets.form import FormModal


def ready_store(path: Path, volunteers: int = 40) -> Path:
    make_store(path, volunteers=volunteers).close()
    return path


def sql(path: Path, statement: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute(statement)
    db.close()


def test_a_ready_store_is_read_with_sqlite3_alone(tmp_path: Path) -> None:
    path = ready_store(tmp_path / "stvs.sqlite")
    plain = plain_open(path)
    assert isinstance(plain, PlainStore)
    assert (plain.county_code, plain.setting("clerk"), plain.county_name) == (COUNTY, "王芳", "安阳县")
    store = open_store(path, daily_backup=False)
    try:
        assert plain.setting("node_id") == store.node_id
    finally:
        store.close()


@pytest.mark.parametrize("change", [
    "UPDATE alembic_version SET version_num = '0001'",  # to migrate
    "UPDATE setting SET value = '' WHERE key = 'county_code'",  # the first-run setup
    "DELETE FROM setting WHERE key = 'node_public_key'",  # a store from before node keys
    "DELETE FROM region",  # the region list to load
    "PRAGMA journal_mode = DELETE",  # not made by open_store (it sets WAL)
])
def test_a_store_with_something_to_do_is_left_to_open_store(tmp_path: Path, change: str) -> None:
    path = ready_store(tmp_path / "stvs.sqlite", volunteers=0)
    assert plain_open(path) is not None
    sql(path, change)
    before = path.read_bytes()
    assert plain_open(path) is None
    assert path.read_bytes() == before  # it only read


def test_a_missing_store_is_left_to_open_store_which_makes_it(tmp_path: Path) -> None:
    assert plain_open(tmp_path / "data" / "stvs.sqlite") is None
    assert not (tmp_path / "data").exists()


def test_a_store_from_a_newer_stvs_tui_is_refused_by_open_store_as_before(tmp_path: Path) -> None:
    path = ready_store(tmp_path / "stvs.sqlite", volunteers=0)
    sql(path, "UPDATE alembic_version SET version_num = '9999'")
    assert plain_open(path) is None
    with pytest.raises(StoreTooNew):
        open_store(path)


def both_errors(path: Path) -> tuple[StoreError, StoreError]:
    with pytest.raises(StoreError) as plain:
        plain_open(path)
    with pytest.raises(StoreError) as full:
        open_store(path)
    return plain.value, full.value


def test_a_file_that_is_not_a_store_gets_open_stores_own_error(tmp_path: Path) -> None:
    path = tmp_path / "stvs.sqlite"
    path.write_bytes(b"PK\x03\x04 a workbook, not a store" * 20)
    plain, full = both_errors(path)
    assert isinstance(plain, StoreCorrupt) and str(plain) == str(full)


def test_a_folder_in_place_of_the_store_is_left_to_open_store_which_names_it(tmp_path: Path) -> None:
    (tmp_path / "stvs.sqlite").mkdir()
    assert plain_open(tmp_path / "stvs.sqlite") is None
    with pytest.raises(StoreError, match="a folder, not a file"):
        open_store(tmp_path / "stvs.sqlite")


def test_a_damaged_store_is_left_to_open_store_which_says_so(tmp_path: Path) -> None:
    path = ready_store(tmp_path / "stvs.sqlite", volunteers=0)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    path.write_bytes(bytes(data))
    assert plain_open(path) is None
    with pytest.raises(StoreCorrupt, match="damaged"):
        open_store(path)


# -- the app on a store that opens after its first screen ---------------------------------------------------

def opening_app(path: Path, gate: threading.Event) -> tuple[CountyApp, StoreOpening]:
    """The app as ``stvs-tui`` makes it on a ready store, whose opening waits for ``gate``."""
    plain = plain_open(path)
    assert plain is not None

    def open_it():  # type: ignore[no-untyped-def]
        gate.wait()
        return open_store(path, daily_backup=False)

    opening = StoreOpening(plain, open_it)
    app = CountyApp(opening, lang="zh", today=TODAY)
    app.first_figures = read_first_figures(plain, TODAY)
    return app, opening


async def test_the_first_screen_shows_before_the_store_opens_and_keys_typed_meanwhile_wait_for_it(
        tmp_path: Path) -> None:
    path = ready_store(tmp_path / "stvs.sqlite")
    gate = threading.Event()
    app, opening = opening_app(path, gate)
    # Were the screen to wait for the store itself (blocked, keys lost), it would not wait forever here.
    threading.Thread(target=lambda: (opening.waited.wait(), gate.set()), daemon=True).start()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, DashboardScreen)
            assert "志愿者：40 人" in screen_text(app) and "王芳" in screen_text(app)
            assert not opening.ready  # the first screen came from sqlite3 alone
            # F3 (volunteers), "/" (its filter), then a name: typed at once, before the store is open.
            for key, char in (("f3", None), ("slash", "/"), ("王", "王"), ("芳", "芳")):
                app.post_message(events.Key(key, char))
            await settle(pilot)
            assert len(app.held_input) == 4 and isinstance(app.screen, DashboardScreen)
            assert not opening.waited.is_set()  # nothing blocked on it
            gate.set()
            while not app.store_ready or app.held_input:
                await pilot.pause()
            await settle(pilot)
            assert type(app.screen).__name__ == "VolunteersScreen"
            assert app.screen.query_one("#filter", Input).value == "王芳"
            assert app.store.path == path
    finally:
        gate.set()
        opening.waited.set()
        opening.close()


async def test_keys_wait_for_the_store_even_before_the_first_screen_asked_for_it(tmp_path: Path) -> None:
    """A key that comes before the first screen has shown starts the opening itself, and waits for it."""
    path = ready_store(tmp_path / "stvs.sqlite")
    gate = threading.Event()
    gate.set()
    app, opening = opening_app(path, gate)
    app.first_figures = None  # read by the dashboard itself, in a worker that waits for the store
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            app.post_message(events.Key("f4", None))
            while not app.store_ready or app.held_input:
                await pilot.pause()
            await settle(pilot)
            assert type(app.screen).__name__ == "TeamsScreen"
    finally:
        opening.close()


async def test_a_store_that_fails_to_open_stops_the_app_with_the_reason(tmp_path: Path) -> None:
    path = ready_store(tmp_path / "stvs.sqlite")
    plain = plain_open(path)
    assert plain is not None

    def fail():  # type: ignore[no-untyped-def]
        raise StoreCorrupt(f"{path} 无法读取，文件可能已损坏 (cannot be read, the file may be damaged): test")

    app = CountyApp(StoreOpening(plain, fail), lang="zh", today=TODAY)
    app.first_figures = read_first_figures(plain, TODAY)
    async with app.run_test(size=(120, 40)) as pilot:
        while app.is_running and app.store_error is None:
            await pilot.pause()
    assert isinstance(app.store_error, StoreCorrupt) and app.return_code == 1


@pytest.mark.parametrize("keys", [
    (("f3", None), ("slash", "/"), ("王", "王"), ("芳", "芳")),  # the volunteers' filter, typed as the list opens
    (("f4", None), ("ctrl+n", None), ("青", "青"), ("年", "年")),  # a new team's name, typed as its form opens
])
async def test_keys_typed_at_once_on_an_open_store_reach_the_screen_they_opened(tmp_path: Path,
                                                                               keys: tuple[tuple[str, str | None], ...]) -> None:
    """A clerk who knows the keys types ahead: a key that opens a screen should leave the next ones to that
    screen, however soon they come."""
    async with app_on_an_open_store(tmp_path) as (app, pilot):
        assert app.store_ready and isinstance(app.screen, DashboardScreen)
        await typed_at_once(pilot, app, *keys)
        typed = "".join(char for _key, char in keys[2:])
        assert isinstance(app.focused, Input) and app.focused.value == typed, (app.screen, app.focused)


@contextlib.asynccontextmanager
async def app_on_an_open_store(tmp_path: Path) -> AsyncIterator[tuple[CountyApp, Pilot[None]]]:
    """The county app on a ready store opened beforehand (as the tests and ``county_app_for`` with a store do),
    running at 120×40 with its first screen settled."""
    store = open_store(ready_store(tmp_path / "stvs.sqlite"), daily_backup=False)
    app = CountyApp(store, lang="zh", today=TODAY)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            yield app, pilot
    finally:
        store.close()


async def typed_at_once(pilot, app: CountyApp, *keys: tuple[str, str | None]) -> None:  # type: ignore[no-untyped-def]
    """Post ``keys`` to the app in one burst, as a terminal hands on what a clerk typed ahead, and wait until
    every one has been handed on and handled."""
    for key, char in keys:
        app.post_message(events.Key(key, char))
    await settle(pilot)
    while app.held_input:
        await pilot.pause()
    await settle(pilot)


@pytest.mark.parametrize("answer, quits", [
    ((("enter", None),), False),  # Enter on the answer under the cursor: 否, back to the form
    ((("left", None), ("enter", None)), True),  # ← to 是, Enter: the input is dropped and the app quits
])
async def test_a_question_and_its_answer_typed_at_once_reach_the_question(
        tmp_path: Path, answer: tuple[tuple[str, str | None], ...], quits: bool) -> None:
    """Ctrl+Q on a form holding typed input asks first; a clerk who knows the question types its answer at once,
    and it answers the question (not the form's field under it)."""
    async with app_on_an_open_store(tmp_path) as (app, pilot):
        await typed_at_once(pilot, app, ("f4", None), ("ctrl+n", None), ("青", "青"), ("年", "年"))
        form = app.screen
        assert isinstance(form, FormModal) and form.has_unsaved_input()
        assert isinstance(app.focused, Input) and app.focused.value == "青年"
        taken = asyncio.Event()
        for key, char in (("ctrl+q", None), *answer):
            app.post_message(events.Key(key, char))
        app.call_later(taken.set)
        await taken.wait()  # the app has taken them all: each handed on, or held behind the one in flight
        while app.is_running and (app.held_input or app._replaying):
            await asyncio.sleep(0.01)
        assert (app.return_code is not None) == quits and not app.held_input
        if not quits:
            await settle(pilot)
            assert app.screen is form and app.focused is form.query_one("#f-name", Input)
            assert app.focused.value == "青年"


async def test_enter_typed_in_the_filter_before_its_rows_opens_the_first_match_once_they_come(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``/``, a name and Enter in one burst: Enter opens the first row of the list filtered by that name, even
    when the filtered rows are still being read as Enter comes (here held until after it); never a row of the
    list before the filter, and not nothing."""
    from stvs_tui.county.screens.volunteers import VolunteerScreen, VolunteersScreen

    gate, asked = threading.Event(), threading.Event()
    plain_fetch = VolunteersScreen.fetch_page

    def held_fetch(self, session, state, *args, **kwargs):  # type: ignore[no-untyped-def]
        if state.narrows:  # the filtered read waits: the clerk's Enter comes before its rows
            asked.set()
            assert gate.wait(30)
        return plain_fetch(self, session, state, *args, **kwargs)

    monkeypatch.setattr(VolunteersScreen, "fetch_page", held_fetch)
    async with app_on_an_open_store(tmp_path) as (app, pilot):
        await typed_at_once(pilot, app, ("f3", None))
        listing = app.screen
        assert isinstance(listing, VolunteersScreen) and listing.table.row_count > 1
        first_unfiltered = listing.table.current_key
        with app.store.session() as session:
            name, wanted = session.connection().exec_driver_sql(
                "SELECT name, id FROM volunteer WHERE id != ? ORDER BY rowid LIMIT 1", (first_unfiltered,)).one()
        for key, char in (("slash", "/"), *((c, c) for c in name), ("enter", None)):
            app.post_message(events.Key(key, char))
        # Enter has come (it hands the focus to the list) while the filtered rows have not.
        while not asked.is_set() or app.held_input or app.focused is not listing.table:
            await pilot.pause()
        assert app.screen is listing and listing.table.awaiting_first
        assert listing.filter_text == name
        gate.set()
        while listing.table.awaiting_first:
            await pilot.pause()
        await settle(pilot)
        assert isinstance(app.screen, VolunteerScreen) and app.screen.volunteer_id == wanted


@pytest.mark.parametrize("figures_ready", [True, False])
async def test_the_store_opens_once_the_first_screen_shows_its_figures_without_a_key(tmp_path: Path,
                                                                                   figures_ready: bool) -> None:
    """Whether the figures read at start were ready as the dashboard mounted (shown at once) or came later (shown
    by a worker), the store starts opening once they are on the screen, and the heap settles: no key needed."""
    path = ready_store(tmp_path / "stvs.sqlite")
    gate = threading.Event()
    gate.set()
    app, opening = opening_app(path, gate)
    assert app.first_figures is not None
    county, period, future = app.first_figures
    future.result()  # read now
    if not figures_ready:
        later: Future[object] = Future()
        app.first_figures = (county, period, later)
    app.heap_settled = False  # as stvs-tui's own app (county_app_for)
    gc.disable()  # as stvs-tui starts (run_county_app): the collector runs again once the heap has settled
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            if not figures_ready:
                await pilot.pause()
                later.set_result(future.result())
            for _ in range(2000):  # (a bound, so that a store never opened fails here instead of hanging)
                if app.store_ready and app.heap_settled:
                    break
                await pilot.pause()
            assert app.first_data_shown and app.store_ready and app.heap_settled and gc.isenabled()
    finally:
        opening.close()
        gc.unfreeze()
        gc.enable()
