"""Pilot tests of the city admin TUI against a real server (uvicorn on 127.0.0.1) with real conflicts."""

from __future__ import annotations

from collections.abc import Iterator
import time
from datetime import date

import pytest
from city_server import CityServer, running_city_server
from test_city_queue import make_conflict, queue, row
from textual.widgets import DataTable, Input, Label

from stvs_tui.city.api import CityAdminClient
from stvs_tui.city.app import CityApp
from stvs_tui.city.item import ConflictScreen, ReasonModal
from stvs_tui.widgets.confirm import ConfirmModal


@pytest.fixture
def city(tmp_path) -> Iterator[CityServer]:
    with running_city_server(tmp_path) as server:
        yield server


async def settle(pilot, app: CityApp) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def wait_until(pilot, app: CityApp, condition, timeout: float = 20.0) -> None:
    """Let workers run until ``condition()`` holds: on a loaded machine they may start late."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the screen did not reach the expected state in time"
        await settle(pilot, app)
        await pilot.pause(0.05)


async def test_decide_per_field_with_typed_value_and_reason(city) -> None:
    row_id = make_conflict(city)
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "zh", today=date(2024, 5, 1))
        async with app.run_test(size=(140, 40)) as pilot:
            await wait_until(pilot, app, lambda: app.query_one("#queue-table", DataTable).row_count == 1)
            app.query_one("#queue-table", DataTable).focus()
            await pilot.press("enter")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ConflictScreen)
            fields = screen.query_one("#fields", DataTable)
            assert [str(v) for v in fields.get_row("mobile")[1:4]] == ["13800138000", "13900000001", "13900000002"]
            fields.move_cursor(row=fields.get_row_index("mobile"))
            await pilot.press("space")  # city → county
            fields.move_cursor(row=fields.get_row_index("work_unit"))
            screen.query_one("#value", Input).focus()
            await pilot.press(*"安阳县人民医院", "enter")
            await pilot.press("ctrl+s")  # no reason yet: refused, stays open
            await pilot.pause()
            assert isinstance(app.screen, ConflictScreen)
            assert "理由" in str(screen.query_one("#item-error", Label).content)
            screen.query_one("#reason", Input).value = "电话核实"
            await pilot.press("ctrl+s")
            await wait_until(pilot, app, lambda: not isinstance(app.screen, ConflictScreen))
    stored = row(city, "volunteer", row_id)
    assert (stored["mobile"], stored["work_unit"]) == ("13900000002", "安阳县人民医院")
    assert queue(city, status="resolved")["items"][0]["reason"] == "电话核实"


async def test_bulk_take_county_on_a_selection_asks_reason_and_confirmation(city) -> None:
    first, second = make_conflict(city, 1), make_conflict(city, 2)
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "en", today=date(2024, 5, 1))
        async with app.run_test(size=(140, 40)) as pilot:
            table = app.query_one("#queue-table", DataTable)
            await wait_until(pilot, app, lambda: table.row_count == 2)
            table.focus()
            await pilot.press("space", "down", "space", "ctrl+k")
            await pilot.pause()
            assert isinstance(app.screen, ReasonModal)
            app.screen.query_one("#reason", Input).value = "county checked"
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmModal)
            await pilot.press("enter")  # the default answer is No: nothing happens
            await pilot.pause()
            assert queue(city)["total"] == 2
            await pilot.press("ctrl+k")
            await pilot.pause()
            app.screen.query_one("#reason", Input).value = "county checked"
            await pilot.press("enter")
            await pilot.pause()
            await pilot.press("left", "enter")  # move to 是 / Yes
            await wait_until(pilot, app, lambda: queue(city)["total"] == 0)
    assert queue(city)["total"] == 0
    assert row(city, "volunteer", first)["work_unit"] == row(city, "volunteer", second)["work_unit"] == "县一中"


async def test_reports_tab_shows_the_grid_and_exports(city, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "zh", today=date(2024, 5, 1))
        async with app.run_test(size=(140, 40)) as pilot:
            table = app.query_one("#report-table", DataTable)
            await wait_until(pilot, app, lambda: table.row_count == 11)  # ten units and the completeness row
            # On 1 May 2024 the months to March are past their lock day (15 days), April is still due.
            assert table.get_row("410522")[1:6] == ["未报（已锁定）"] * 4 + ["待报"]
            app.query_one("TabbedContent").active = "reports"
            await pilot.press("ctrl+e")
            await wait_until(pilot, app, lambda: (tmp_path / "city-reports-2023-12-2024-04.xlsx").exists())
    assert (tmp_path / "city-reports-2023-12-2024-04.xlsx").exists()
