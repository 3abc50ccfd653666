"""The county store edited by hand in the ``sqlite3`` shell (FIELD.md), as the TUI meets it afterwards.

Dates typed into the store that cannot be read back:

Before, a volunteer whose birth date was set to ``2026-13-45`` in the shell could not be opened (the detail said
``出错了：month must be in 1..12``, Ctrl+E did nothing), and one activity with ``2026-02-30 25:61`` as its start
emptied the whole activity list. Now the app finds such values once the first screen shows its data, and
whenever a read fails for one, and asks the clerk to correct each; the corrections are written (and logged for
the next sync) only once every one is a date.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_tui_fixtures import (
    county_app,
    make_store,
    open_volunteer_list,
    screen_text,
    settle,
    type_text,
    wait_until,
)
from textual.widgets import Input

from schema.errors import InvalidRecord, InvalidValue
from schema.store import Store
from schema.stored_values import corrected_value, repair_value, unreadable_values
from stvs_tui.county.screens.activities import ActivitiesScreen
from stvs_tui.county.screens.volunteers import VolunteerScreen, VolunteersScreen
from stvs_tui.widgets.repair import RepairModal


@pytest.fixture
def store(tmp_path: Path) -> Store:
    made = make_store(tmp_path / "stvs.sqlite", volunteers=30)
    yield made
    made.close()


def shell(store: Store, statement: str, *params: object) -> None:
    """A statement typed at the ``sqlite3`` prompt, on the store's file."""
    assert store.path is not None
    with sqlite3.connect(store.path) as connection:
        connection.execute(statement, params)
    connection.close()


def query(store: Store, statement: str, *params: object) -> list[tuple[object, ...]]:
    assert store.path is not None
    with sqlite3.connect(store.path) as connection:
        rows = connection.execute(statement, params).fetchall()
    connection.close()
    return rows


def first(store: Store, sql: str) -> tuple[object, ...]:
    return query(store, sql)[0]


def test_the_scan_finds_exactly_the_values_that_cannot_be_read(store: Store) -> None:
    volunteers = [row[0] for row in query(store, "SELECT id FROM volunteer ORDER BY id LIMIT 5")]
    activity = first(store, "SELECT id FROM activity ORDER BY id")[0]
    shell(store, "UPDATE volunteer SET birth_date = '2026-13-45' WHERE id = ?", volunteers[0])
    shell(store, "UPDATE volunteer SET birth_date = '2026-02-30' WHERE id = ?", volunteers[1])
    shell(store, "UPDATE volunteer SET joined_on = 20260105 WHERE id = ?", volunteers[2])  # typed without quotes
    shell(store, "UPDATE volunteer SET birth_date = NULL WHERE id = ?", volunteers[3])  # empty is allowed
    shell(store, "UPDATE volunteer SET birth_date = '1990-05-06' WHERE id = ?", volunteers[4])  # a good one
    shell(store, "UPDATE activity SET starts_at = '2026-02-28 25:61:00.000000' WHERE id = ?", activity)
    with store.engine.connect() as connection:
        found = {(item.table, item.row_id, item.column): item.raw for item in unreadable_values(connection)}
    assert found == {("volunteer", volunteers[0], "birth_date"): "2026-13-45",
                     ("volunteer", volunteers[1], "birth_date"): "2026-02-30",
                     ("volunteer", volunteers[2], "joined_on"): 20260105,
                     ("activity", activity, "starts_at"): "2026-02-28 25:61:00.000000"}


def test_a_correction_is_checked_like_the_form_and_written_only_where_the_bad_value_still_is(store: Store) -> None:
    volunteer = first(store, "SELECT id FROM volunteer ORDER BY id")[0]
    activity = first(store, "SELECT id FROM activity ORDER BY id")[0]
    shell(store, "UPDATE volunteer SET birth_date = '2026-13-45' WHERE id = ?", volunteer)
    shell(store, "UPDATE activity SET starts_at = 'tomorrow' WHERE id = ?", activity)
    with store.engine.connect() as connection:
        birth, starts = sorted(unreadable_values(connection), key=lambda item: item.table, reverse=True)
    assert (birth.column, starts.column) == ("birth_date", "starts_at")
    with pytest.raises(InvalidValue, match="不是有效日期"):
        corrected_value(birth, "2026-02-30")
    assert corrected_value(birth, "") is None  # a birth date may be left empty
    with pytest.raises(InvalidValue, match="不是有效时间"):
        corrected_value(starts, "")  # an activity must have its start
    # The row changed since it was found (the clerk typed another value in the shell meanwhile): nothing written.
    shell(store, "UPDATE volunteer SET birth_date = '2026-14-01' WHERE id = ?", volunteer)
    with store.engine.begin() as connection, pytest.raises(InvalidRecord, match="已被改动"):
        repair_value(connection, birth, corrected_value(birth, "1990-05-06"))
    assert first(store, f"SELECT birth_date FROM volunteer WHERE id = '{volunteer}'")[0] == "2026-14-01"
    with store.engine.begin() as connection:
        repair_value(connection, starts, corrected_value(starts, "2026-02-28 09:30"))
    assert first(store, f"SELECT starts_at FROM activity WHERE id = '{activity}'")[0] == "2026-02-28 09:30:00.000000"


async def test_the_clerk_corrects_dates_typed_in_the_shell_when_the_app_starts(store: Store) -> None:
    volunteer, name = first(store, "SELECT id, name FROM volunteer ORDER BY id")
    activity, title = first(store, "SELECT id, title FROM activity ORDER BY id")
    shell(store, "UPDATE volunteer SET birth_date = '2026-13-45' WHERE id = ?", volunteer)
    shell(store, "UPDATE activity SET starts_at = '2026-02-30 25:61:00.000000' WHERE id = ?", activity)
    logged = int(first(store, "SELECT COUNT(*) FROM change_log")[0])
    app = county_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, RepairModal))
        await settle(pilot)
        text = screen_text(app)
        assert "数据中有 2 处无效日期" in text
        assert f"志愿者「{name}」 · 出生日期：“2026-13-45”" in text
        assert f"活动「{title}」" in text and "“2026-02-30 25:61:00.000000”" in text
        # Still no date: refused, nothing written, the modal stays with the field's error.
        fields = list(app.screen.query(Input))
        fields[0].value = ""
        await type_text(pilot, "2026-02-30")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, RepairModal)
        assert "“2026-02-30”不是有效日期" in screen_text(app)
        assert first(store, "SELECT COUNT(*) FROM change_log")[0] == logged
        fields[0].value = ""
        fields[0].focus()
        await type_text(pilot, "1990-05-06")
        fields[1].value = ""
        fields[1].focus()
        await type_text(pilot, "2026-02-28 09:30")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, RepairModal))
        await settle(pilot)
        assert first(store, f"SELECT birth_date FROM volunteer WHERE id = '{volunteer}'")[0] == "1990-05-06"
        assert first(store, f"SELECT starts_at FROM activity WHERE id = '{activity}'")[0] == (
            "2026-02-28 09:30:00.000000")
        # Logged by the capture triggers like any write: the corrections go with the next sync.
        assert query(store, "SELECT tbl, row_id FROM change_log ORDER BY seq")[-2:] == [
            ("volunteer", volunteer), ("activity", activity)]
        with store.engine.connect() as connection:
            assert unreadable_values(connection) == []
        await open_volunteer_list(pilot)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, VolunteerScreen) and app.screen.detail is not None)
        assert "出错了" not in screen_text(app)


async def test_a_record_that_cannot_be_read_asks_for_the_correction_instead_of_failing(store: Store) -> None:
    """The value typed while the app runs (after its check at the start): opening the record asks, and Esc
    leaves the value as it was; the activity list, emptied by one bad start before, asks too."""
    app = county_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_volunteer_list(pilot)
        assert isinstance(app.screen, VolunteersScreen)
        volunteer = app.screen.table.current_key
        shell(store, "UPDATE volunteer SET birth_date = '2026-13-45' WHERE id = ?", volunteer)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RepairModal))
        assert "“2026-13-45”" in screen_text(app) and "出错了" not in screen_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, RepairModal))
        assert first(store, f"SELECT birth_date FROM volunteer WHERE id = '{volunteer}'")[0] == "2026-13-45"
        shell(store, "UPDATE volunteer SET birth_date = NULL WHERE id = ?", volunteer)
        activity = first(store, "SELECT id FROM activity ORDER BY id")[0]
        shell(store, "UPDATE activity SET starts_at = '2026-02-30 10:00:00.000000' WHERE id = ?", activity)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, RepairModal))
        await settle(pilot)  # its fields mounted and the first focused, before the value is put in
        fields = list(app.screen.query(Input))
        assert len(fields) == 1
        fields[0].value = "2026-02-28 10:00"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ActivitiesScreen))
        await settle(pilot)
        assert app.screen.table.row_count > 0  # the list loaded again, with every activity
    with store.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT COUNT(*) FROM activity WHERE starts_at LIKE '2026-02-28 10:00%'")
                                  ).scalar() == 1


async def test_an_activity_whose_team_was_deleted_in_the_shell_is_still_listed(store: Store) -> None:
    """The shell does not check foreign keys: a team deleted there left its activities out of the list (which
    still counted them, 共 N 条 over fewer rows); they are listed with no team, and open."""
    team, activities = first(store, "SELECT team_id, COUNT(*) FROM activity GROUP BY team_id ORDER BY 2 DESC")
    total = int(first(store, "SELECT COUNT(*) FROM activity")[0])
    shell(store, "DELETE FROM membership WHERE team_id = ?", team)
    shell(store, "DELETE FROM team WHERE id = ?", team)
    app = county_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, ActivitiesScreen))
        await settle(pilot)
        assert app.screen.table.row_count == total and activities > 0
        assert f"共 {total} 条" in screen_text(app)
