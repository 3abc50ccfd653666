"""Typed input is never dropped without asking: Ctrl+Q, Esc and switching area ask first (否 under the
cursor) when a form or the monthly report has unsaved input, and ask nothing when it has none. Also: a
form keeps working when the terminal is resized under it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_tui_fixtures import county_app, make_store, open_volunteer_list, settle, type_text, wait_until
from textual.widgets import Button, Input, TextArea

from schema.store import Store
from stvs_tui.county.screens.report import MonthlyReportScreen
from stvs_tui.county.screens.volunteers import VolunteersScreen
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.form import FormModal


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=30)
    yield store
    store.close()


async def open_new_volunteer_form(pilot, app) -> FormModal:  # type: ignore[no-untyped-def]
    await open_volunteer_list(pilot)
    await pilot.press("ctrl+n")
    await wait_until(pilot, lambda: isinstance(app.screen, FormModal))
    await settle(pilot)
    return app.screen


async def test_ctrl_q_on_a_half_filled_form_asks_with_no_preselected(store: Store) -> None:
    app = county_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        form = await open_new_volunteer_form(pilot, app)
        await type_text(pilot, "韩刚小")
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        assert app.screen.focused is app.screen.query_one("#no", Button)
        await pilot.press("enter")  # 否: stay, nothing lost
        await wait_until(pilot, lambda: app.screen is form)
        assert form.query_one("#f-name", Input).value == "韩刚小"
        assert app.return_code is None
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("left", "enter")  # 是: quit
        await wait_until(pilot, lambda: app.return_code is not None)


async def test_ctrl_q_on_an_untouched_form_quits_at_once(store: Store) -> None:
    app = county_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_new_volunteer_form(pilot, app)
        await type_text(pilot, "王")
        await pilot.press("backspace")  # typed and taken back: no change
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: app.return_code is not None)


async def test_esc_with_typed_input_asks_and_area_keys_leave_the_form_alone(store: Store) -> None:
    """Area keys do not reach past a modal form (Textual stops non-priority keys at a modal): the form and its
    input stay; Esc asks before dropping the input."""
    app = county_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        form = await open_new_volunteer_form(pilot, app)
        await type_text(pilot, "李")
        await pilot.press("f4")
        await settle(pilot)
        assert app.screen is form and form.query_one("#f-name", Input).value == "李"
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("enter")  # 否
        await wait_until(pilot, lambda: app.screen is form)
        assert form.query_one("#f-name", Input).value == "李"
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("left", "enter")  # 是
        await wait_until(pilot, lambda: isinstance(app.screen, VolunteersScreen))


async def test_untouched_form_closes_on_esc_without_a_question(store: Store) -> None:
    app = county_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_new_volunteer_form(pilot, app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, VolunteersScreen))
        assert not any(isinstance(screen, (FormModal, ConfirmModal)) for screen in app.screen_stack)


async def test_typed_report_highlights_ask_before_switching_area(store: Store) -> None:
    app = county_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, MonthlyReportScreen) and app.screen.state is not None)
        app.screen.query_one("#report-highlights", TextArea).focus()
        await type_text(pilot, "科普")
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, MonthlyReportScreen))
        assert app.screen.query_one("#report-highlights", TextArea).text == "科普"
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("left", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, VolunteersScreen))


async def test_form_keeps_working_after_a_resize_under_it(store: Store) -> None:
    """Resize to 80×24 with the list open, open the form, resize again: typing, Tab and Esc still act."""
    app = county_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.resize_terminal(80, 24)
        form = await open_new_volunteer_form(pilot, app)
        await type_text(pilot, "赵")
        await pilot.resize_terminal(100, 30)
        await settle(pilot)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        await type_text(pilot, "敏")
        assert form.query_one("#f-name", Input).value == "赵敏"
        await pilot.press("tab")
        assert app.focused is not form.query_one("#f-name", Input)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("left", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, VolunteersScreen))
        assert app.screen.table.row_count > 0


async def test_quitting_while_the_volunteer_form_is_built_ahead_ends_cleanly(store: Store) -> None:
    """The list builds the new-volunteer form ahead once its rows are up; a clerk who quits at that moment
    closes the app while the form's fields are still being mounted: the app ends without a traceback (the
    form's mount found no field to focus and raised, which ``run_test`` re-raises here)."""
    from stvs_tui.county.screens.volunteers import volunteer_form

    app = county_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_volunteer_list(pilot)
        await settle(pilot)
        app.drop_kept_screens("volunteer-form")
        app.prepare_screen(volunteer_form(app, None))
        app.exit()
