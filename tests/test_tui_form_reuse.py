"""The volunteer form is built once and reset for each open (issue 12, "a form opens in ≤ 150 ms"): whatever a
previous open held (typed input, another record, error lines, the scroll, the focus) never shows in the next
one, which looks and acts as a form built anew."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select
from test_tui_fixtures import (
    TODAY,
    county_app,
    make_store,
    open_volunteer_edit_form,
    open_volunteer_list,
    settle,
    type_text,
    wait_until,
)
from textual.widgets import Checkbox, Input, Label, SelectionList, TextArea

from schema.enums import IdType, RegistrationStatus, VolunteerStatus
from schema.models import Volunteer
from schema.store import Store
from stvs_tui.county.screens.volunteers import VolunteerScreen, VolunteersScreen
from stvs_tui.i18n import t
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.form import FormModal

# What a new volunteer's form holds when built anew: the defaults, every other field empty.
NEW_FORM = {
    "name": "", "id_type": IdType.RESIDENT.value, "id_number": "", "mobile": "", "phone2": "", "work_unit": "",
    "title": "", "expertise": "", "talent_tags": "", "availability": "", "publicity_consent": False,
    "stvs_status": RegistrationStatus.UNREGISTERED.value, "stvs_registered_on": "",
    "status": VolunteerStatus.ACTIVE.value, "joined_on": TODAY.isoformat(), "notes": "",
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=30)
    yield store
    store.close()


async def open_new_form(pilot, app) -> FormModal:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+n")
    await wait_until(pilot, lambda: isinstance(app.screen, FormModal))
    await settle(pilot)
    return app.screen


def errors_shown(form: FormModal) -> list[str]:
    return [str(label.render()).strip() for label in form.query(".field-error").results(Label)
            if str(label.render()).strip()]


async def test_a_new_form_after_a_discarded_one_holds_nothing_of_it(store: Store) -> None:
    app = county_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_volunteer_list(pilot)
        form = await open_new_form(pilot, app)
        assert form.raw_values() == NEW_FORM
        assert app.focused is form.query_one("#f-name", Input)
        await type_text(pilot, "韩刚小")
        form.query_one("#f-mobile", Input).value = "1390000"  # not a mobile: its error line shows
        form.query_one("#f-talent_tags", SelectionList).select("expert")
        form.query_one("#f-publicity_consent", Checkbox).value = True
        form.query_one("#f-notes", TextArea).load_text("备注")
        await pilot.press("ctrl+s")  # refused: every error shows, the form scrolls to the first bad field
        await settle(pilot)
        assert app.screen is form and errors_shown(form)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("left", "enter")  # 是: drop the input
        await wait_until(pilot, lambda: isinstance(app.screen, VolunteersScreen))

        again = await open_new_form(pilot, app)
        assert again is form  # the same form, reset
        assert again.form_title == t("form.new_volunteer")
        assert again.raw_values() == NEW_FORM
        assert errors_shown(again) == []
        assert not again.has_unsaved_input()
        assert again.query_one(".form-fields").scroll_y == 0
        assert app.focused is again.query_one("#f-name", Input)
        await pilot.press("escape")  # nothing typed: closes without a question
        await wait_until(pilot, lambda: isinstance(app.screen, VolunteersScreen))


async def test_a_new_form_after_editing_a_volunteer_shows_none_of_that_record(store: Store) -> None:
    with store.session() as session:
        someone = session.exec(select(Volunteer).where(Volunteer.talent_tags != "").limit(1)).one()
    app = county_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_volunteer_list(pilot)
        await open_volunteer_edit_form(pilot, someone.id)
        edit = app.screen
        assert edit.form_title == t("form.edit_volunteer")
        assert edit.raw_values()["name"] == someone.name
        assert edit.raw_values()["talent_tags"] == someone.talent_tags
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, VolunteerScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, VolunteersScreen))
        await settle(pilot)

        new = await open_new_form(pilot, app)
        assert new.form_title == t("form.new_volunteer")
        assert new.raw_values() == NEW_FORM
        # A resident ID number already on file is refused in the new form as in one built anew.
        new.query_one("#f-name", Input).value = "欧阳娜"
        new.query_one("#f-mobile", Input).value = "13900001111"
        new.query_one("#f-id_number", Input).value = someone.id_number
        await settle(pilot)
        assert t("vol.duplicate_id") in errors_shown(new)
