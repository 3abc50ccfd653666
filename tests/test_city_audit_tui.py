"""Pilot tests of the city TUI's audit trail (resolved tab), search, counties at a glance, the senders of
uploads, and the conflict log export, against a real server (uvicorn on 127.0.0.1) with real conflicts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from city_server import CityServer, running_city_server
from openpyxl import load_workbook
from test_city_queue import ANYANG, make_conflict, new_volunteer, queue, resident_id
from test_tui_fixtures import wait_until
from textual.widgets import DataTable, Input, Label, Select, TabbedContent

from schema.models import new_id
from stvs_tui.city.api import CityAdminClient
from stvs_tui.city.app import CityApp
from stvs_tui.city.item import ExportModal
from stvs_tui.widgets.help import HelpModal
from stvs_tui.widgets.palette import ActionsProvider
from sync.admin_protocol import ADMIN_PREFIX
from sync.push import CONFLICT

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-"


@pytest.fixture
def city(tmp_path) -> Iterator[CityServer]:
    with running_city_server(tmp_path) as server:
        yield server


def resolve(server: CityServer, reason: str, when: datetime) -> str:
    item = queue(server)["items"][0]
    with server.client() as client:
        response = client.post(f"{ADMIN_PREFIX}/queue/{item['id']}/decide", json={
            "decisions": {"mobile": {"take": "county"}, "work_unit": {"take": "value", "value": "安阳县人民医院"}},
            "reason": reason})
    assert response.status_code == 200, response.text
    with server.db.engine.begin() as connection:
        connection.execute(sa.update(CONFLICT).where(CONFLICT.c.id == item["id"]).values(resolved_at=when))
    return str(item["id"])


def masked(serial: int) -> str:
    return f"{resident_id(serial)[:6]}********{resident_id(serial)[-4:]}"


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_resolved_tab_shows_who_when_which_values_and_why(city, lang) -> None:
    row_id = make_conflict(city, 1)
    resolve(city, "电话核实，本人在县医院工作", datetime(2026, 3, 2, 9, 15))
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, lang, today=date(2026, 4, 1))
        async with app.run_test(size=(160, 40)) as pilot:
            table = app.query_one("#resolved-table", DataTable)
            await wait_until(pilot, lambda: table.row_count == 1)
            await pilot.press("ctrl+o")
            await pilot.pause()
            assert app.query_one(TabbedContent).active == "resolved" and app.focused is table
            cells = [str(c) for c in table.get_row_at(0)]
            decision = {"zh": "手机号码=本次上传, 工作单位=输入值", "en": "Mobile=this upload, Work unit=typed value"}
            assert cells == ["2026-03-02 09:15", "市科协李明", "安阳县", {"zh": "志愿者", "en": "volunteer"}[lang],
                             f"张三 {masked(1)}", {"zh": "字段冲突", "en": "field conflict"}[lang], decision[lang],
                             "电话核实，本人在县医院工作"]
            assert row_id not in " ".join(cells)
            detail = app.query_one("#resolved-detail", DataTable)
            await wait_until(pilot, lambda: detail.row_count == 2)
            assert [str(c) for c in detail.get_row_at(0)] == [
                {"zh": "手机号码", "en": "Mobile"}[lang], "13800138000", "13900000001", "13900000002", "13900000002"]
            why = str(app.query_one("#resolved-why", Label).content)
            assert "市科协李明" in why and "电话核实" in why and "node-b" in why and "node-a" in why
            await pilot.press("f1")
            await wait_until(pilot, lambda: isinstance(app.screen, HelpModal))
            assert {"zh": "审计记录", "en": "audit trail"}[lang] in " ".join(str(label.content) for label in app.screen.query(".help-text").results(Label))


async def test_resolved_tab_filters_by_search_and_day_and_says_when_a_day_is_not_a_day(city) -> None:
    make_conflict(city, 1)
    resolve(city, "第一项", datetime(2026, 3, 2, 9, 0))
    make_conflict(city, 2)
    resolve(city, "第二项", datetime(2026, 3, 20, 9, 0))
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "zh", today=date(2026, 4, 1))
        async with app.run_test(size=(160, 40)) as pilot:
            table = app.query_one("#resolved-table", DataTable)
            await wait_until(pilot, lambda: table.row_count == 2)
            assert [str(table.get_row_at(i)[7]) for i in range(2)] == ["第二项", "第一项"]  # latest first
            await pilot.press("ctrl+o")
            app.query_one("#a-from", Input).value = "2026-03-10"
            app.query_one("#a-from", Input).focus()
            await pilot.press("enter")
            await wait_until(pilot, lambda: table.row_count == 1 and str(table.get_row_at(0)[7]) == "第二项")
            app.query_one("#a-from", Input).value = ""
            app.query_one("#a-search", Input).value = resident_id(1)
            app.query_one("#a-search", Input).focus()
            await pilot.press("enter")
            await wait_until(pilot, lambda: table.row_count == 1 and str(table.get_row_at(0)[7]) == "第一项")
            app.query_one("#a-to", Input).value = "三月"
            app.query_one("#a-to", Input).focus()
            await pilot.press("enter")
            await wait_until(pilot, lambda: "YYYY-MM-DD" in str(app.query_one("#resolved-why", Label).content))


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_resolved_tab_filters_by_the_side_taken_and_exports_what_it_shows(city, lang, tmp_path,
                                                                              monkeypatch) -> None:
    """The 处理方式 box lists the sides a decision may take; picking 本次上传 with the keys leaves the item decided
    for the upload (not the one with a typed value), and Ctrl+E writes the log of what the tab shows."""
    monkeypatch.chdir(tmp_path)
    make_conflict(city, 1)
    resolve(city, "部分输入", datetime(2026, 3, 2, 9, 0))  # mobile: the upload's, work_unit: typed
    make_conflict(city, 2)
    with city.client() as client:
        client.post(f"{ADMIN_PREFIX}/queue/{queue(city)['items'][0]['id']}/decide", json={
            "decisions": {"mobile": {"take": "county"}, "work_unit": {"take": "county"}},
            "reason": "以上传为准"}).raise_for_status()
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, lang, today=date(2026, 4, 1))
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.query_one("#resolved-table", DataTable)
            await wait_until(pilot, lambda: table.row_count == 2)
            await pilot.press("ctrl+o")
            box = app.query_one("#a-decision", Select)
            box.focus()
            await wait_until(pilot, lambda: app.focused is box)
            await pilot.press("enter")
            await wait_until(pilot, lambda: box.expanded)
            shown = [str(option.prompt) for option in box.query_one("SelectOverlay").options]  # type: ignore[attr-defined]
            assert shown == {"zh": ["全部处理方式", "服务器现值", "本次上传", "含输入值", "各取部分", "并入先登记",
                                    "并入后登记", "保留两条"],
                             "en": ["Any decision", "Server's value", "This upload", "Typed value", "Some of each",
                                    "Merged: first", "Merged: later", "Kept both"]}[lang]
            await pilot.press("down", "down", "enter")  # past the prompt and 服务器现值
            await wait_until(pilot, lambda: box.value == "county" and table.row_count == 1
                             and str(table.get_row_at(0)[7]) == "以上传为准")
            assert str(table.get_row_at(0)[6]) == {"zh": "手机号码=本次上传, 工作单位=本次上传",
                                                   "en": "Mobile=this upload, Work unit=this upload"}[lang]
            await pilot.press("ctrl+e")
            await wait_until(pilot, lambda: isinstance(app.screen, ExportModal))
            await pilot.press("enter")
            await wait_until(pilot, lambda: (tmp_path / "conflict-log-2026-04-01.xlsx").exists())
    sheet = load_workbook(tmp_path / "conflict-log-2026-04-01.xlsx")["已处理"]
    rows = [row for row in sheet.iter_rows(values_only=True) if row[0] == 1 or row[0] == 2]
    assert len(rows) == 1 and "以上传为准" in rows[0] and "本次上传" in rows[0] and "部分输入" not in str(rows)
    header = next(row for row in sheet.iter_rows(values_only=True) if row[0] == "序号")
    assert rows[0][header.index("处理方式")] == "本次上传"


async def test_queue_search_box_finds_a_person_by_name_id_number_or_mobile(city) -> None:
    first, second = make_conflict(city, 1), make_conflict(city, 2)
    with city.db.engine.begin() as connection:
        connection.execute(sa.text("UPDATE volunteer SET name = '李娜', mobile = '13712345678' WHERE id = :id"),
                           {"id": second})
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "en", today=date(2024, 5, 1))
        async with app.run_test(size=(160, 40)) as pilot:
            table = app.query_one("#queue-table", DataTable)
            await wait_until(pilot, lambda: table.row_count == 2)
            await pilot.press("slash")
            assert app.focused is app.query_one("#f-search", Input)
            for text, row_id in (("李娜", second), (resident_id(1), first), ("13712345678", second)):
                app.query_one("#f-search", Input).value = text
                await pilot.press("enter")
                await wait_until(pilot, lambda r=row_id: table.row_count == 1 and masked(1 if r == first else 2)
                                 in str(table.get_row_at(0)[3]))


async def test_counties_tab_shows_each_county_with_open_conflicts_and_charts(city) -> None:
    make_conflict(city, 1)
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "zh", today=date.today())
        async with app.run_test(size=(160, 40)) as pilot:
            table = app.query_one("#county-table", DataTable)
            await wait_until(pilot, lambda: table.row_count == 10)
            main = app.screen
            hits = [hit async for hit in ActionsProvider(main).discover()]
            await next(h for h in hits if h.text.startswith("各县概况")).command()
            await wait_until(pilot, lambda: app.query_one(TabbedContent).active == "counties")
            anyang = [str(c) for c in table.get_row(ANYANG)]
            assert anyang[0] == "安阳县" and anyang[1] == "1"
            assert anyang[4] == "▁▁▁▁▁█ 3" and anyang[5] == "▁▁▁▁▁█ 1"  # this month: three uploads, one conflict
            assert [str(c) for c in table.get_row("410523")][1:] == ["0", "-", "-", "▁▁▁▁▁▁ 0", "▁▁▁▁▁▁ 0"]
            assert "图表月份" in str(app.query_one("#county-months", Label).content)


async def test_uploads_name_three_devices_set_up_the_same_minute_and_their_token(city) -> None:
    nodes = [new_id() for _ in range(3)]  # UUIDv7: the same first 8 characters (the time), other last 8
    for serial, node in enumerate(nodes, start=1):
        new_volunteer(city, ANYANG, node, serial)
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "zh", today=date(2024, 5, 1))
        async with app.run_test(size=(160, 40)) as pilot:
            uploads = app.query_one("#upload-table", DataTable)
            await wait_until(pilot, lambda: uploads.row_count == 3)
            devices = {str(uploads.get_row_at(i)[2]) for i in range(3)}
            assert devices == {f"设备 {n[-8:]} · 410522 设备" for n in nodes}
            assert {str(uploads.get_row_at(i)[1]) for i in range(3)} == {"安阳县"}


async def test_ctrl_e_on_the_queue_exports_the_conflict_log_with_open_and_resolved_sheets(city, tmp_path,
                                                                                        monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    resolved_row = make_conflict(city, 1)
    resolve(city, "电话核实", datetime(2026, 3, 2, 9, 15))
    open_row = make_conflict(city, 2)
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "en", today=date(2026, 4, 1))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: app.query_one("#queue-table", DataTable).row_count == 1)
            await pilot.press("ctrl+e")
            await wait_until(pilot, lambda: isinstance(app.screen, ExportModal))
            assert app.screen.query_one("#path", Input).value == str(tmp_path / "conflict-log-2026-04-01.xlsx")
            await pilot.press("enter")
            await wait_until(pilot, lambda: (tmp_path / "conflict-log-2026-04-01.xlsx").exists())
    check_log(tmp_path / "conflict-log-2026-04-01.xlsx", open_row, resolved_row)


def check_log(path, open_row: str, resolved_row: str) -> None:  # type: ignore[no-untyped-def]
    import re

    book = load_workbook(path)
    assert book.sheetnames == ["待处理", "已处理"]
    texts = {name: "\n".join(str(c) for row in book[name].iter_rows(values_only=True) for c in row if c is not None)
             for name in book.sheetnames}
    assert f"张三 {masked(2)}" in texts["待处理"] and "安阳县" in texts["待处理"] and "志愿者" in texts["待处理"]
    assert "手机号码：原值 13800138000；服务器现值 13900000001；本次上传 13900000002" in texts["待处理"]
    assert f"张三 {masked(1)}" in texts["已处理"] and "市科协李明" in texts["已处理"] and "电话核实" in texts["已处理"]
    assert "手机号码=本次上传, 工作单位=输入值" in texts["已处理"] and "2026-03-02 09:15" in texts["已处理"]
    for text in texts.values():
        assert resident_id(1) not in text and resident_id(2) not in text
        assert open_row not in text and resolved_row not in text and not re.search(UUID, text)
    for sheet in book.worksheets:
        assert str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_an_items_two_sides_name_the_device_and_clerk_that_sent_them(city, lang) -> None:
    make_conflict(city, 1)  # node-b's value reached the server first, node-a's upload conflicted
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, lang, today=date(2024, 5, 1))
        async with app.run_test(size=(160, 40)) as pilot:
            table = app.query_one("#queue-table", DataTable)
            await wait_until(pilot, lambda: table.row_count == 1)
            table.focus()
            await pilot.press("enter")
            await wait_until(pilot, lambda: bool(app.screen.query("#item-senders")))
            senders = str(app.screen.query_one("#item-senders", Label).content)
            assert senders == {"zh": "服务器现值：设备 node-b · 410522 设备；本次上传：设备 node-a · 410522 设备",
                               "en": "on the server: device node-b · 410522 设备; this upload: device node-a · "
                                     "410522 设备"}[lang]
