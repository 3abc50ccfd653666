"""Snapshots of the city admin TUI (queue, one item side by side, a duplicate person, reports, help) in Chinese
and English at 80×24 and 120×40.

Deterministic: a fixed "today" injected into the app, queue items with fixed ids, times and values written
into the real server's database, and no clock on screen. Update with
``pytest tests/test_city_snapshots.py --snapshot-update`` after checking the report.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from city_server import CityServer, running_city_server
from sqlmodel import Session
from test_tui_fixtures import wait_until
from textual.pilot import Pilot
from textual.widgets import DataTable, TabbedContent

from schema.models import Team, Volunteer
from stvs_tui.city.api import CityAdminClient
from stvs_tui.city.app import CityApp
from stvs_tui.city.item import ConflictScreen
from stvs_tui.widgets.help import HelpModal
from sync.push import CONFLICT

TODAY = date(2024, 5, 1)
ITEMS = [
    ("410522", "volunteer", "field_conflict", {
        "mobile": {"base": "13800138000", "server": "13900000001", "incoming": "13900000002"},
        "work_unit": {"base": "", "server": "县医院", "incoming": "县一中"}}),
    ("410523", "team", "field_conflict", {"leader_name": {"base": "王芳", "server": "李明", "incoming": "赵磊"}}),
    ("410523", "volunteer", "duplicate_person", {
        "id": {"base": None, "server": "0190a000-0000-7000-8000-000000000001",
               "incoming": "0190a000-0000-7000-8000-000000000202"},
        "county_code": {"base": None, "server": "410522", "incoming": "410523"},
        "mobile": {"base": None, "server": "13800138000", "incoming": "13700137000"},
        "work_unit": {"base": None, "server": "安阳县医院", "incoming": "汤阴县第一中学"},
        "joined_on": {"base": None, "server": "2021-06-15", "incoming": "2024-03-01"},
        "publicity_consent": {"base": None, "server": True, "incoming": False}}),
]
SIZES = [(80, 24), (120, 40)]
# The pair's key as detection writes it: the server finds the item already open and opens no other.
DUPLICATE = "dup:0190a000-0000-7000-8000-000000000001:0190a000-0000-7000-8000-000000000202"


@pytest.fixture
def city(tmp_path) -> Iterator[CityServer]:
    with running_city_server(tmp_path) as server:
        with server.db.engine.begin() as connection:
            connection.execute(sa.insert(CONFLICT), [{
                "id": f"0190a000-0000-7000-8000-0000000001{n:02d}", "county_code": county, "tbl": table,
                "row_id": f"0190a000-0000-7000-8000-0000000002{n:02d}", "kind": kind, "change_id": DUPLICATE if kind == "duplicate_person" else f"c{n}",
                "node_id": "node-a", "base_version": 1, "server_version": 2,
                "fields": json.dumps(fields, ensure_ascii=False), "status": "open",
                "created_at": datetime(2024, 4, 28, 9, 30 + n), "resolved_at": None, "resolved_by": "",
                "resolution": "", "reason": "", "resolved_version": 0} for n, (county, table, kind, fields)
                in enumerate(ITEMS)])
        with Session(server.db.engine) as session:  # the records the items are about: named, not UUIDs
            session.add_all([
                Volunteer(id="0190a000-0000-7000-8000-000000000200", county_code="410522", name="张三",
                          id_number="410522198001010015", mobile="13900000001", version=2),
                Team(id="0190a000-0000-7000-8000-000000000201", county_code="410523", name="汤阴县科普志愿服务队",
                     leader_name="李明", version=2),
                # One person registered by 安阳县 in 2021 and again by 汤阴县 in 2024: the duplicate item.
                Volunteer(id="0190a000-0000-7000-8000-000000000001", county_code="410522", name="李娜",
                          id_number="410522199002020027", mobile="13800138000", work_unit="安阳县医院",
                          joined_on=date(2021, 6, 15), publicity_consent=True, version=1),
                Volunteer(id="0190a000-0000-7000-8000-000000000202", county_code="410523", name="李娜",
                          id_number="410522199002020027", mobile="13700137000", work_unit="汤阴县第一中学",
                          joined_on=date(2024, 3, 1), version=1)])
            session.commit()
        yield server


def queue_loaded(app: CityApp) -> bool:
    tables = app.query("#queue-table").results(DataTable)  # none until the tabs have mounted
    return any(table.row_count == len(ITEMS) for table in tables)


async def show_queue(pilot: Pilot[None]) -> None:
    await wait_until(pilot, lambda: queue_loaded(pilot.app))


async def show_item(pilot: Pilot[None]) -> None:
    await show_queue(pilot)
    pilot.app.query_one("#queue-table", DataTable).focus()
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConflictScreen))


async def show_duplicate(pilot: Pilot[None]) -> None:
    await show_queue(pilot)
    table = pilot.app.query_one("#queue-table", DataTable)
    table.focus()
    table.move_cursor(row=2)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConflictScreen)
                     and pilot.app.screen.duplicate)


async def show_help(pilot: Pilot[None]) -> None:
    await show_queue(pilot)
    await pilot.press("f1")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, HelpModal))


async def show_reports(pilot: Pilot[None]) -> None:
    await show_queue(pilot)
    pilot.app.query_one(TabbedContent).active = "reports"
    await wait_until(pilot, lambda: pilot.app.query_one("#report-table", DataTable).row_count == 11)
    pilot.app.query_one("#report-table", DataTable).focus()
    await pilot.pause()


SCREENS: dict[str, Callable[[Pilot[None]], Awaitable[None]]] = {
    "queue": show_queue, "item": show_item, "duplicate": show_duplicate, "reports": show_reports, "help": show_help,
}


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_city_screen_snapshot(snap_compare, city: CityServer, screen: str, lang: str,  # type: ignore[no-untyped-def]
                              size: tuple[int, int]) -> None:
    with CityAdminClient(city.url, city.admin_token) as client:
        assert snap_compare(CityApp(client, lang, today=TODAY), terminal_size=size, run_before=SCREENS[screen])
